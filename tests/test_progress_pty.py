"""Progress a person sees: bars in a terminal (driven through a pseudo-terminal), nothing in a pipe,
nothing under --quiet, and a heartbeat that repeats what the entry last reported, never a stale line."""

from __future__ import annotations

import fcntl
import inspect
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from benchmark import progress

REPO = Path(__file__).resolve().parent.parent
BAR = r"{desc}: .*\|.*\d+/\d+"  # tqdm's "desc: 100%|████| 3/3 [...]"

API_SCRIPT = """
import sys
from benchmark import progress
progress.set_quiet("--quiet" in sys.argv)
with progress.training() as fit:
    fit.on_message({"kind": "progress", "step": 1, "total": 3, "loss": 0.9})
    fit.on_message({"kind": "progress", "step": "x", "total": None})  # malformed: ignored
    fit(3, 3, loss=0.25, note="epoch 2")
for _ in progress.track(range(4), progress.ACCURACY, unit="batch"):
    pass
for name in (progress.FLOPS, progress.LATENCY, progress.ENERGY):
    with progress.bar(2, name) as bar:
        bar.update(2)
print("RESULT on stdout")
"""


def run_in_pty(argv: list[str], timeout_s: float = 300, **env_extra: str) -> tuple[int, str]:
    """Run ``argv`` with stdin, stdout and stderr on a pseudo-terminal, as a person's shell would."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # rows, columns
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", **env_extra}
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return proc.wait(), b"".join(chunks).decode(errors="replace")


def test_bars_appear_in_a_terminal_for_fit_accuracy_and_cost_passes():
    code, out = run_in_pty([sys.executable, "-c", API_SCRIPT], timeout_s=120)
    assert code == 0, out
    for desc in (progress.FIT, progress.ACCURACY, progress.FLOPS, progress.LATENCY, progress.ENERGY):
        assert re.search(BAR.format(desc=re.escape(desc)), out), (desc, out)
    assert "3/3" in out and "loss 0.25, epoch 2" in out  # the entry's own step count and loss
    assert "RESULT on stdout" in out


def test_no_bars_in_a_pipe_or_under_quiet():
    for extra in ([], ["--quiet"]):
        done = subprocess.run(
            [sys.executable, "-c", API_SCRIPT, *extra], capture_output=True, text=True, cwd=REPO, timeout=120,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        assert done.returncode == 0 and done.stdout == "RESULT on stdout\n" and done.stderr == "", done.stderr
    code, out = run_in_pty([sys.executable, "-c", API_SCRIPT, "--quiet"], timeout_s=120)
    assert code == 0 and out.strip() == "RESULT on stdout", out


def test_step_progress_reads_untrusted_messages_tolerantly():
    steps = progress.StepProgress()
    assert steps.summary() == ""
    for junk in (None, "x", 3, {"kind": "log"}, {"step": "many"}, {"step": float("nan")}, {"step": -1}, {"step": True}):
        steps.on_message(junk)  # type: ignore[arg-type]
    assert steps.summary() == ""
    steps.on_message({"step": 40, "total": 57, "loss": 0.41234, "note": "epoch 1/2\x1b[2J"})
    assert steps.summary() == "step 40/57, loss 0.4123, epoch 1/2[2J"
    steps.on_message({"kind": "progress", "step": 41, "total": "lots", "loss": "low"})
    assert steps.summary() == "step 41/57"  # the total stays, a non-number loss is dropped


def test_heartbeat_says_what_the_entry_last_reported(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal: the heartbeat speaks
    now = [0.0]
    lines: list[str] = []
    steps = progress.StepProgress()
    beat = progress.Heartbeat("fit", lines.append, steps, interval_s=60, clock=lambda: now[0])
    now[0] = 30
    assert not beat.tick() and lines == []
    now[0] = 61
    assert beat.tick() and lines[-1].endswith("fit still running: 61 s; no progress reported by the entry yet")
    steps(12, 57, loss=0.5)
    now[0] = 200
    assert beat.tick() and lines[-1].endswith("fit still running: 3 min; step 12/57, loss 0.5")
    progress.set_quiet(True)
    try:
        now[0] = 400
        assert not beat.tick()
    finally:
        progress.set_quiet(False)


def _runner_reports_progress() -> bool:
    from benchmark import runner

    return "progress." in inspect.getsource(runner)


@pytest.mark.skipif(not _runner_reports_progress(), reason="runner.py does not call benchmark.progress yet")
def test_a_real_run_in_a_terminal_shows_every_pass(tmp_path, data_dir, fast_profile):
    argv = [
        sys.executable, "-m", "benchmark.cli", "run", "--submission", str(REPO / "submissions" / "majority-class"),
        "--task", "ag_news", "--profile", str(fast_profile), "--data-dir", str(data_dir), "--limit", "40",
        "--out", str(tmp_path / "runs"), "--sandbox", "none",
    ]  # fmt: skip
    code, out = run_in_pty(argv, GREENBENCH_CACHE=str(tmp_path / "cache"))
    assert code == 0, out
    assert re.search(r"(^|[\r\n])fit: \d\d:\d\d elapsed, 0 steps reported", out), out  # majority-class reports no steps
    # Energy comes from the metered accuracy pass (its bar says so) or, when that pass is too short,
    # from a separate window with its own bar: the accuracy bar is the one always drawn.
    for desc in (progress.ACCURACY, progress.FLOPS, progress.LATENCY):
        assert re.search(re.escape(desc) + r"[^:\r\n]*: +\d+%\|.*\| \d+/\d+", out), (desc, out)


def test_a_second_fit_does_not_inherit_the_first_fits_last_report():
    """The harness fits twice (a counted fit on a sample, then the metered fit): a heartbeat during
    the second must not repeat the first's "step 1/1, solve done"."""
    steps = progress.StepProgress()
    with steps.showing():
        steps(1, 1, note="solve done")
    assert steps.summary() == "step 1/1, solve done"
    with steps.showing():
        assert steps.summary() == ""
        steps(3, 10)
        assert steps.summary() == "step 3/10"
