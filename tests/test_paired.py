"""The paired gate on fake models that spend a fake clock and fake CPU time: no wall-clock asserts."""

from __future__ import annotations

import json
import random

import pytest

from benchmark.costs import idle_baseline
from benchmark.errors import UserError
from benchmark.gate import load_bands
from benchmark.meters import EstimateMeter
from benchmark.paired import PairedSettings, measure_pair, paired_report, ratio_ci
from tasks.base import Instance

INSTANCES = [Instance(str(i), {"text": "w " * (5 + i % 17)}) for i in range(64)]


class World:
    """A fake clock and CPU counter; ``load`` slows everything, as a neighbour's drift would."""

    def __init__(self, seed: int = 0) -> None:
        self.now = 0.0
        self.cpu = 0.0
        self.load = 1.0
        self.rng = random.Random(seed)

    def spend(self, wall: float, cpu: float) -> None:
        jitter = 1.0 + self.rng.uniform(-0.03, 0.03)
        self.now += wall * self.load * jitter
        self.cpu += cpu * jitter
        self.load += 0.002  # slow drift over the whole gate


class FakeModel:
    def __init__(self, world: World, ms: float = 2.0, cpu_ms: float = 2.0) -> None:
        self.world, self.ms, self.cpu_ms = world, ms, cpu_ms

    def predict(self, batch):
        self.world.spend(self.ms / 1000 * len(batch) ** 0.8, self.cpu_ms / 1000 * len(batch))
        return [0] * len(batch)


def gate(base_kw: dict, cand_kw: dict, seed: int = 0, rounds: int = 10) -> dict:
    world = World(seed)
    meter = EstimateMeter({"cpu": 15.0, "dram": 3.0}, cores=2, cpu_time=lambda: world.cpu)
    settings = PairedSettings(rounds=rounds, latency_calls=9, energy_window_s=0.2, batch_size=16)
    rounds_out = measure_pair(
        FakeModel(world, **base_kw),
        FakeModel(world, **cand_kw),
        INSTANCES,
        meter,
        settings,
        idle_baseline(meter, 1.0),
        clock=lambda: world.now,
    )
    return paired_report(rounds_out, settings, meter.source)


@pytest.mark.parametrize("seed", range(5))
def test_same_code_passes_despite_drift(seed):
    report = gate({}, {}, seed)
    assert report["mode"] == "paired" and report["verdict"] == "pass"
    for check in report["checks"]:
        assert check["ci_low"] <= 1.0 <= check["ci_high"] * 1.0001
        assert abs(check["ratio"] - 1.0) < 0.05


def test_rounds_alternate_abba():
    assert gate({}, {})["rounds"]["order"][:4] == ["AB", "BA", "AB", "BA"]


def test_slower_candidate_fails_on_latency_only():
    report = gate({}, {"ms": 3.0})  # +50% wall time, same CPU work
    latency, energy = report["checks"]
    assert latency["verdict"] == "fail" and latency["ratio"] == pytest.approx(1.5, rel=0.05)
    assert energy["verdict"] == "pass"
    assert report["verdict"] == "fail"


def test_costlier_candidate_fails_on_energy():
    report = gate({}, {"cpu_ms": 2.6})  # +30% CPU time per instance
    latency, energy = report["checks"]
    assert energy["verdict"] == "fail" and energy["ratio"] == pytest.approx(1.3, rel=0.05)
    assert latency["verdict"] == "pass"


def test_increase_inside_the_allowance_passes():
    report = gate({}, {"cpu_ms": 2.1})  # +5% with a 10% allowance
    assert report["checks"][1]["verdict"] == "pass"


def test_ratio_ci_needs_three_positive_rounds():
    assert ratio_ci([1.0, 0.0, 1.0], [1.0, 1.0, 1.0], 0.95, 100, 0)["ratio"] is None
    ci = ratio_ci([1.0, 2.0, 4.0, 8.0], [2.0, 4.0, 8.0, 16.0], 0.95, 200, 0)
    assert ci["ratio"] == pytest.approx(2.0) and ci["ci_low"] == pytest.approx(2.0)


@pytest.mark.parametrize(
    "kwargs", [{"rounds": 2}, {"latency_calls": 0}, {"energy_window_s": 0.0}, {"allowance_pct": -1.0}]
)
def test_bad_settings_are_user_errors(kwargs):
    with pytest.raises(UserError):
        PairedSettings(**kwargs)


def test_bands_file(tmp_path):
    good = tmp_path / "bands.json"
    good.write_text(json.dumps({"cpu": {"latency_ms_p50": 0.5}}))
    bands, source = load_bands(str(good), "cpu")
    assert bands["latency_ms_p50"] == 0.5 and "energy_kwh_per_1k" in bands and "bands.json" in source
    for text in ("[1, 2]", "{not json", json.dumps({"cpu": {"latency_ms_p50": -1}})):
        good.write_text(text)
        with pytest.raises(UserError, match="--bands"):
            load_bands(str(good), "cpu")
    with pytest.raises(UserError, match="--bands"):
        load_bands(str(tmp_path / "missing.json"), "cpu")


def test_check_pairs_two_submission_folders(data_dir, capsys):
    """`greenbench check` on two submission folders runs the paired mode and says so."""
    from pathlib import Path

    from benchmark.cli import main

    entry = str(Path(__file__).resolve().parent.parent / "submissions" / "majority-class")
    profile = str(Path(__file__).resolve().parent / "fixtures" / "fast-cpu.yaml")
    args = ["check", "--baseline", entry, "--candidate", entry, "--task", "ag_news", "--limit", "48"]
    args += ["--train-limit", "60", "--rounds", "3", "--profile", profile, "--data-dir", str(data_dir), "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mode"] == "paired" and report["verdict"] == "pass"
    assert [c["verdict"] for c in report["checks"]] == ["pass", "pass", "pass"]
    assert main(["check", "--baseline", entry, "--candidate", str(data_dir), "--task", "ag_news"]) == 2
    assert "must both be run records or both submission folders" in capsys.readouterr().err


def _record(p50: float, median_cv: float, energy: float, energy_cv: float, unstable: bool = False):
    from pathlib import Path

    from benchmark.record import RunRecord

    run = {"status": "complete", "task": {"name": "ag_news"}, "profile": {"name": "cpu"}}
    metrics = {
        "eval_sets": {"test": {"accuracy": 0.5}},
        "latency": {"latency_ms_p50": p50, "latency_median_cv": median_cv, "unstable": unstable},
        "energy": {"energy_kwh_per_1k": energy, "energy_per_1k_cv": energy_cv, "energy_source": "estimate:cpu-time"},
    }
    preds = [{"eval_set": "test", "id": str(i), "prediction": i % 2} for i in range(40)]
    return RunRecord(Path("r"), run, metrics, preds)


def test_record_mode_says_so_and_widens_bands_by_the_between_run_spread():
    from benchmark.gate import BETWEEN_RUN_CV, gate

    labels = {"test": {str(i): i % 2 for i in range(40)}}
    base = _record(10.0, 0.01, 1e-4, 0.01)
    drift = 1 + BETWEEN_RUN_CV["cpu"]["latency_ms_p50"]  # one between-run standard deviation slower
    report = gate(base, _record(10.0 * drift, 0.01, 1e-4, 0.01, unstable=True), labels)
    assert report["mode"] == "records" and report["verdict"] == "pass"
    assert any(n.startswith("mode: records") for n in report["notes"])
    assert any("latency figure(s) are flagged unstable" in n for n in report["notes"])
    assert gate(base, _record(10.0 * 4, 0.01, 1e-4, 0.01), labels)["verdict"] == "fail"
    assert gate(base, _record(10.0, 0.01, 1e-4 * 3, 0.01), labels)["verdict"] == "fail"
