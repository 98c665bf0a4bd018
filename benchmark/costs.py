"""The cost passes: FLOPs, batch-1 latency, then one metered batched pass for throughput and energy.

Each pass runs on its own so that no counter slows a timed pass: FLOPs are counted first (the
counter is slow), latency is timed without a meter thread competing, and the metered pass gives
throughput and energy from the same window (as MLPerf Power does).
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from benchmark import carbon
from benchmark.flops import count_flops, per_instance_flops
from benchmark.latency import measure_latency
from benchmark.meters import EnergyMeter, EnergyReading, default_meter
from benchmark.predictor import Predictor
from benchmark.profiles import Profile
from tasks.base import Instance

J_PER_KWH = 3.6e6
ENERGY_WINDOWS = 3


def _sync_for(profile: Profile) -> Any:
    if profile.device == "cuda":
        import torch

        return torch.cuda.synchronize
    return lambda: None


def flops_of_predict(predictor: Any, inst: Instance) -> int:
    """FLOPs of one batch-1 prediction, counted where the model runs (the sandboxed child, if any)."""
    if hasattr(predictor, "predict_with_flops"):
        return int(predictor.predict_with_flops([inst])[1])
    return count_flops(lambda: predictor.predict([inst]))


def fit_counting_flops(predictor: Any, train: Sequence[Instance], dev: Sequence[Instance]) -> int:
    if hasattr(predictor, "fit_with_flops"):
        return int(predictor.fit_with_flops(train, dev))
    return count_flops(lambda: predictor.fit(train, dev))


def idle_baseline(meter: EnergyMeter, seconds: float) -> EnergyReading | None:
    """Power drawn while the harness sleeps: subtracted to give the active energy of a pass."""
    if seconds <= 0:
        return None
    with meter:
        time.sleep(seconds)
    return meter.reading


def energy_block(
    reading: EnergyReading, idle: EnergyReading | None, n_instances: int, profile: Profile
) -> dict[str, Any]:
    """Total and idle-subtracted energy per component, per 1k instances, and its CO2e."""
    idle_w = {k: v / idle.seconds for k, v in idle.joules.items()} if idle and idle.seconds > 0 else {}
    active = {k: max(0.0, j - idle_w.get(k, 0.0) * reading.seconds) for k, j in reading.joules.items()}
    total_kwh = reading.total_joules / J_PER_KWH
    active_kwh = sum(active.values()) / J_PER_KWH
    per_1k = active_kwh / n_instances * 1000 if n_instances else float("nan")
    return {
        "energy_source": reading.source,
        "measured": reading.measured,
        "notes": list(reading.notes),
        "window_s": reading.seconds,
        "n_instances": n_instances,
        "energy_kwh_total": total_kwh,
        "energy_kwh_active": active_kwh,
        "energy_kwh_per_1k": per_1k,
        "energy_kwh_total_per_1k": total_kwh / n_instances * 1000 if n_instances else float("nan"),
        "components_j_total": reading.joules,
        "components_j_active": active,
        "idle_power_w": idle_w,
        "idle_baseline_s": idle.seconds if idle else 0.0,
        "carbon_per_1k": carbon.price(per_1k, profile.region, profile.pue),
    }


def metered_pass(
    predictor: Predictor, instances: Sequence[Instance], profile: Profile, meter: EnergyMeter
) -> tuple[list[EnergyReading], list[int]]:
    """Batched predictions under the meter, cycling over ``instances`` from the start, in
    ``ENERGY_WINDOWS`` consecutive windows that together last ``energy_min_seconds`` (whole batches).

    A steady-state window rather than a full replay of the eval set keeps the price tag cheap next
    to the accuracy pass; splitting it gives the energy figure a measured spread, which the
    regression gate needs to tell a real change from noise.
    """
    sync = _sync_for(profile)
    bare = [inst.without_label() for inst in instances]
    batches = [bare[i : i + profile.batch_size] for i in range(0, len(bare), profile.batch_size)]
    predictor.predict(batches[0])  # warm-up outside the window
    sync()
    readings: list[EnergyReading] = []
    counts: list[int] = []
    cursor = itertools.count()
    per_window = profile.energy_min_seconds / ENERGY_WINDOWS
    for _ in range(ENERGY_WINDOWS):
        processed = 0
        with meter:
            t0 = time.perf_counter()
            while True:
                batch = batches[next(cursor) % len(batches)]
                predictor.predict(batch)
                processed += len(batch)
                if time.perf_counter() - t0 >= per_window:
                    sync()
                    break
        assert meter.reading is not None
        readings.append(meter.reading)
        counts.append(processed)
    return readings, counts


def combine(readings: Sequence[EnergyReading]) -> EnergyReading:
    """Consecutive windows of one meter as one reading."""
    joules: dict[str, float] = {}
    for reading in readings:
        for key, value in reading.joules.items():
            joules[key] = joules.get(key, 0.0) + value
    first = readings[0]
    return EnergyReading(joules, sum(r.seconds for r in readings), first.source, first.measured, first.notes)


def measure_costs(
    predictor: Predictor,
    instances: Sequence[Instance],
    profile: Profile,
    meter: EnergyMeter | None = None,
    idle: EnergyReading | None = None,
) -> dict[str, Any]:
    """The inference price tag of ``predictor`` on ``instances`` under ``profile``.

    ``idle`` is the job's idle baseline; measured here when not given.
    """
    meter = meter or default_meter(profile)
    sync = _sync_for(profile)
    bare = [inst.without_label() for inst in instances]

    def predict_one(inst: Instance) -> object:
        return predictor.predict([inst])

    flops = per_instance_flops(lambda inst: flops_of_predict(predictor, inst), bare, profile.flops_sample_instances)
    latency = measure_latency(
        predict_one, bare, profile.latency_samples, profile.warmup, profile.max_repeats, profile.latency_cv_target, sync
    )
    if idle is None:
        idle = idle_baseline(meter, profile.idle_seconds)
    windows, counts = metered_pass(predictor, instances, profile, meter)
    reading, processed = combine(windows), sum(counts)
    seconds = reading.seconds
    per_window = [energy_block(w, idle, n, profile)["energy_kwh_per_1k"] for w, n in zip(windows, counts, strict=True)]
    energy = energy_block(reading, idle, processed, profile)
    mean = statistics.fmean(per_window)
    energy["energy_kwh_per_1k_windows"] = per_window
    energy["energy_per_1k_cv"] = statistics.pstdev(per_window) / mean if mean > 0 else 0.0
    return {
        "flops": asdict(flops),
        "latency": asdict(latency),
        "throughput": {
            "throughput_instances_per_s": processed / seconds,
            "batch_size": profile.batch_size,
            "n_instances": processed,
            "seconds": seconds,
        },
        "energy": energy,
    }


def measure_training(
    predictor: Any,
    train: Sequence[Instance],
    dev: Sequence[Instance],
    profile: Profile,
    meter: EnergyMeter | None = None,
    idle: EnergyReading | None = None,
) -> dict[str, Any]:
    """Run ``fit`` once under the FLOP counter and the meter: the training part of the price tag.

    The counter adds its own overhead to the wall time and energy of training; the record says so.
    """
    meter = meter or default_meter(profile)
    if idle is None:
        idle = idle_baseline(meter, profile.idle_seconds)
    flops_box: dict[str, int] = {}
    t0 = time.perf_counter()
    with meter:
        flops_box["flops"] = fit_counting_flops(predictor, train, dev)
    wall = time.perf_counter() - t0
    assert meter.reading is not None
    energy = energy_block(meter.reading, idle, len(train), profile)
    return {
        "n_train": len(train),
        "n_dev": len(dev),
        "wall_s": wall,
        "training_flops": flops_box["flops"],
        "training_energy_kwh": energy["energy_kwh_active"],
        "training_co2e_kg": carbon.price(energy["energy_kwh_active"], profile.region, profile.pue)["co2e_kg"],
        "energy": energy,
        "notes": ["FLOPs counted inline with torch FlopCounterMode; its overhead is inside wall_s and energy"],
    }
