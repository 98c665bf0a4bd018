"""The price tag's passes on fake models that spend fake CPU time: windows, reuse, flags, training."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from benchmark.costs import measure_costs, measure_training, metered_predict
from benchmark.meters import EstimateMeter
from benchmark.profiles import load_profile
from benchmark.training_flops import sampled_training_flops
from tasks.base import Instance

PROFILE = load_profile(str(Path(__file__).resolve().parent / "fixtures" / "fast-cpu.yaml"))
INSTANCES = [Instance(f"i{k}", {"text": "word " * (3 + k % 11)}, label=k % 4) for k in range(96)]


class CpuModel:
    """Spends ``cpu_per_instance`` fake CPU seconds per instance; ``after`` calls in, ``then`` instead."""

    def __init__(self, clock: dict, cpu_per_instance: float = 0.01, after: int | None = None, then: float = 0.0):
        self.clock, self.cost, self.after, self.then = clock, cpu_per_instance, after, then
        self.calls = 0
        self.prepared: list[int] = []

    def prepare(self, batches):
        self.prepared.append(len(batches))

    def predict(self, batch):
        self.calls += 1
        cost = self.then if self.after is not None and self.calls > self.after else self.cost
        self.clock["cpu"] += cost * len(batch)
        return [0] * len(batch)


def meter_for(clock: dict) -> EstimateMeter:
    return EstimateMeter({"cpu": 15.0}, cores=2, cpu_time=lambda: clock["cpu"])


def test_steady_windows_are_stable_and_reused_from_the_accuracy_pass():
    clock = {"cpu": 0.0}
    model, meter = CpuModel(clock), meter_for(clock)
    profile = replace(PROFILE, energy_min_seconds=0.0, latency_cv_target=10.0)
    outputs, plan, windows = metered_predict(model, INSTANCES, profile, meter)
    assert sum(len(b) for b in plan) == len(INSTANCES) and len(windows.readings) == 3
    assert model.prepared and model.prepared[0] == len(plan)  # tokenising happens before the windows
    costs = measure_costs(model, INSTANCES, profile, meter, accuracy_windows=windows)
    energy, throughput = costs["energy"], costs["throughput"]
    assert throughput["window_source"] == "accuracy-pass" and throughput["n_instances"] == len(INSTANCES)
    assert throughput["batching"] == "length"
    # 0.01 CPU s per instance at 7.5 W per CPU second: 0.075 J per instance
    assert energy["energy_kwh_per_1k"] == pytest.approx(0.075 * 1000 / 3.6e6)
    assert energy["unstable"] is False and energy["energy_per_1k_cv"] == pytest.approx(0.0, abs=1e-9)
    assert energy["cpu_seconds"] == pytest.approx(0.96)
    assert costs["latency"]["unstable"] is False and costs["latency"]["unstable_reason"] is None


def test_spread_windows_and_an_unmet_latency_target_are_flagged_unstable():
    clock = {"cpu": 0.0}
    model, meter = CpuModel(clock, after=2, then=0.03), meter_for(clock)  # 3x the cost after two batches
    profile = replace(PROFILE, energy_min_seconds=0.0, latency_cv_target=0.0, batch_size=16)
    _, _, windows = metered_predict(model, INSTANCES, profile, meter)
    costs = measure_costs(model, INSTANCES, profile, meter, accuracy_windows=windows)
    assert costs["energy"]["unstable"] is True and "energy windows" in costs["energy"]["unstable_reason"]
    assert costs["latency"]["unstable"] is True and "over the target" in costs["latency"]["unstable_reason"]


def test_a_short_accuracy_pass_is_topped_up():
    clock = {"cpu": 0.0}
    model, meter = CpuModel(clock), meter_for(clock)
    profile = replace(PROFILE, energy_min_seconds=0.15)
    _, _, windows = metered_predict(model, INSTANCES, profile, meter)  # instant: far under 0.15 s
    costs = measure_costs(model, INSTANCES, profile, meter, accuracy_windows=windows)
    assert costs["throughput"]["window_source"] == "accuracy-pass+top-up"
    assert costs["throughput"]["seconds"] >= 0.15 and costs["throughput"]["n_instances"] > len(INSTANCES)
    assert len(costs["energy"]["energy_kwh_per_1k_windows"]) == 6
    other = replace(PROFILE, energy_min_seconds=0.0, batch_size=8)  # another batch size: not comparable
    costs = measure_costs(model, INSTANCES, other, meter, accuracy_windows=windows)
    assert costs["throughput"]["window_source"] == "separate-window"


class Trainer:
    """Counts FLOPs as ``per_instance`` x instances (+ ``fixed``); records every fit it gets."""

    def __init__(self, per_instance: int = 1000, fixed: int = 0) -> None:
        self.per_instance, self.fixed = per_instance, fixed
        self.fits: list[tuple[int, bool]] = []

    def fit_with_flops(self, train, dev, count=True):
        self.fits.append((len(train), count))
        return self.per_instance * len(train) + self.fixed if count else None

    def fit(self, train, dev):
        self.fits.append((len(train), False))

    def fresh(self):
        self.fits.append("fresh")


def test_training_is_metered_without_the_counter_and_counted_on_a_sample():
    model = Trainer()
    train = INSTANCES * 4  # 384 > the 256-instance sample
    clock = {"cpu": 0.0}
    result = measure_training(model, train, INSTANCES[:10], PROFILE, meter_for(clock))
    # Counted sample first, then a reset, then the real fit (its weights stay): without the reset
    # the real fit would continue from the sample's trained weights.
    assert model.fits == [(256, True), "fresh", (384, False)]
    assert result["training_flops"] == pytest.approx(1000 * 384)
    assert "sample of 256 of 384" in result["training_flops_method"]
    assert "without the FLOP counter" in result["notes"][0]


def test_small_training_sets_are_counted_whole():
    model = Trainer(fixed=50)
    flops = sampled_training_flops(model, INSTANCES[:40], [])
    assert flops.estimate == 1000 * 40 + 50 and flops.scale == 1.0 and "full fit" in flops.method
    scaled = sampled_training_flops(Trainer(fixed=50), INSTANCES, [], sample=32)
    assert scaled.estimate == pytest.approx((1000 * 32 + 50) * 3)  # a fixed cost is scaled too: documented


class DoubtfulMeter(EstimateMeter):
    """An estimate meter whose windows carry a meter flag, as NVML's cross-check raises one."""

    def _stop(self, seconds):
        reading = super()._stop(seconds)
        return replace(reading, flags=("counter-disagrees-with-power-samples",))


def test_a_meter_flag_marks_the_energy_unstable():
    clock = {"cpu": 0.0}
    meter = DoubtfulMeter({"cpu": 15.0}, cores=2, cpu_time=lambda: clock["cpu"])
    model = CpuModel(clock)
    profile = replace(PROFILE, energy_min_seconds=0.0)
    _, _, windows = metered_predict(model, INSTANCES, profile, meter)
    energy = measure_costs(model, INSTANCES, profile, meter, accuracy_windows=windows)["energy"]
    assert energy["unstable"] is True and "counter-disagrees" in energy["unstable_reason"]
    assert energy["meter_flags"] == ["counter-disagrees-with-power-samples"]
