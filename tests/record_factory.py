"""Valid, internally consistent records for tests, the forgery catalogue and the 10k benchmark.

The cost blocks are made by the harness's own writers (``costs.energy_block``, ``costs.combine``,
``flops.per_instance_flops``, ``carbon.price``, ``metrics.score_eval_set``) from fake meter readings,
so a check that rejects these records would reject honest runs too.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmark import carbon
from benchmark.costs import combine, energy_block
from benchmark.flops import per_instance_flops
from benchmark.latency import LatencyResult
from benchmark.meters import EnergyReading
from benchmark.metrics import score_eval_set
from benchmark.profiles import load_profile
from benchmark.record import write_run
from tasks.base import TaskData, subsample

ENV = {
    "cpu_model": "test cpu",
    "cpu_cores": 2,
    "memory_bytes": 8 * 1024**3,
    "gpus": [],
    "gpu_driver": None,
    "cuda": None,
    "os": "Linux",
    "python": "3.11.7",
    "torch": "2.13.0+cpu",
    "transformers": "5.0",
    "harness_git": {"commit": None, "dirty": None},
    "submission_git": {"commit": None, "dirty": None},
    "submission_code_sha256": "c" * 64,
}


def _reading(rng: random.Random, seconds: float) -> EnergyReading:
    joules = {"cpu": rng.uniform(20, 40) * seconds, "dram": 3.0 * seconds}
    return EnergyReading(joules, seconds, "estimate:declared-power", False, ("test reading",))


def build(
    data: TaskData,
    *,
    limit: int = 20,
    seed: int = 0,
    kind: str = "python",
    flops_per_instance: int = 1_000_000,
    training: bool = True,
    rng_seed: int = 0,
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """(run, predictions, metrics) of a complete cpu-profile run on ``data``."""
    rng = random.Random(rng_seed)
    profile = load_profile("cpu")
    info = data.info
    sets = [(s, subsample(s.instances, limit, seed)) for s in data.eval_sets]
    rows, scores = [], {}
    for eval_set, instances in sets:
        gold = [int(i.label) for i in instances]  # type: ignore[arg-type]
        preds = [g if rng.random() < 0.7 else rng.randrange(len(info.label_names)) for g in gold]
        block = score_eval_set(gold, preds, len(info.label_names), info.positive_label, info.kind == "multiple_choice")
        scores[eval_set.name] = {"role": eval_set.role, **block}
        rows += [
            {"eval_set": eval_set.name, "id": i.id, "prediction": p} for i, p in zip(instances, preds, strict=True)
        ]
    first = sets[0][1]
    flops = per_instance_flops(lambda inst: flops_per_instance + len(inst.id), first, profile.flops_sample_instances)
    samples = profile.latency_samples * 2
    p50 = rng.uniform(2, 40)
    latency = LatencyResult(p50, p50 * 1.2, p50 * 1.5, p50 * 1.05, 0.1, 0.03, samples, 2, profile.warmup, True)
    windows = [_reading(rng, rng.uniform(1.5, 2.0)) for _ in range(3)]
    counts = [profile.batch_size * rng.randint(2, 6) for _ in windows]
    idle = EnergyReading({"cpu": 0.1 * 2, "dram": 3.0 * 2}, 2.0, "estimate:declared-power", False)
    reading, processed = combine(windows), sum(counts)
    energy = energy_block(reading, idle, processed, profile)
    per_window = [energy_block(w, idle, n, profile)["energy_kwh_per_1k"] for w, n in zip(windows, counts, strict=True)]
    energy["energy_kwh_per_1k_windows"] = per_window
    energy["energy_per_1k_cv"] = statistics.pstdev(per_window) / statistics.fmean(per_window)
    metrics: dict[str, Any] = {
        "eval_sets": scores,
        "flops": asdict(flops),
        "latency": asdict(latency),
        "throughput": {
            "throughput_instances_per_s": processed / reading.seconds,
            "batch_size": profile.batch_size,
            "n_instances": processed,
            "seconds": reading.seconds,
        },
        "energy": energy,
    }
    n_train = min(len(data.train), 50)
    if training:
        fit = _reading(rng, 30.0)
        counted = flops_per_instance * 10 * 3
        t_energy = energy_block(fit, idle, n_train, profile)
        metrics["training"] = {
            "n_train": n_train,
            "n_dev": len(data.dev),
            "wall_s": 30.5,
            "training_flops": counted * n_train / 10,
            "training_flops_method": "per instance x instances: a counted fit on a seeded sample of 10",
            "training_flops_sample": {
                "estimate": counted * n_train / 10,
                "counted": counted,
                "n_counted": 10,
                "n_train": n_train,
                "scale": n_train / 10,
                "method": "per instance x instances: a counted fit on a seeded sample of 10",
            },
            "training_energy_kwh": t_energy["energy_kwh_active"],
            "training_co2e_kg": carbon.price(t_energy["energy_kwh_active"], profile.region, profile.pue)["co2e_kg"],
            "energy": t_energy,
            "notes": ["test training"],
        }
    run = {
        "job_key": f"{rng.getrandbits(256):064x}",
        "harness_version": "0.1.0",
        "task": {
            "name": info.name,
            "kind": info.kind,
            "label_names": list(info.label_names),
            "train_config": None,
            "source": "test",
            "files_sha256": {},
        },
        "submission": {
            "name": "test-entry",
            "version": "1.0",
            "authors": ["tests"],
            "description": "a test record",
            "licence": "MIT",
            "tasks": [info.name],
            "kind": kind,
            "model": "org/model" if kind == "hf" else None,
            "entry_point": None if kind == "hf" else "predictor:Model",
            "params": {},
            "max_length": 128,
            "paper": None,
            "url": None,
            "path": "submissions/test-entry",
        },
        "profile": asdict(profile),
        "profile_match": {"matched": True, "reasons": []},
        "config": {
            "limit": limit,
            "train_limit": None,
            "seed": seed,
            "n_train": n_train,
            "n_dev": len(data.dev),
            "n_eval": {s.name: len(inst) for s, inst in sets},
            "region": profile.region,
            "pue": profile.pue,
            "measure_costs": True,
        },
        "environment": dict(ENV),
        "sandbox": "process",
        "status": "complete",
        "started_at": "2026-01-01T00:00:00+00:00",
        "finished_at": "2026-01-01T00:01:00+00:00",
        "wall_s": 60.0,
    }
    return run, rows, metrics


def write(folder: Path, data: TaskData, **kw: Any) -> Path:
    run, rows, metrics = build(data, **kw)
    return write_run(folder, run, rows, metrics)


def tiny_task() -> TaskData:
    """A two-label task held in memory (ids a, b): records for tests that never re-score."""
    from tasks.base import EvalSet, Instance, TaskInfo

    info = TaskInfo("ag_news", "classification", ("text",), ("World", "Sports", "Business", "Sci/Tech"))
    test = (Instance("a", {"text": "x"}, 1), Instance("b", {"text": "y"}, 0))
    return TaskData(info, test, (EvalSet("test", test, "id"),), "memory")
