"""Synthetic run records for tests and the build-time benchmark. Never committed as results:
every record says ``synthetic: true`` and its entry names start with ``synthetic-``.

Records follow the record schema (checked once per call, so a schema change fails here in one
line rather than as 10,000 skipped records). Each has its own job key, so run ids are distinct;
entries sweep one param (``width``) over several seeds, so boards exercise seed collapse, sweeps,
stars and anchors, and entry ``synthetic-000`` is the floor-like baseline ``majority-class``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
from pathlib import Path
from typing import Any

from benchmark.record import SCHEMA_VERSION

SEEDS = 3
WIDTHS = 14
_SHA = "0" * 64


def _energy(kwh_per_1k: float, measured: bool, n: int = 100) -> dict[str, Any]:
    total = kwh_per_1k * n / 1000
    return {
        "energy_source": "rapl" if measured else "estimate:declared-power",
        "measured": measured,
        "notes": ["synthetic"],
        "window_s": 5.0,
        "n_instances": n,
        "energy_kwh_total": total * 1.2,
        "energy_kwh_active": total,
        "energy_kwh_per_1k": kwh_per_1k,
        "energy_kwh_total_per_1k": kwh_per_1k * 1.2,
        "components_j_total": {"cpu": total * 3.6e6 * 1.2},
        "components_j_active": {"cpu": total * 3.6e6},
        "idle_power_w": {"cpu": 1.0},
        "idle_baseline_s": 2.0,
        "energy_per_1k_cv": 0.05,
        "carbon_per_1k": {
            "region": "USA",
            "pue": 1.0,
            "intensity_g_per_kwh": 369.5,
            "intensity_source": "synthetic",
            "intensity_year": 2023,
            "co2e_kg": kwh_per_1k * 0.3695,
            "reference_regions": {"WORLD": {"intensity_g_per_kwh": 475.0, "co2e_kg": kwh_per_1k * 0.475}},
        },
    }


_PROFILE = {
    "description": "synthetic",
    "device": "cpu",
    "device_model_pattern": ".*",
    "min_cpu_cores": 2,
    "precision": "float32",
    "threads": 2,
    "batch_size": 32,
    "latency_samples": 50,
    "warmup": 5,
    "max_repeats": 3,
    "latency_cv_target": 0.05,
    "idle_seconds": 2.0,
    "region": "USA",
    "pue": 1.0,
    "energy_min_seconds": 5.0,
    "flops_sample_instances": 64,
    "declared_power_w": {"cpu": 15.0},
}


def record(
    rng: random.Random, index: int, entry: str, task: str, profile: str, width: int, seed: int
) -> tuple[dict, dict]:
    """One (run.json, metrics.json) pair; accuracy and costs rise with ``width`` plus seed noise."""
    baseline = entry == "majority-class"
    accuracy = (
        0.25
        if baseline
        else min(
            0.97,
            0.55
            + 0.025 * width
            + rng.uniform(-0.02, 0.02)
            + int(hashlib.sha256(entry.encode()).hexdigest(), 16) % 7 / 100,
        )
    )
    flops = 1e3 if baseline else 1e7 * 1.6**width * rng.uniform(0.9, 1.1)
    energy = 1e-7 if baseline else flops * 2e-15 * rng.uniform(0.8, 1.2)
    measured = int(hashlib.sha256(entry.encode()).hexdigest(), 16) % 3 == 1  # an entry's meter does not change
    n = 100
    run = {
        "schema_version": SCHEMA_VERSION,
        "status": "complete",
        "synthetic": True,
        "job_key": hashlib.sha256(f"synthetic-{index}".encode()).hexdigest(),
        "harness_version": "0.0.0",
        "task": {
            "name": task,
            "kind": "classification",
            "label_names": ["a", "b"],
            "train_config": None,
            "source": "synthetic",
            "files_sha256": {},
        },
        "submission": {
            "name": entry,
            "version": "1",
            "description": "synthetic record",
            "authors": ["generator"],
            "licence": "none",
            "kind": "python",
            "entry_point": "predictor:Synthetic",
            "tasks": [task],
            "params": {} if baseline else {"width": width},
            "eval_params": [],
            "path": "synthetic",
        },
        "profile": {"name": profile, **_PROFILE},
        "profile_match": {"matched": index % 10 != 3, "reasons": [] if index % 10 != 3 else ["synthetic mismatch"]},
        "config": {
            "limit": None,
            "train_limit": None,
            "seed": seed,
            "n_train": 100,
            "n_dev": 0,
            "n_eval": {"test": n},
            "region": "USA",
            "pue": 1.0,
            "measure_costs": True,
        },
        "environment": {
            "cpu_model": "synthetic",
            "cpu_cores": 2,
            "memory_bytes": None,
            "gpus": [],
            "gpu_driver": None,
            "cuda": None,
            "os": "synthetic",
            "python": "3.11",
            "torch": None,
            "transformers": None,
            "harness_git": {"commit": None, "dirty": None},
            "submission_git": {"commit": None, "dirty": None},
            "submission_code_sha256": _SHA,
        },
        "sandbox": "none",
        "started_at": "2026-01-01T00:00:00+00:00",
        "finished_at": f"2026-01-01T00:{index % 60:02d}:00+00:00",
        "wall_s": 10.0,
    }
    half = 0.05
    metrics = {
        "schema_version": SCHEMA_VERSION,
        "eval_sets": {
            "test": {
                "role": "id",
                "n": n,
                "accuracy": accuracy,
                "accuracy_ci95_low": max(0.0, accuracy - half),
                "accuracy_ci95_high": min(1.0, accuracy + half),
                "macro_f1": accuracy * 0.98,
            }
        },
        "flops": {
            "counted_by": "entry-process",
            "inference_flops_per_instance_mean": flops,
            "inference_flops_per_instance_std": flops * 0.1,
            "inference_flops_per_instance_sem": flops * 0.01,
            "inference_flops_total_estimate": flops * n,
            "n_counted": 64,
            "n_eval": n,
            "method": "synthetic",
        },
        "latency": {
            "latency_ms_p50": flops / 1e8 + 0.5,
            "latency_ms_p90": flops / 9e7 + 0.6,
            "latency_ms_p99": flops / 8e7 + 0.7,
            "latency_ms_mean": flops / 1e8 + 0.55,
            "latency_cv": 0.1,
            "latency_median_cv": 0.01,
            "n_samples": 50,
            "repeats": 2,
            "warmup": 5,
            "cv_target_met": True,
        },
        "throughput": {"throughput_instances_per_s": 1e11 / flops, "batch_size": 32, "n_instances": n, "seconds": 1.0},
        "energy": _energy(energy, measured),
    }
    if not baseline:
        metrics["training"] = {
            "n_train": 100,
            "n_dev": 0,
            "wall_s": 100.0,
            "training_flops": flops * 3e4,
            "counted_by": "entry-process",
            "training_energy_kwh": energy * 500,
            "training_co2e_kg": energy * 500 * 0.3695,
            "energy": _energy(energy * 5000, measured),
            "notes": [],
        }
    return run, metrics


def _check_schema(run: dict, metrics: dict) -> None:
    try:
        from benchmark.record import check_schema
    except ImportError:  # an older record module without the typed schema: nothing to check against
        return
    check_schema(run, metrics)


def generate(out: Path, n: int, seed: int = 0, entries: int = 40) -> Path:
    """Write ``n`` records under ``out/<task>/<profile>/<entry>/<i>/`` (3 tasks x 2 profiles x
    ``entries`` entries, cycling; then ``WIDTHS`` widths x ``SEEDS`` seeds per entry and board)."""
    rng = random.Random(seed)
    for index in range(n):
        k = index % entries
        entry = "majority-class" if k == 0 else f"synthetic-{k:03d}"
        board = (index // entries) % 6
        task, profile = ("ag_news", "winogrande", "hyperpartisan")[board % 3], ("cpu", "h200")[board // 3]
        turn = index // (entries * 6)  # how many times this (entry, board) has come round
        run, metrics = record(rng, index, entry, task, profile, turn % WIDTHS, (turn // WIDTHS) % SEEDS)
        if index == 0:
            _check_schema(copy.deepcopy(run), copy.deepcopy(metrics))
        folder = out / task / profile / entry / f"1-{index:012d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "run.json").write_text(json.dumps(run))
        (folder / "metrics.json").write_text(json.dumps(metrics))
        (folder / "predictions.jsonl").write_text("")
    return out
