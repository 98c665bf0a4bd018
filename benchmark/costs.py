"""The cost passes: FLOPs, batch-1 latency, then throughput and energy from a metered batched pass.

Each pass runs on its own so that no counter slows a timed pass: FLOPs are counted first (the
counter is slow), latency is timed without a meter thread competing. Throughput and energy come
from the same windows (as MLPerf Power does): the metered accuracy pass itself when it is long
enough (``metered_predict``), else a separate steady-state pass (``metered_pass``).
What a timed window holds: the model's predict calls on prepared batches (for ``kind: hf``, text
already tokenised; for a sandboxed entry, also the JSON pipe to the child and back).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmark import batching, carbon, progress
from benchmark.costs_blocks import energy_block, stability
from benchmark.flops import count_flops, per_instance_flops
from benchmark.latency import measure_latency
from benchmark.meters import EnergyMeter, EnergyReading, EstimateMeter, default_meter
from benchmark.predictor import Predictor
from benchmark.profiles import Profile
from tasks.base import Instance

ENERGY_WINDOWS = 3
__all__ = ["MeteredPass", "energy_block", "idle_baseline", "measure_costs", "measure_training", "metered_predict"]


@dataclass(frozen=True)
class MeteredPass:
    """Windows of one batched pass: readings, instances per window, at which batch size."""

    readings: tuple[EnergyReading, ...]
    counts: tuple[int, ...]
    batch_size: int
    source: str  # "accuracy-pass", "accuracy-pass+top-up" or "separate-window"

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.readings)


def _sync_for(profile: Profile) -> Callable[[], None]:
    if profile.device == "cuda":
        import torch

        return torch.cuda.synchronize
    return lambda: None


def flops_of_predict(predictor: Any, inst: Instance) -> int:
    """FLOPs of one batch-1 prediction, counted where the model runs (the sandboxed child, if any)."""
    if hasattr(predictor, "predict_with_flops"):
        return int(predictor.predict_with_flops([inst])[1])
    return count_flops(lambda: predictor.predict([inst]))


def prepare(model: Any, batches: Sequence[Sequence[Instance]]) -> None:
    """Let the model do its input preparation (tokenising, for ``kind: hf``) before a timed window.

    A handle may offer ``prepare`` itself or wrap a predictor that does; a model without it
    prepares on first sight, which the untimed accuracy pass gives it for every instance.
    """
    for target in (model, getattr(model, "predictor", None)):
        method = getattr(target, "prepare", None)
        if callable(method):
            method(batches)
            return


def idle_baseline(meter: EnergyMeter, seconds: float) -> EnergyReading | None:
    """Power drawn while the harness sleeps: subtracted to give the active energy of a pass.

    The CPU-time estimate needs no window: a sleeping job uses no CPU time, so its idle power is
    the declared DRAM watts alone, known without waiting ``seconds``.
    """
    if seconds <= 0:
        return None
    if isinstance(meter, EstimateMeter):
        joules = {"cpu": 0.0, **({"dram": meter.dram_w * seconds} if meter.dram_w else {})}
        if meter.include_gpu and meter.gpu_w:
            joules["gpu"] = meter.gpu_w * seconds
        note = "idle: no CPU time while the job sleeps; declared DRAM power (no window needed)"
        return EnergyReading(joules, seconds, meter.source, False, (note,), cpu_seconds=0.0)
    with meter:
        time.sleep(seconds)
    return meter.reading


def metered_predict(
    predictor: Predictor,
    instances: Sequence[Instance],
    profile: Profile,
    meter: EnergyMeter,
    tick: Callable[[int], None] | None = None,
) -> tuple[list[Sequence[int]], list[list[int]], MeteredPass]:
    """One pass over ``instances`` in the profile's batches, cut into ``ENERGY_WINDOWS`` metered
    windows of whole batches: the raw outputs per batch, the batch plan, and the windows.

    The accuracy pass calls this for its first eval set, so the price tag can reuse its windows.
    Outputs are returned unvalidated, in plan order (``batching.restore`` puts them back).
    """
    sync = _sync_for(profile)
    plan = batching.plan(instances, profile.batch_size, batching.policy_of(profile))
    bare = [[instances[i].without_label() for i in batch] for batch in plan]
    prepare(predictor, bare)
    cuts = [round(k * len(bare) / ENERGY_WINDOWS) for k in range(ENERGY_WINDOWS + 1)]
    outputs: list[Sequence[int]] = []
    readings: list[EnergyReading] = []
    counts: list[int] = []
    for lo, hi in itertools.pairwise(cuts):
        if lo == hi:
            continue
        with meter:
            for batch in bare[lo:hi]:
                outputs.append(predictor.predict(batch))
                if tick is not None:
                    tick(len(batch))
            sync()
        assert meter.reading is not None
        readings.append(meter.reading)
        counts.append(sum(len(b) for b in bare[lo:hi]))
    return outputs, plan, MeteredPass(tuple(readings), tuple(counts), profile.batch_size, "accuracy-pass")


def metered_pass(
    predictor: Predictor,
    instances: Sequence[Instance],
    profile: Profile,
    meter: EnergyMeter,
    seconds: float | None = None,
) -> MeteredPass:
    """Batched predictions under the meter, cycling over the plan's batches, in ``ENERGY_WINDOWS``
    consecutive windows that together last ``seconds`` (default ``energy_min_seconds``; whole
    batches; each window at least as long as the meter resolves). Used when there is no metered
    accuracy pass, and to top up one that was too short."""
    sync = _sync_for(profile)
    plan = batching.plan(instances, profile.batch_size, batching.policy_of(profile))
    batches = [[instances[i].without_label() for i in batch] for batch in plan]
    prepare(predictor, batches)
    predictor.predict(batches[0])  # warm-up outside the window
    sync()
    readings: list[EnergyReading] = []
    counts: list[int] = []
    cursor = itertools.count()
    total = profile.energy_min_seconds if seconds is None else seconds
    per_window = max(total / ENERGY_WINDOWS, meter.min_window_s)
    windows_bar = progress.Bar(ENERGY_WINDOWS, progress.ENERGY, "window")
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
        windows_bar.update()  # between windows, outside the meter
    windows_bar.close()
    return MeteredPass(tuple(readings), tuple(counts), profile.batch_size, "separate-window")


def combine(readings: Sequence[EnergyReading]) -> EnergyReading:
    """Consecutive windows of one meter as one reading."""
    joules: dict[str, float] = {}
    for reading in readings:
        for key, value in reading.joules.items():
            joules[key] = joules.get(key, 0.0) + value
    first = readings[0]
    cpu = [r.cpu_seconds for r in readings if r.cpu_seconds is not None]
    samples = [r.samples for r in readings if r.samples is not None]
    flags = tuple(dict.fromkeys(f for r in readings for f in r.flags))
    return EnergyReading(
        joules,
        sum(r.seconds for r in readings),
        first.source,
        first.measured,
        first.notes,
        sum(cpu) if cpu else None,
        sum(samples) if samples else None,
        flags,
    )


def comparable_pass(metered: MeteredPass | None, profile: Profile, meter: EnergyMeter) -> bool:
    """The accuracy pass's windows count toward the price tag when it ran at the profile's batch
    size and every window is long enough for the meter."""
    return (
        metered is not None
        and metered.batch_size == profile.batch_size
        and len(metered.readings) == ENERGY_WINDOWS
        and all(r.seconds >= meter.min_window_s for r in metered.readings)
    )


def throughput_windows(
    predictor: Predictor,
    instances: Sequence[Instance],
    profile: Profile,
    meter: EnergyMeter,
    accuracy_windows: MeteredPass | None,
) -> MeteredPass:
    """The accuracy pass's windows when they last ``energy_min_seconds``; topped up by a short
    separate pass when they fall short; a full separate pass when they cannot be used."""
    if not comparable_pass(accuracy_windows, profile, meter):
        return metered_pass(predictor, instances, profile, meter)
    assert accuracy_windows is not None
    deficit = profile.energy_min_seconds - accuracy_windows.seconds
    if deficit <= 0:
        return accuracy_windows
    extra = metered_pass(predictor, instances, profile, meter, deficit)
    return MeteredPass(
        accuracy_windows.readings + extra.readings,
        accuracy_windows.counts + extra.counts,
        profile.batch_size,
        "accuracy-pass+top-up",
    )


def _cv_text(cv: float | None) -> str:
    return "unknown (one repeat)" if cv is None else f"{cv:.3f}"


def measure_costs(
    predictor: Predictor,
    instances: Sequence[Instance],
    profile: Profile,
    meter: EnergyMeter | None = None,
    idle: EnergyReading | None = None,
    accuracy_windows: MeteredPass | None = None,
) -> dict[str, Any]:
    """The inference price tag of ``predictor`` on ``instances`` under ``profile``.

    ``idle`` is the job's idle baseline, measured here when not given; ``accuracy_windows`` are
    the metered accuracy pass's windows over the same instances, reused when long enough.
    """
    meter = meter or default_meter(profile)
    sync = _sync_for(profile)
    bare = [inst.without_label() for inst in instances]

    def predict_one(inst: Instance) -> object:
        return predictor.predict([inst])

    handle_clock = getattr(predictor, "predict_timed", None)

    counted = min(len(bare), profile.flops_sample_instances or len(bare))
    with progress.bar(counted, progress.FLOPS, "inst") as bar:

        def count_one(inst: Instance) -> int:
            flops_one = flops_of_predict(predictor, inst)
            bar.update()
            return flops_one

        flops = per_instance_flops(count_one, bare, profile.flops_sample_instances, batching.text_length)
    timed = profile.warmup + profile.latency_samples * profile.max_repeats
    prepare(predictor, [[bare[k % len(bare)]] for k in range(min(timed, len(bare)))])
    with progress.bar(timed, progress.LATENCY, "call") as bar:
        latency = measure_latency(
            predict_one,
            bare,
            profile.latency_samples,
            profile.warmup,
            profile.max_repeats,
            profile.latency_cv_target,
            sync,
            tick=bar.update,
            timed_one=(lambda inst: handle_clock([inst])[1]) if callable(handle_clock) else None,
        )
    if idle is None:
        idle = idle_baseline(meter, profile.idle_seconds)
    metered = throughput_windows(predictor, instances, profile, meter, accuracy_windows)
    reading, processed = combine(metered.readings), sum(metered.counts)
    per_window = [
        energy_block(w, idle, n, profile)["energy_kwh_per_1k"]
        for w, n in zip(metered.readings, metered.counts, strict=True)
    ]
    rates = [n / w.seconds for w, n in zip(metered.readings, metered.counts, strict=True) if w.seconds > 0]
    energy = energy_block(reading, idle, processed, profile)
    energy.update(stability(per_window, "energy_per_1k_cv", "energy windows"))
    if reading.flags:  # the meter itself doubts a window (NVML counter vs power samples, too short)
        energy["unstable"] = True
        energy["unstable_reason"] = "; ".join(filter(None, [energy["unstable_reason"], *reading.flags]))
    energy["energy_kwh_per_1k_windows"] = per_window
    latency_block = asdict(latency)
    latency_block["unstable"] = not latency.cv_target_met
    latency_block["unstable_reason"] = (
        None
        if latency.cv_target_met
        else f"per-repeat medians spread by CV {_cv_text(latency.latency_median_cv)}, over the target "
        f"{profile.latency_cv_target:g}"
    )
    return {
        "flops": asdict(flops),
        "latency": latency_block,
        "throughput": {
            "throughput_instances_per_s": processed / reading.seconds,
            "batch_size": metered.batch_size,
            "batching": batching.policy_of(profile),
            "n_instances": processed,
            "seconds": reading.seconds,
            "window_source": metered.source,
            **stability(rates, "throughput_cv", "throughput windows"),
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
    """The training part of the price tag: FLOPs counted on a sample, then the real fit, metered.

    See ``benchmark.training_flops`` for how the sample is drawn and scaled.
    """
    from benchmark.training_flops import sampled_training_flops

    meter = meter or default_meter(profile)
    if idle is None:
        idle = idle_baseline(meter, profile.idle_seconds)
    flops = sampled_training_flops(predictor, train, dev)  # first: it trains on the sample
    if flops.n_counted:
        predictor.fresh()  # the real fit starts from the loaded model, not the sample's weights
    t0 = time.perf_counter()
    with meter:
        predictor.fit(train, dev)
    wall = time.perf_counter() - t0
    assert meter.reading is not None
    energy = energy_block(meter.reading, idle, len(train), profile)
    return {
        "n_train": len(train),
        "n_dev": len(dev),
        "wall_s": wall,
        "training_flops": flops.estimate,
        "training_flops_method": flops.method,
        "training_flops_sample": asdict(flops),
        "training_energy_kwh": energy["energy_kwh_active"],
        "training_co2e_kg": carbon.price(energy["energy_kwh_active"], profile.region, profile.pue)["co2e_kg"],
        "energy": energy,
        "notes": ["wall_s and energy come from a fit without the FLOP counter; " + flops.method],
    }
