"""The forged-record catalogue: each record is what an adversary could commit (digests recomputed as
``write_run`` would), named by what it fakes, and each must fail ``validate`` with a line that says
what is wrong. Records are built by the harness's own writers (``record_factory``) and then edited."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import record_factory

from benchmark.migrate import migrate_run
from benchmark.record import DIGESTED, dumps, file_sha256, find_runs
from benchmark.validate import validate_paths, validate_run, verdict, verdict_paths
from tasks import get_task

REPO = Path(__file__).resolve().parent.parent
Doc = dict[str, Any]


@pytest.fixture(scope="module")
def tasks_data(data_dir):
    return {name: get_task(name).load(data_dir, None) for name in ("ag_news", "hyperpartisan", "winogrande")}


def forge(folder: Path, run: Doc, metrics: Doc, rows: list[Doc], raw_metrics: str | None = None) -> Path:
    """Write a record as a forger would: any content, digests recomputed, no schema check."""
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"schema_version": 3, **run}))
    (folder / "metrics.json").write_text(raw_metrics or json.dumps({"schema_version": 3, **metrics}))
    (folder / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    digests = {name: file_sha256(folder / name) for name in DIGESTED}
    (folder / "digests.json").write_text(dumps({"schema_version": 3, "sha256": digests}))
    return folder


def put(doc: Doc, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        doc = doc[key]
    doc[last] = value


def scale(doc: Doc, path: str, factor: float) -> None:
    *parents, last = path.split(".")
    for key in parents:
        doc = doc[key]
    doc[last] = [v * factor for v in doc[last]] if isinstance(doc[last], list) else doc[last] * factor


def issue_forgery(run: Doc, m: Doc) -> None:
    """Issue 14 item 1: energy, CO2e, latency and FLOPs / 100, throughput x 100."""
    for key in ("energy_kwh_per_1k", "energy_kwh_total_per_1k", "carbon_per_1k.co2e_kg"):
        scale(m["energy"], key, 0.01)
    for key in ("latency_ms_p50", "latency_ms_p90", "latency_ms_p99", "latency_ms_mean"):
        scale(m["latency"], key, 0.01)
    for key in ("inference_flops_per_instance_mean", "inference_flops_per_instance_std"):
        scale(m["flops"], key, 0.01)
    scale(m["throughput"], "throughput_instances_per_s", 100)


def flops_value(value: Any, counted_by: str | None = None) -> Callable[[Doc, Doc], None]:
    def edit(run: Doc, m: Doc) -> None:
        f = m["flops"]
        f["inference_flops_per_instance_mean"] = value
        f["inference_flops_per_instance_std"] = 0.0
        if isinstance(value, int | float):
            f["inference_flops_total_estimate"] = value * f["n_eval"]
        if counted_by:
            f["counted_by"] = counted_by

    return edit


def numpy_null_claimed(run: Doc, m: Doc) -> None:
    for key in (
        "inference_flops_per_instance_mean",
        "inference_flops_per_instance_std",
        "inference_flops_per_instance_sem",
        "inference_flops_total_estimate",
    ):
        m["flops"][key] = None
        m["flops"].setdefault("null_reasons", {})[key] = "numpy"
    m["flops"]["counted_by"] = "entry-process"


def consistent_fake_intensity(run: Doc, m: Doc) -> None:
    c = m["energy"]["carbon_per_1k"]
    c["intensity_g_per_kwh"] = 1.0
    c["co2e_kg"] = m["energy"]["energy_kwh_per_1k"] * 1.0 / 1000


def hourly_co2e_halved(run: Doc, m: Doc) -> None:
    """A time-resolved CO2e (benchmark.intensity) whose kg does not follow from its own intensity."""
    from datetime import UTC, datetime

    from benchmark import intensity

    hour = datetime(2026, 1, 1, tzinfo=UTC)
    series = intensity.HourlyIntensity("USA", "test", "h.csv", "d" * 64, {hour: (400.0, 600.0)})
    intensity.reprice(m, series, hour, hour.replace(minute=30), 1.0)
    m["energy"]["carbon_per_1k_hourly"]["co2e_kg_marginal"] *= 0.5


def bump_training_energy(run: Doc, m: Doc) -> None:
    m["training"]["training_energy_kwh"] *= 0.5


def idle_subtraction(run: Doc, m: Doc) -> None:
    m["energy"]["components_j_active"]["cpu"] *= 0.5


def without(key: str) -> Callable[[Doc, Doc], None]:
    return lambda run, m: m.pop(key)


def setter(path: str, value: Any, in_run: bool = False) -> Callable[[Doc, Doc], None]:
    return lambda run, m: put(run if in_run else m, path, value)


def scaler(path: str, factor: float) -> Callable[[Doc, Doc], None]:
    return lambda run, m: scale(m, path, factor)


XSS = "<img src=x onerror=alert(1)>"
# name -> (task, edit, expected text of one FAIL line)
CATALOGUE: dict[str, tuple[str, Callable[[Doc, Doc], None], str]] = {
    "issue-forgery-div100": ("ag_news", issue_forgery, "n_instances / seconds"),
    "flops-2-claimed-harness": (
        "ag_news",
        flops_value(2, "harness"),
        "counted_by is harness but the entry is kind python",
    ),
    "flops-0-disabled-modes": ("ag_news", flops_value(0), "no FLOPs were counted"),
    "flops-negative-patched-counter": ("ag_news", flops_value(-1e12), "greater than or equal to 0"),
    "flops-numpy-0-claimed-harness": ("ag_news", flops_value(0, "harness"), "no FLOPs were counted"),
    "flops-numpy-null-claimed-entry": ("ag_news", numpy_null_claimed, "no FLOPs were counted"),
    "flops-many": ("ag_news", flops_value("many"), "inference_flops_per_instance_mean: Input should be a valid number"),
    "flops-total-inconsistent": ("ag_news", scaler("flops.inference_flops_total_estimate", 100), "mean x n_eval"),
    "ci-low-string": (
        "ag_news",
        setter("eval_sets.test.accuracy_ci95_low", "0.1"),
        "accuracy_ci95_low: Input should be a valid number",
    ),
    "xss-f1-positive-string": (
        "ag_news",
        setter("eval_sets.test.f1_positive", XSS),
        "f1_positive: Input should be a valid number",
    ),
    "f1-positive-on-four-classes": (
        "ag_news",
        setter("eval_sets.test.f1_positive", 0.99),
        "test.f1_positive is recorded but task ag_news has no f1_positive",
    ),
    "macro-f1-on-multiple-choice": (
        "winogrande",
        setter("eval_sets.dev.macro_f1", 0.9),
        "dev.macro_f1 is recorded but task winogrande has no macro_f1",
    ),
    "f1-positive-edited-binary": ("hyperpartisan", setter("eval_sets.test.f1_positive", 0.99), "f1_positive is 0.99"),
    "accuracy-edited": ("ag_news", setter("eval_sets.test.accuracy", 0.9), "test.accuracy is 0.9 but the predictions score"),
    "accuracy-edited-within-ci": (
        "ag_news",
        lambda run, m: put(m, "eval_sets.test.accuracy", m["eval_sets"]["test"]["accuracy_ci95_high"]),
        "test.accuracy is",
    ),
    "accuracy-nan": (
        "ag_news",
        setter("eval_sets.test.accuracy", float("nan")),
        "accuracy: Input should be a finite number",
    ),
    "accuracy-bool": ("ag_news", setter("eval_sets.test.accuracy", True), "accuracy: Input should be a valid number"),
    "latency-infinite": ("ag_news", setter("latency.latency_ms_p99", float("inf")), "latency_ms_p99"),
    "latency-unordered": ("ag_news", setter("latency.latency_ms_p50", 1e6), "p50 <= p90 <= p99"),
    "latency-samples-inconsistent": ("ag_news", setter("latency.n_samples", 7), "latency.n_samples"),
    "energy-negative": ("ag_news", setter("energy.energy_kwh_per_1k", -1.0), "energy_kwh_per_1k"),
    "energy-null-without-reason": ("ag_news", setter("energy.energy_kwh_per_1k", None), "null without a reason"),
    "energy-total-per-1k-edited": ("ag_news", scaler("energy.energy_kwh_total_per_1k", 0.5), "energy_kwh_total_per_1k"),
    "energy-idle-subtraction": ("ag_news", idle_subtraction, "total - idle power x window"),
    "co2e-edited": ("ag_news", scaler("energy.carbon_per_1k.co2e_kg", 0.1), "energy x intensity x PUE"),
    "intensity-invented": ("ag_news", consistent_fake_intensity, "carbon table"),
    "hourly-co2e-halved": ("ag_news", hourly_co2e_halved, "carbon_per_1k_hourly.co2e_kg_marginal"),
    "throughput-x100": ("ag_news", scaler("throughput.throughput_instances_per_s", 100), "n_instances / seconds"),
    "training-co2e-div10": ("ag_news", scaler("training.training_co2e_kg", 0.1), "training energy x intensity"),
    "training-flops-div100": ("ag_news", scaler("training.training_flops", 0.01), "the sampled count"),
    "training-energy-halved": ("ag_news", bump_training_energy, "training.training_energy_kwh"),
    "cost-block-dropped": ("ag_news", without("energy"), "lacks energy"),
    "injected-field": ("ag_news", setter("energy.<script>alert(1)</script>", 1), "Extra inputs are not permitted"),
    "eval-sets-list": ("ag_news", setter("eval_sets", [1, 2]), "eval_sets"),
    "job-key-not-hex": ("ag_news", setter("job_key", "<b>x</b>", in_run=True), "job_key"),
    "failure-on-complete": ("ag_news", setter("failure", {"kind": "error", "reason": "x"}, in_run=True), "failure"),
    "region-mismatch": ("ag_news", setter("profile.region", "FRA", in_run=True), "region/pue differ"),
}


def _forged(tmp: Path, tasks_data: dict, name: str) -> Path:
    task, edit, _ = CATALOGUE[name]
    run, rows, metrics = record_factory.build(tasks_data[task])
    run, metrics = copy.deepcopy(run), json.loads(dumps(record_factory_complete(run, metrics)))
    edit(run, metrics)
    return forge(tmp / name, run, metrics, rows)


def record_factory_complete(run: Doc, metrics: Doc) -> Doc:
    from benchmark.record import complete_blocks

    return complete_blocks(run, metrics)


def test_catalogue_has_at_least_twenty_forgeries():
    assert len(CATALOGUE) >= 20


def test_the_unforged_base_records_validate(tmp_path, tasks_data, data_dir):
    for task, data in tasks_data.items():
        run, rows, metrics = record_factory.build(data)
        folder = forge(tmp_path / task, run, json.loads(dumps(record_factory_complete(run, metrics))), rows)
        assert validate_run(folder, data_dir) == [], task


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_each_forgery_fails_validate_with_a_named_line(tmp_path, tasks_data, data_dir, name):
    folder = _forged(tmp_path, tasks_data, name)
    problems = validate_run(folder, data_dir)
    expected = CATALOGUE[name][2]
    assert any(expected in line for line in problems), problems
    assert all("\n" not in line and "could not be checked" not in line for line in problems)


def test_all_forgeries_in_one_call_each_get_their_own_failure(tmp_path, tasks_data, data_dir):
    for name in CATALOGUE:
        _forged(tmp_path / "all", tasks_data, name)
    report = validate_paths([tmp_path / "all"], data_dir)
    assert len(report) == len(CATALOGUE)
    assert all(problems for problems in report.values())


def test_entry_process_flops_of_2_pass_but_are_marked(tmp_path, tasks_data, data_dir):
    """The detector trick records 2 FLOPs from the entry's own process: nothing in the record
    contradicts it, so it validates, but validate (and the board) mark where it was counted."""
    run, rows, metrics = record_factory.build(tasks_data["ag_news"])
    metrics = json.loads(dumps(record_factory_complete(run, metrics)))
    flops_value(2, "entry-process")(run, metrics)
    metrics["flops"]["inference_flops_per_instance_sem"] = 0.0
    result = verdict(forge(tmp_path / "r", run, metrics, rows), data_dir)
    assert result.problems == []
    assert any("entry's own process" in note for note in result.notes)


def _committed_record() -> Path | None:
    for root in (REPO / "leaderboard" / "records", REPO / "submissions"):
        for run_dir in find_runs(root) if root.is_dir() else []:
            m = json.loads((run_dir / "metrics.json").read_text())
            counted = (m.get("flops") or {}).get("inference_flops_per_instance_mean")
            if (
                counted
                and m.get("energy", {}).get("energy_kwh_per_1k_windows")
                and (run_dir / "predictions.jsonl").stat().st_size < 200_000
            ):
                return run_dir
    return None


def test_issue_forgery_of_a_committed_record(tmp_path, data_dir):
    source = _committed_record()
    if source is None:
        pytest.skip("no committed record with energy windows in this checkout")
    copy_dir = tmp_path / "rec"
    shutil.copytree(source, copy_dir)
    migrate_run(copy_dir)
    no_code = (tmp_path / "no-submissions",)  # the link to the code is the store's check, not this test's
    assert verdict(copy_dir, data_dir, roots=no_code).problems == []
    run = json.loads((copy_dir / "run.json").read_text())
    metrics = json.loads((copy_dir / "metrics.json").read_text())
    rows = [json.loads(line) for line in (copy_dir / "predictions.jsonl").read_text().splitlines()]
    run.pop("schema_version"), metrics.pop("schema_version")
    issue_forgery(run, metrics)
    problems = verdict(forge(tmp_path / "forged", run, metrics, rows), data_dir, roots=no_code).problems
    for expected in ("n_instances / seconds", "its windows range", "mean x n_eval"):
        assert any(expected in line for line in problems), (expected, problems)


def test_every_committed_record_migrates_and_revalidates(tmp_path, data_dir):
    """The committed store, copied: schema 2 records migrate to 3 and every one validates."""
    store = REPO / "leaderboard" / "records"
    if not store.is_dir():
        pytest.skip("no committed records store in this checkout")
    shutil.copytree(store, tmp_path / "records")
    runs = find_runs(tmp_path / "records")
    for run_dir in runs:
        migrate_run(run_dir)
    report = verdict_paths([tmp_path / "records"], data_dir, roots=(tmp_path / "no-submissions",))
    assert len(report) == len(runs) > 0
    assert {str(path): v.problems for path, v in report.items() if v.problems} == {}
