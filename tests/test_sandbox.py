"""Hostile submissions: the harness survives each, records a failed run, and leaks nothing."""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

import pytest

from benchmark.executor import LocalExecutor
from benchmark.record import find_runs, read_run
from benchmark.runner import RunConfig
from benchmark.sandbox import available_isolation, child_env

HOSTILE = Path(__file__).resolve().parent / "fixtures" / "hostile"


def hostile_submission(tmp_path: Path, mode: str, port: int = 0) -> Path:
    folder = tmp_path / f"hostile-{mode}"
    folder.mkdir()
    shutil.copy(HOSTILE / "predictor.py", folder / "predictor.py")
    (folder / "submission.yaml").write_text(
        f"name: hostile-{mode}\nversion: '1'\nauthors: [test]\ndescription: hostile\nlicence: MIT\n"
        f"tasks: [ag_news]\nkind: python\nentry_point: predictor:Hostile\nparams: {{mode: {mode}, port: {port}}}\n"
    )
    return folder


def config(tmp_path, data_dir, fast_profile, folder, **kw) -> RunConfig:
    return RunConfig(
        task="ag_news",
        submission_dir=folder,
        profile=str(fast_profile),
        data_dir=data_dir,
        limit=8,
        out_dir=tmp_path / "runs",
        measure_costs=False,
        **kw,
    )


@pytest.mark.parametrize(
    "mode,kind,text,limits",
    [
        ("raise", "error", "RuntimeError: boom in predict", {}),
        ("sleep", "timeout", "time limit", {"timeout_s": 8.0}),
        ("memory", "oom", "MemoryError", {"memory_gb": 3.0}),
        ("exit", "crash", "exited with code 3", {}),
        ("bad-output", "error", "not an integer label", {}),
    ],
)
def test_misbehaving_child_gives_failed_record(
    tmp_path, data_dir, fast_profile, isolated_cache, mode, kind, text, limits
):
    folder = hostile_submission(tmp_path, mode)
    good = config(tmp_path, data_dir, fast_profile, hostile_submission(tmp_path, "ok"))
    results = LocalExecutor(progress=False).map([config(tmp_path, data_dir, fast_profile, folder, **limits), good])
    assert [r.status for r in results] == ["failed", "complete"]  # the harness went on to the next job
    record = read_run(results[0].run_dir)
    assert record.status == "failed"
    assert record.run["failure"]["kind"] == kind and text in record.run["failure"]["reason"]
    assert record.metrics == {} and record.predictions == []
    assert read_run(results[1].run_dir).metrics["eval_sets"]["test"]["n"] == 8


def test_failed_run_is_redone_on_rerun(tmp_path, data_dir, fast_profile, isolated_cache):
    folder = hostile_submission(tmp_path, "raise")
    job = config(tmp_path, data_dir, fast_profile, folder)
    first = LocalExecutor(progress=False).map([job])[0]
    (folder / "predictor.py").write_text(
        (folder / "predictor.py").read_text().replace('mode: str = "ok"', 'mode: str = "ok"')
    )
    second = LocalExecutor(progress=False).map([job])[0]
    assert first.status == second.status == "failed"  # retried, not skipped as complete
    assert len(find_runs(tmp_path / "runs")) == 1


def test_stdout_noise_does_not_break_the_protocol(tmp_path, data_dir, fast_profile, isolated_cache):
    result = LocalExecutor(progress=False).map(
        [config(tmp_path, data_dir, fast_profile, hostile_submission(tmp_path, "print"))]
    )[0]
    assert result.status == "complete"


@pytest.mark.parametrize("isolation", ["auto", "process"])
def test_environment_is_scrubbed(tmp_path, data_dir, fast_profile, isolated_cache, monkeypatch, isolation):
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws_secret")
    monkeypatch.setenv("GREENBENCH_TEST_SECRET", "s")
    assert "HF_TOKEN" not in child_env(tmp_path)
    result = LocalExecutor(progress=False).map(
        [config(tmp_path, data_dir, fast_profile, hostile_submission(tmp_path, "token"), sandbox=isolation)]
    )[0]
    record = read_run(result.run_dir)
    assert record.status == "complete"
    assert {p["prediction"] for p in record.predictions} == {0}  # the child saw no secret


@pytest.mark.parametrize("isolation", ["bwrap", "netns"])
def test_network_is_blocked_where_the_sandbox_allows(tmp_path, data_dir, fast_profile, isolated_cache, isolation):
    order = ("bwrap", "netns", "process")
    if order.index(isolation) < order.index(available_isolation()):
        pytest.skip(f"{isolation} is not available on this machine")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    received: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                received.append(conn.recv(16))
                conn.close()
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        result = LocalExecutor(progress=False).map(
            [config(tmp_path, data_dir, fast_profile, hostile_submission(tmp_path, "socket", port), sandbox=isolation)]
        )[0]
    finally:
        stop.set()
        thread.join()
        server.close()
    record = read_run(result.run_dir)
    assert record.run["sandbox"] == isolation
    assert received == [] and {p["prediction"] for p in record.predictions} == {0}


def test_entry_point_errors_are_bad_input_not_failed_runs(tmp_path, data_dir, fast_profile, isolated_cache):
    from benchmark.errors import UserError
    from benchmark.runner import run_job

    folder = hostile_submission(tmp_path, "ok")
    (folder / "submission.yaml").write_text(
        (folder / "submission.yaml").read_text().replace("predictor:Hostile", "predictor:Nope")
    )
    with pytest.raises(UserError, match="defines no class Nope"):
        run_job(config(tmp_path, data_dir, fast_profile, folder))
    assert find_runs(tmp_path / "runs") == []


def test_unavailable_or_unknown_sandbox_is_bad_input(tmp_path, data_dir, fast_profile):
    from benchmark.errors import UserError

    with pytest.raises(UserError, match="--sandbox must be one of"):
        config(tmp_path, data_dir, fast_profile, tmp_path, sandbox="docker")


def test_long_requests_send_heartbeats_with_the_submissions_last_words(
    tmp_path, data_dir, fast_profile, isolated_cache, monkeypatch, capsys
):
    """A fit that takes an hour must not be a silent hour: the runner relays a heartbeat."""
    from benchmark.runner import run_job
    from benchmark.sandbox import SandboxedPredictor

    monkeypatch.setattr(SandboxedPredictor, "heartbeat_s", 0.5)
    folder = hostile_submission(tmp_path, "slow")
    result = run_job(config(tmp_path, data_dir, fast_profile, folder), progress=True)
    assert result.status == "complete"
    beats = [line for line in capsys.readouterr().err.splitlines() if "still running" in line]
    assert any("predict still running" in b and "last stderr line: step 3 of 10" in b for b in beats)
