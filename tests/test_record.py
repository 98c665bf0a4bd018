from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import record_factory

from benchmark import migrate, record
from benchmark.errors import RecordError
from benchmark.record import find_runs, read_run, write_run

RUN, _ROWS, METRICS = record_factory.build(record_factory.tiny_task(), limit=None, training=False)
PREDS = [
    {"eval_set": "test", "id": "a", "prediction": 1},
    {"eval_set": "test", "id": "b", "prediction": 0},
]
KEY2 = "b" * 64


def test_round_trip(tmp_path):
    metrics = {**METRICS, "latency": {**METRICS["latency"], "latency_median_cv": float("nan"), "repeats": 1}}
    final = write_run(tmp_path / "runs" / "r1", RUN, PREDS, metrics)
    rec = read_run(final)
    assert rec.status == "complete" and rec.predictions == PREDS
    # NaN is written as null (strict JSON readers accept every record), and a null figure carries its reason
    assert rec.metrics["latency"]["latency_median_cv"] is None
    assert "one repeat" in rec.metrics["latency"]["null_reasons"]["latency_median_cv"]
    assert sorted(p.name for p in final.iterdir()) == ["digests.json", "metrics.json", "predictions.jsonl", "run.json"]
    assert find_runs(tmp_path / "runs") == [final]


def test_existing_record_needs_replace(tmp_path):
    final = write_run(tmp_path / "r", RUN, PREDS, METRICS)
    with pytest.raises(RecordError, match="--force"):
        write_run(final, RUN, PREDS, METRICS)
    write_run(final, {**RUN, "job_key": KEY2}, PREDS, METRICS, replace=True)
    assert read_run(final).run["job_key"] == KEY2
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no temporary or trash folder left behind


def test_failure_mid_write_leaves_nothing(tmp_path, monkeypatch):
    real = record._write_synced

    def fail_on_run_json(path, text):
        if path.name == "run.json":
            raise OSError("disk full")
        real(path, text)

    monkeypatch.setattr(record, "_write_synced", fail_on_run_json)
    with pytest.raises(OSError):
        write_run(tmp_path / "r", RUN, PREDS, METRICS)
    assert list(tmp_path.iterdir()) == []


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from benchmark.record import write_run
def rows():
    for k in range(1000):
        if k == 500:
            print("writing", flush=True)
            time.sleep(30)
        yield {"eval_set": "test", "id": str(k), "prediction": 0}
write_run(Path(sys.argv[1]) / "r", RUN, rows(), METRICS)
"""


def test_sigkill_mid_write_leaves_no_complete_looking_record(tmp_path):
    script = f"RUN = {RUN!r}\nMETRICS = {METRICS!r}\n" + KILL_SCRIPT
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert find_runs(tmp_path) == []
    assert not (tmp_path / "r").exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".tmp-") for name in leftovers)


@pytest.mark.parametrize(
    "damage,expected",
    [
        (lambda d: (d / "run.json").write_text('{"schema_version": 1, "status": "compl'), "not valid JSON"),
        (
            lambda d: (d / "run.json").write_text(json.dumps({**RUN, "schema_version": 99, "status": "complete"})),
            "schema_version 99",
        ),
        (lambda d: (d / "metrics.json").unlink(), "metrics.json is missing"),
        (lambda d: (d / "predictions.jsonl").write_text('{"id": "a"}\n'), "not a prediction record"),
        (lambda d: (d / "run.json").write_text(json.dumps({"schema_version": 3, "status": "complete"})), "run schema"),
        (  # schema 1 stored gold labels in predictions.jsonl: the error names the migration
            lambda d: (d / "run.json").write_text(json.dumps({**RUN, "schema_version": 1, "status": "complete"})),
            "benchmark.migrate",
        ),
        (
            lambda d: (d / "predictions.jsonl").write_text(
                '{"eval_set": "test", "id": "a", "prediction": 1, "gold": 1}\n'
            ),
            "gold",
        ),
    ],
)
def test_damaged_records_give_one_clear_error(tmp_path, damage, expected):
    final = write_run(tmp_path / "r", RUN, PREDS, METRICS)
    damage(final)
    with pytest.raises(RecordError, match=expected):
        read_run(final)


def test_killed_cli_run_never_leaves_a_complete_looking_record(tmp_path, data_dir, fast_profile):
    """Kill `greenbench run` at several points: each time there is either no record or a valid one."""
    repo = Path(__file__).resolve().parent.parent
    cmd = [
        sys.executable,
        "-m",
        "benchmark.cli",
        "run",
        "--task",
        "ag_news",
        "--submission",
        str(repo / "submissions" / "majority-class"),
        "--profile",
        str(fast_profile),
        "--data-dir",
        str(data_dir),
        "--limit",
        "50",
        "--out",
        str(tmp_path),
    ]
    for delay in (0.5, 1.5, 2.5):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait(timeout=10)
        for run_dir in find_runs(tmp_path):
            assert read_run(run_dir).status == "complete"


CONCURRENT_SCRIPT = """
import sys
from pathlib import Path
from benchmark.record import write_run
for k in range(15):
    write_run(Path(sys.argv[1]) / "same-job", {**RUN, "job_key": sys.argv[2] * 64}, PREDS * 200, METRICS, replace=True)
    write_run(Path(sys.argv[1]) / f"own-{sys.argv[2]}-{k}", RUN, PREDS, METRICS)
"""


def test_concurrent_writers_do_not_clobber(tmp_path):
    script = f"RUN = {RUN!r}\nMETRICS = {METRICS!r}\nPREDS = {PREDS!r}\n" + CONCURRENT_SCRIPT
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), k], stderr=subprocess.PIPE, text=True)
        for k in "abcd"
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    runs = find_runs(tmp_path)
    assert len(runs) == 1 + 4 * 15  # every writer's own jobs, and one copy of the shared job
    for run_dir in runs:
        read_run(run_dir)  # each complete and consistent: no mix of two writers' files
    shared = read_run(tmp_path / "same-job")
    assert shared.run["job_key"] in {k * 64 for k in "abcd"} and len(shared.predictions) == 400
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _as_schema_1(run_dir: Path) -> None:
    """Rewrite a record the way schema 1 stored it: gold labels beside each prediction."""
    gold = {"a": 1, "b": 1}
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    (run_dir / "predictions.jsonl").write_text("".join(json.dumps({**r, "gold": gold[r["id"]]}) + "\n" for r in rows))
    for name in ("run.json", "metrics.json"):
        (run_dir / name).write_text(json.dumps({**json.loads((run_dir / name).read_text()), "schema_version": 1}))
    digests = {n: record.file_sha256(run_dir / n) for n in record.DIGESTED}
    (run_dir / "digests.json").write_text(json.dumps({"schema_version": 1, "sha256": digests}))


def test_migration_drops_gold_and_keeps_what_was_measured(tmp_path, capsys):
    final = write_run(tmp_path / "runs" / "r1", RUN, PREDS, METRICS)
    _as_schema_1(final)
    with pytest.raises(RecordError, match="benchmark.migrate"):
        read_run(final)
    assert migrate.main([str(tmp_path / "runs")]) == 0
    assert "1 migrated" in capsys.readouterr().out
    rec = read_run(final)
    assert rec.predictions == PREDS and rec.metrics["eval_sets"] == METRICS["eval_sets"]
    assert rec.metrics["latency"] == METRICS["latency"] and rec.metrics["energy"] == json.loads(
        record.dumps(METRICS["energy"])
    )
    assert "gold" not in (final / "predictions.jsonl").read_text()
    assert [n["from_schema"] for n in rec.run["migrated"]] == [1, 2]
    assert json.loads((final / "digests.json").read_text())["sha256"]["run.json"] == record.file_sha256(
        final / "run.json"
    )
    assert migrate.main([str(final)]) == 0 and "1 already at schema" in capsys.readouterr().out


def test_migration_refuses_an_edited_record(tmp_path, capsys):
    final = write_run(tmp_path / "r", RUN, PREDS, METRICS)
    _as_schema_1(final)
    metrics = json.loads((final / "metrics.json").read_text())
    metrics["eval_sets"]["test"]["accuracy"] = 1.0  # edited after the run: digests no longer match
    (final / "metrics.json").write_text(json.dumps(metrics))
    assert migrate.main([str(final)]) == 1
    assert "metrics.json was changed after the run" in capsys.readouterr().err
    assert json.loads((final / "run.json").read_text())["schema_version"] == 1  # left as it was


def _as_schema_2(run_dir: Path, metrics: dict) -> None:
    """A record as schema 2 wrote it: no FLOPs provenance, a numpy entry's FLOPs as 0, NaN as bare null."""
    (run_dir / "metrics.json").write_text(json.dumps({**metrics, "schema_version": 2}))
    run = json.loads((run_dir / "run.json").read_text())
    run["migrated"] = {"from_schema": 1, "at": "2026-01-01T00:00:00+00:00", "change": "gold removed"}
    (run_dir / "run.json").write_text(json.dumps({**run, "schema_version": 2}))
    digests = {n: record.file_sha256(run_dir / n) for n in record.DIGESTED}
    (run_dir / "digests.json").write_text(json.dumps({"schema_version": 2, "sha256": digests}))


def test_migration_2_to_3_adds_provenance_and_reasons(tmp_path):
    final = write_run(tmp_path / "r", RUN, PREDS, METRICS)
    flops = {k: v for k, v in METRICS["flops"].items() if k not in ("counted_by", "null_reasons")}
    v2 = {
        **METRICS,
        "flops": {**flops, "inference_flops_per_instance_mean": 0.0, "inference_flops_total_estimate": 0.0},
    }
    v2["latency"] = {**METRICS["latency"], "latency_median_cv": None, "repeats": 1, "n_samples": 50}
    _as_schema_2(final, v2)
    assert migrate_run_ok(final)
    rec = read_run(final)
    assert rec.metrics["flops"]["counted_by"] == "not-counted"
    assert rec.metrics["flops"]["inference_flops_per_instance_mean"] is None
    assert "not counted" in rec.metrics["flops"]["null_reasons"]["inference_flops_per_instance_mean"]
    assert rec.metrics["latency"]["null_reasons"]["latency_median_cv"]
    assert rec.metrics["latency"]["latency_ms_p50"] == METRICS["latency"]["latency_ms_p50"]  # no figure changed
    assert [n["from_schema"] for n in rec.run["migrated"]] == [1, 2]


def test_migration_2_to_3_refuses_an_edited_record(tmp_path):
    final = write_run(tmp_path / "r", RUN, PREDS, METRICS)
    _as_schema_2(final, {k: v for k, v in METRICS.items()})
    metrics = json.loads((final / "metrics.json").read_text())
    metrics["throughput"]["throughput_instances_per_s"] *= 100
    (final / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(RecordError, match="metrics.json was changed after the run"):
        migrate.migrate_run(final)


def test_python_entry_flops_are_entry_process_and_hf_harness(tmp_path):
    for kind, expected in (("python", "entry-process"), ("hf", "harness")):
        run, _, metrics = record_factory.build(record_factory.tiny_task(), limit=None, training=False, kind=kind)
        flops = {k: v for k, v in metrics["flops"].items() if k != "counted_by"}
        rec = read_run(write_run(tmp_path / kind, run, PREDS, {**metrics, "flops": flops}))
        assert rec.metrics["flops"]["counted_by"] == expected


def test_write_refuses_a_record_that_breaks_the_schema(tmp_path):
    bad = {**METRICS, "throughput": {**METRICS["throughput"], "throughput_instances_per_s": "fast"}}
    with pytest.raises(RecordError, match="throughput.throughput_instances_per_s"):
        write_run(tmp_path / "r", RUN, PREDS, bad)
    assert list(tmp_path.iterdir()) == []


def migrate_run_ok(run_dir: Path) -> bool:
    return migrate.migrate_run(run_dir)


def test_run_record_doc_tables_are_generated_from_the_schema():
    from benchmark import schema_doc

    doc = Path(__file__).resolve().parent.parent / "docs" / "run-record.md"
    assert schema_doc.generated_part(doc) == schema_doc.markdown(), (
        "run `python -m benchmark.schema_doc docs/run-record.md`"
    )


def test_recorded_profile_schema_has_every_profile_field():
    import dataclasses

    from benchmark.profiles import Profile
    from benchmark.schema import ProfileInfo

    assert [f.name for f in dataclasses.fields(Profile)] == list(ProfileInfo.model_fields)


def test_measures_carry_their_unit_and_do_the_writers_arithmetic():
    from benchmark import carbon
    from benchmark.measures import Duration, Energy, Flops, Power, Rate

    assert Energy.from_joules(3.6e6).kwh == 1.0
    active = Energy.from_joules(100.0).minus_idle(Power(3.0), Duration(10.0))
    assert active.joules == pytest.approx(70.0)
    assert Energy.from_joules(10.0).minus_idle(Power(3.0), Duration(10.0)).kwh == 0.0  # never below idle
    assert Energy(2.0).per_1k(4000) == Energy(0.5) and Energy(2.0).per_1k(0) is None  # no instances: no figure
    usa = carbon.lookup("USA")
    assert Energy(0.5).co2e(usa.g_per_kwh, 1.2).kg == carbon.co2e_kg(0.5, usa, 1.2)
    assert Flops(30.0).per_instance(3) == Flops(10.0) and Rate.of(10, Duration(0.0)) is None
    for bad in (lambda: Flops(-1.0), lambda: Duration(float("nan")), lambda: Energy(float("inf"))):
        with pytest.raises(ValueError):
            bad()


def test_a_failed_run_is_a_valid_record_that_validate_reports(tmp_path):
    from benchmark.validate import validate_run

    failure = {"kind": "timeout", "reason": "the entry ran past 3600 s", "stderr_tail": ""}
    final = write_run(tmp_path / "r", {**RUN, "status": "failed", "failure": failure}, [], {})
    rec = read_run(final)
    assert rec.status == "failed" and rec.metrics == {} and rec.predictions == []
    assert validate_run(final, None) == ["the run failed: the entry ran past 3600 s"]
    with pytest.raises(RecordError, match="failure"):
        write_run(tmp_path / "r2", {**RUN, "status": "failed"}, [], {})  # a failed run says why
