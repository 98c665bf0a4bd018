"""Synthetic run records for tests and the build-time benchmark. Never committed as results:
every record says ``synthetic: true`` and its entry names start with ``synthetic-``."""

from __future__ import annotations

import json
import random
from pathlib import Path

from benchmark.record import SCHEMA_VERSION


def _record(rng: random.Random, index: int, entry: str, task: str, profile: str) -> tuple[dict, dict]:
    accuracy = rng.uniform(0.4, 0.95)
    energy = rng.uniform(1e-6, 1e-3)
    carbon = {
        "region": "USA",
        "pue": 1.0,
        "intensity_g_per_kwh": 369.5,
        "intensity_source": "synthetic",
        "intensity_year": 2023,
        "co2e_kg": energy * 0.3695,
        "reference_regions": {"WORLD": {"intensity_g_per_kwh": 475.0, "co2e_kg": energy * 0.475}},
    }
    run = {
        "schema_version": SCHEMA_VERSION,
        "status": "complete",
        "synthetic": True,
        "job_key": f"{index:064x}",
        "task": {"name": task},
        "profile": {"name": profile},
        "submission": {
            "name": entry,
            "version": "1",
            "description": "synthetic record",
            "authors": ["generator"],
            "licence": "none",
            "kind": "python",
            "tasks": [task],
        },
        "profile_match": {"matched": rng.random() > 0.1, "reasons": ["synthetic mismatch"]},
        "config": {"n_train": 100, "n_eval": {"test": 100}, "limit": None, "seed": index},
        "environment": {"cpu_model": "synthetic", "cpu_cores": 2},
        "started_at": "2026-01-01T00:00:00+00:00",
        "finished_at": f"2026-01-01T00:{index % 60:02d}:00+00:00",
    }
    metrics = {
        "schema_version": SCHEMA_VERSION,
        "eval_sets": {
            "test": {
                "role": "id",
                "n": 100,
                "accuracy": accuracy,
                "accuracy_ci95_low": accuracy - 0.05,
                "accuracy_ci95_high": accuracy + 0.05,
            }
        },
        "flops": {"inference_flops_per_instance_mean": rng.uniform(1e7, 1e11)},
        "latency": {
            "latency_ms_p50": rng.uniform(0.5, 200),
            "latency_ms_p90": 0.0,
            "latency_ms_p99": rng.uniform(1, 400),
            "latency_cv": 0.1,
            "n_samples": 50,
            "repeats": 2,
        },
        "throughput": {"throughput_instances_per_s": rng.uniform(1, 5000)},
        "energy": {
            "energy_source": "estimate:declared-power",
            "measured": rng.random() > 0.5,
            "energy_kwh_per_1k": energy,
            "carbon_per_1k": carbon,
            "components_j_active": {"cpu": 1.0},
            "window_s": 5.0,
            "n_instances": 100,
        },
        "training": {
            "training_flops": rng.uniform(1e12, 1e16),
            "training_energy_kwh": rng.uniform(1e-5, 1e-1),
            "training_co2e_kg": rng.uniform(1e-6, 1e-2),
        },
    }
    return run, metrics


def generate(out: Path, n: int, seed: int = 0, entries: int = 40) -> Path:
    """Write ``n`` records under ``out`` (3 tasks x 2 profiles x ``entries`` entries, cycling)."""
    rng = random.Random(seed)
    for index in range(n):
        entry = f"synthetic-{index % entries:03d}"
        task = ("ag_news", "winogrande", "hyperpartisan")[index % 3]
        profile = ("cpu", "h200")[(index // 3) % 2]
        run, metrics = _record(rng, index, entry, task, profile)
        folder = out / task / entry / f"{profile}-{index:012d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "run.json").write_text(json.dumps(run))
        (folder / "metrics.json").write_text(json.dumps(metrics))
        (folder / "predictions.jsonl").write_text("")
    return out
