"""``greenbench audit`` against fake reruns: the comparison, the sampling and the exit codes.
(The default rerun runs a real job; the lead's JobSpec work wires it to ``run_job(spec, options)``.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import record_factory

from benchmark import audit, cli
from benchmark.errors import RecordError, UserError
from benchmark.record import read_run, write_run

RUN, _, METRICS = record_factory.build(record_factory.tiny_task(), limit=None, training=False)
PREDS = [{"eval_set": "test", "id": "a", "prediction": 1}, {"eval_set": "test", "id": "b", "prediction": 0}]


def _store(tmp_path: Path, n: int = 3) -> Path:
    for k in range(n):
        write_run(tmp_path / "store" / f"r{k}", {**RUN, "job_key": f"{k:064x}"}, PREDS, METRICS)
    return tmp_path / "store"


def same(run_dir: Path, out: Path) -> Path:
    """An honest rerun: the same predictions and FLOPs, the same measurements."""
    target = out / run_dir.name
    shutil.copytree(run_dir, target)
    return target


def rewritten(edit):
    def rerun(run_dir: Path, out: Path) -> Path:
        rec = read_run(run_dir)
        metrics = json.loads(json.dumps(rec.metrics))
        preds = [dict(p) for p in rec.predictions]
        edit(metrics, preds)
        run = {k: v for k, v in rec.run.items() if k != "schema_version"}
        return write_run(out / run_dir.name, run, preds, {k: v for k, v in metrics.items() if k != "schema_version"})

    return rerun


def test_honest_reruns_pass(tmp_path):
    rows = audit.audit([_store(tmp_path)], 2, 0, same)
    assert len(rows) == 2 and all(r.ok for r in rows)
    assert rows[0].predictions == "identical" and rows[0].flops.startswith("identical")


def test_a_changed_prediction_fails(tmp_path):
    def flip(m, preds):
        preds[0]["prediction"] = 3

    [row] = audit.audit([_store(tmp_path)], 1, 0, rewritten(flip))
    assert not row.ok and row.predictions == "1 of 2 differ"


def test_latency_outside_the_tolerance_fails_and_inside_passes(tmp_path):
    def slower(factor):
        def edit(m, preds):
            for k in ("latency_ms_p50", "latency_ms_p90", "latency_ms_p99", "latency_ms_mean"):
                m["latency"][k] *= factor

        return edit

    store = _store(tmp_path)
    assert audit.audit([store], 1, 0, rewritten(slower(1.2)), tmp_path / "a")[0].ok
    row = audit.audit([store], 1, 0, rewritten(slower(3.0)), tmp_path / "b")[0]
    assert not row.ok and row.latency.startswith("+200.0%")


def test_different_flops_fail_and_say_who_counted(tmp_path):
    def more(m, preds):
        m["flops"]["inference_flops_per_instance_mean"] *= 2
        m["flops"]["inference_flops_per_instance_std"] *= 2
        m["flops"]["inference_flops_total_estimate"] *= 2

    [row] = audit.audit([_store(tmp_path)], 1, 0, rewritten(more))
    assert not row.ok and "entry-process" in row.flops


def test_a_failed_rerun_is_a_failed_row_not_a_crash(tmp_path):
    def broken(run_dir: Path, out: Path) -> Path:
        raise RecordError(f"{run_dir}: the code that made it is nowhere")

    rows = audit.audit([_store(tmp_path)], 3, 0, broken)
    assert len(rows) == 3 and all(not r.ok and "nowhere" in (r.error or "") for r in rows)


def test_the_sample_is_random_but_repeatable():
    records = [Path(f"r{k}") for k in range(20)]
    assert audit.choose(records, 5, 1) == audit.choose(list(reversed(records)), 5, 1)
    assert audit.choose(records, 5, 1) != audit.choose(records, 5, 2)
    assert len(audit.choose(records, 50, 0)) == 20
    with pytest.raises(UserError):
        audit.choose(records, 0, 0)


def test_cli_exit_codes(tmp_path, monkeypatch, capsys):
    store = _store(tmp_path)
    monkeypatch.setattr(audit, "default_rerun", lambda data_dir=None: same)
    assert cli.main(["audit", str(store), "--sample", "2"]) == 0
    assert "2 of 2 audited records reproduced" in capsys.readouterr().out
    monkeypatch.setattr(audit, "default_rerun", lambda data_dir=None: rewritten(lambda m, p: p[0].update(prediction=2)))
    assert cli.main(["audit", str(store), "--sample", "1", "--seed", "3"]) == 1
    assert cli.main(["audit", str(tmp_path / "missing")]) == 2


@pytest.mark.slow
def test_default_rerun_reproduces_a_real_job(tmp_path, data_dir, fast_profile, monkeypatch):
    """A real record re-run from its own fields: the same job key, identical predictions and FLOPs."""
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(repo)  # the code is found by entry name and digest under submissions/
    args = ["run", "--task", "ag_news", "--submission", "submissions/majority-class", "--profile", str(fast_profile)]
    args += ["--data-dir", str(data_dir), "--limit", "40", "--out", str(tmp_path / "store"), "--quiet"]
    assert cli.main(args) == 0
    [row] = audit.audit([tmp_path / "store"], 1, 0, audit.default_rerun(data_dir), tmp_path / "rerun")
    assert row.error is None and row.predictions == "identical" and row.flops.startswith("identical")
    assert [p.name for p in (tmp_path / "rerun" / "store").rglob("run.json")] == ["run.json"]
    (new,) = (tmp_path / "rerun" / "store").rglob("run.json")
    assert new.parent.name == next((tmp_path / "store").rglob("run.json")).parent.name  # same job key


@pytest.mark.slow
def test_ci_audits_a_cheap_committed_record(tmp_path, data_dir):
    """A committed record made by an earlier version of its entry is re-run from the commit that
    holds its code: the predictions and the FLOPs verdict must agree."""
    import subprocess

    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], capture_output=True, text=True)
    if shallow.stdout.strip() == "true":
        pytest.skip("a shallow clone lacks the commit that holds the record's code")
    store = Path(__file__).resolve().parent.parent / "leaderboard" / "records" / "hyperpartisan" / "cpu" / "majority-class"
    rows = audit.audit([store], 1, 0, audit.default_rerun(data_dir), tmp_path)
    assert len(rows) == 1 and rows[0].predictions == "identical", rows[0]
    assert rows[0].flops.startswith("n/a") or rows[0].flops.startswith("identical"), rows[0]
