from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark import migrate, record
from benchmark.errors import RecordError
from benchmark.record import find_runs, read_run, write_run

RUN = {
    "job_key": "k" * 64,
    "task": {"name": "ag_news"},
    "submission": {"name": "demo"},
    "profile": {"name": "cpu"},
    "config": {},
    "environment": {},
    "started_at": "2026-01-01T00:00:00+00:00",
    "finished_at": "2026-01-01T00:00:01+00:00",
}
METRICS = {"eval_sets": {"test": {"n": 2, "accuracy": 0.5}}}
PREDS = [
    {"eval_set": "test", "id": "a", "prediction": 1},
    {"eval_set": "test", "id": "b", "prediction": 0},
]


def test_round_trip(tmp_path):
    final = write_run(tmp_path / "runs" / "r1", RUN, PREDS, {**METRICS, "x": float("nan")})
    rec = read_run(final)
    assert rec.status == "complete" and rec.predictions == PREDS
    assert rec.metrics["x"] is None  # NaN is written as null: strict JSON readers accept every record
    assert sorted(p.name for p in final.iterdir()) == ["digests.json", "metrics.json", "predictions.jsonl", "run.json"]
    assert find_runs(tmp_path / "runs") == [final]


def test_existing_record_needs_replace(tmp_path):
    final = write_run(tmp_path / "r", RUN, PREDS, METRICS)
    with pytest.raises(RecordError, match="--force"):
        write_run(final, RUN, PREDS, METRICS)
    write_run(final, {**RUN, "job_key": "new"}, PREDS, METRICS, replace=True)
    assert read_run(final).run["job_key"] == "new"
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
        (lambda d: (d / "run.json").write_text(json.dumps({"schema_version": 2, "status": "complete"})), "run schema"),
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
    write_run(Path(sys.argv[1]) / "same-job", {**RUN, "job_key": sys.argv[2]}, PREDS * 200, METRICS, replace=True)
    write_run(Path(sys.argv[1]) / f"own-{sys.argv[2]}-{k}", RUN, PREDS, METRICS)
"""


def test_concurrent_writers_do_not_clobber(tmp_path):
    script = f"RUN = {RUN!r}\nMETRICS = {METRICS!r}\nPREDS = {PREDS!r}\n" + CONCURRENT_SCRIPT
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), f"w{k}"], stderr=subprocess.PIPE, text=True)
        for k in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    runs = find_runs(tmp_path)
    assert len(runs) == 1 + 4 * 15  # every writer's own jobs, and one copy of the shared job
    for run_dir in runs:
        read_run(run_dir)  # each complete and consistent: no mix of two writers' files
    shared = read_run(tmp_path / "same-job")
    assert shared.run["job_key"] in {"w0", "w1", "w2", "w3"} and len(shared.predictions) == 400
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
    assert "gold" not in (final / "predictions.jsonl").read_text()
    assert rec.run["migrated"]["from_schema"] == 1
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
