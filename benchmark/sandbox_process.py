"""The sandboxed child process and the pipe to it: start, exchange one request, watch, kill.

``benchmark.sandbox`` builds the predictor protocol on top of this transport.

The harness assumes a submission can crash, hang, eat memory, read the labels, reach for the
network, start daemons or lie on the protocol pipe. So its code runs only in a child at the best
isolation the machine allows (benchmark/isolation.py), inside a per-job cgroup (benchmark/proctree.py)
that caps processes and memory (tmpfs included), meters the CPU time of everything it starts and
kills all of it when the job ends. Every message from the child is parsed as hostile input
(benchmark/protocol.py); any violation is a failed run of kind ``protocol``, never a traceback.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmark.errors import ManifestError, UserError
from benchmark.isolation import VERIFIED_LEVEL, Mounts, available_isolation, strip_links, worker_command
from benchmark.manifest import Manifest
from benchmark.proctree import IdleWatch, JobGroup, tree_cpu_seconds, tree_tasks
from benchmark.protocol import (
    PROTOCOL_VERSION,
    OpaqueIds,
    Pipe,
    ProtocolError,
    check_progress,
    check_reply,
    parse_line,
    progress_text,
)
from benchmark.sandbox_types import Limits, SandboxFailure, SandboxStartError

STDERR_TAIL_LINES = 20
HELLO_TIMEOUT_S = 120.0


class SandboxProcess:
    """A worker in a sandboxed child process: one request at a time, every reply checked."""

    heartbeat_s = 60.0
    # Background work: CPU the child's tree uses while no request is outstanding. A quiet window
    # after load/fit/restore (after a settle for thread pools that spin briefly) and the running
    # total between requests (an allowance plus a share of the idle wall time) must stay small.
    quiet_settle_s = 0.3
    quiet_window_s = 0.5
    quiet_allowance_s = 0.15
    idle_allowance_s = 2.0
    idle_share = 0.5

    def __init__(
        self,
        manifest: Manifest,
        submission_dir: Path,
        limits: Limits,
        threads: int,
        isolation: str | None = None,
        gpu: bool = False,
        readable: Sequence[Path] = (),
    ) -> None:
        self.manifest = manifest
        self.threads = threads
        self.submission_dir = submission_dir
        self.limits = limits
        self.isolation = isolation or available_isolation()
        self.gpu = gpu
        self.readable = tuple(readable)
        self.can_fit = False
        self.can_restore = False
        self.proc: subprocess.Popen[bytes] | None = None
        self.group: JobGroup | None = None
        self._private: Path | None = None
        self._stderr: Any = None
        self._deadline = 0.0
        self._seq = 0
        self.ids = OpaqueIds()
        self.watch = IdleWatch(self.cpu_seconds, self._tasks)
        # Called every ``heartbeat_s`` while a request is outstanding, so an hour-long ``fit`` is
        # not a silent hour; it relays the entry's last progress message, else its last stderr line.
        self.heartbeat: Callable[[str], None] | None = None
        self.on_progress: Callable[[dict[str, Any]], None] | None = None
        self.last_progress: dict[str, Any] | None = None
        self.last_round_trip_s = 0.0

    @property
    def verified(self) -> bool:
        """Whether this level hides the host from the entry; below it a record counts as self-run."""
        return self.isolation == VERIFIED_LEVEL

    # -- process management -------------------------------------------------------------
    def start(self, weights_dir: Path) -> None:
        """Start the worker; ``weights_dir`` is the job's private weights folder, the only writable host path."""
        self._private = Path(tempfile.mkdtemp(prefix="greenbench-job-"))
        scratch = self._private / "scratch"
        scratch.mkdir()
        weights_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = self._private / "stderr.log"
        self._stderr = self.stderr_path.open("wb")
        limits = self.limits
        scratch_bytes = min(limits.scratch_bytes, limits.memory_bytes or limits.scratch_bytes)
        self.mounts = Mounts(self.submission_dir.resolve(), weights_dir.resolve(), scratch, scratch_bytes, self.readable)
        cmd, env, cwd = worker_command(self.isolation, self.mounts, self.gpu)
        self.group = JobGroup.create(limits.max_procs, limits.memory_bytes)
        group = self.group

        def limit() -> None:
            if group is not None:
                group.enter()  # before exec: nothing the child starts is ever outside the group
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            if limits.memory_bytes and (group is None or not group.limits_memory):
                resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))

        self._deadline = time.monotonic() + limits.timeout_s
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=cwd,
            preexec_fn=limit,
            start_new_session=True,
        )
        os.set_blocking(self.proc.stdout.fileno(), False)  # type: ignore[union-attr]
        self.pipe = Pipe(self.proc.stdout)
        self._await_hello()

    def restart(self) -> None:
        """A new child for the same job: nothing the old one held (weights in memory, module state,
        threads, files in its scratch) survives. The job's deadline stays where it was."""
        deadline, weights = self._deadline, self.mounts.weights
        self.close()
        self.start(weights)
        self._deadline = deadline

    def _await_hello(self) -> None:
        """The worker greets before any submission code runs, so a failure here is the harness's."""
        try:
            message = self._next_message("start", time.monotonic() + min(HELLO_TIMEOUT_S, self.limits.timeout_s))
            if message["kind"] != "hello" or message["seq"] != 0:
                raise ProtocolError(f"a {message['kind']} message instead of the worker's hello")
        except (SandboxFailure, ProtocolError) as exc:
            tail = self.stderr_tail().splitlines()
            self.close()
            raise SandboxStartError(
                f"the {self.isolation} sandbox could not start the harness's worker "
                f"({tail[-1].strip() if tail else exc}): this is a set-up problem of the harness, not of the "
                f"submission; check that {self.isolation} can run this Python (`greenbench run --sandbox netns` "
                f"to compare) and that bubblewrap is installed with user namespaces allowed"
            ) from None
        self._mark_idle()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self._request("shutdown", {}, deadline=time.monotonic() + 5)
            except (SandboxFailure, UserError):
                pass
        self._kill()
        if self.group is not None:
            self.group.remove()
            self.group = None
        if getattr(self, "mounts", None) is not None:
            strip_links(self.mounts.weights)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None

    def _kill(self) -> None:
        """Everything the child started goes: its process group, then whatever is left in its cgroup."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.group is not None:
            self.group.kill_all()
        self.proc.wait()

    def cpu_seconds(self) -> float | None:
        """CPU seconds of the child's whole process tree so far (cgroup, else /proc), for the meters."""
        if self.group is not None:
            return self.group.cpu_seconds()
        if self.proc is None:
            return None
        return tree_cpu_seconds(self.proc.pid)

    def original_id(self, opaque: str) -> str | None:
        """The public id behind an opaque id the child saw (None for an id the harness never sent)."""
        return self.ids.public.get(opaque)

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        try:
            if self._stderr is not None:
                self._stderr.flush()
            with self.stderr_path.open("rb") as handle:
                handle.seek(max(0, self.stderr_path.stat().st_size - 64 * 1024))
                text = handle.read().decode(errors="replace")
        except (OSError, AttributeError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _heartbeat_message(self, op: str, elapsed_s: float) -> str:
        took = f"{elapsed_s:.0f} s" if elapsed_s < 120 else f"{elapsed_s / 60:.0f} min"
        message = f"      {op} still running: {took}"
        if self.last_progress is not None:
            return f"{message}; {progress_text(self.last_progress)}"
        last = self.stderr_tail().splitlines()
        if last:
            message += f"; submission's last stderr line: {last[-1].strip()[:160]}"
        return message

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- background work ------------------------------------------------------------------
    def _mark_idle(self) -> None:
        self.watch.mark()

    def _tasks(self) -> list[int]:
        if self.group is not None:
            return self.group.tasks()
        return tree_tasks(self.proc.pid) if self.proc is not None else []

    def _check_idle(self, op: str) -> None:
        excess = self.watch.gap_excess(self.idle_allowance_s, self.idle_share)
        if excess:
            self._background(f"{excess}, before {op}")

    def check_quiet(self, after: str) -> None:
        """Fail the run if the child's tree keeps working once ``after`` has returned (kind background-work)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        excess = self.watch.quiet_excess(self.quiet_settle_s, self.quiet_window_s, self.quiet_allowance_s)
        if excess:
            self._background(f"{excess} after {after} returned")

    def _background(self, what: str) -> None:
        self._kill()
        raise SandboxFailure(
            "background-work",
            f"the submission kept working outside a request ({what}): do all work inside load, fit and "
            f"predict, where it is metered; threads and processes must finish before they return",
            self.stderr_tail(),
        )

    # -- protocol -----------------------------------------------------------------------
    def _request(self, op: str, body: dict[str, Any], batch: int = 0, deadline: float | None = None) -> Any:
        """One request and its checked result. Whatever the child does, this raises only SandboxFailure
        (or ManifestError for a load the entry itself refused)."""
        try:
            return self._exchange(op, body, batch, deadline or self._deadline)
        except (SandboxFailure, ManifestError):
            raise
        except ProtocolError as exc:
            self._kill()
            raise SandboxFailure("protocol", f"the submission broke the protocol during {op}: {exc}", "") from None
        except Exception as exc:  # a gap in the checks above must still fail the run, not the harness
            self._kill()
            raise SandboxFailure(
                "protocol", f"the submission's reply to {op} could not be used: {type(exc).__name__}: {exc}", ""
            ) from None

    def _exchange(self, op: str, body: dict[str, Any], batch: int, deadline: float) -> Any:
        assert self.proc is not None and self.proc.stdin is not None
        if self.proc.poll() is not None:
            raise self._died(op)
        self._check_idle(op)
        if not self.pipe.fill() or self.pipe.buffer:
            if self.pipe.buffer:
                raise ProtocolError(f"a message nobody asked for, before the {op} request: {self.pipe.buffer[:60]!r}")
            raise self._died(op)
        self._seq += 1
        self._request_started = time.monotonic()
        sent = time.perf_counter()
        try:
            self.proc.stdin.write(
                (json.dumps({"v": PROTOCOL_VERSION, "seq": self._seq, "op": op, **body}) + "\n").encode()
            )
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died(op) from None
        while True:
            message = self._next_message(op, deadline)
            if message["kind"] == "hello" or message["seq"] != self._seq:
                raise ProtocolError(f"a {message['kind']} message for request {message['seq']}, expected {self._seq}")
            if message["kind"] == "progress":
                self._progress(check_progress(message))
                continue
            break
        self.last_round_trip_s = time.perf_counter() - sent  # the latency clock (ModelHandle.predict_timed)
        reply = check_reply(message, op, batch)
        if self.pipe.buffer:
            raise ProtocolError(f"more data after the reply to {op}: {self.pipe.buffer[:60]!r}")
        self._mark_idle()
        if not reply["ok"]:
            kind = "oom" if reply["type"] == "MemoryError" else "error"
            text = f"{reply['type']}: {reply['error']}"
            if op == "load" and reply["user_error"]:
                raise ManifestError(text)
            raise SandboxFailure(kind, f"submission raised {text} (during {op})", self.stderr_tail())
        return reply["result"]

    def _progress(self, progress: dict[str, Any]) -> None:
        self.last_progress = progress
        if self.on_progress is not None:
            try:
                self.on_progress(dict(progress))
            except Exception:  # the display must not fail the run
                pass

    def _next_message(self, op: str, deadline: float) -> dict[str, Any]:
        started = getattr(self, "_request_started", time.monotonic())
        last_beat = max(started, getattr(self, "_last_beat", started))
        while True:
            now = time.monotonic()
            if self.heartbeat is not None and now - last_beat >= self.heartbeat_s:
                last_beat = self._last_beat = now
                self.heartbeat(self._heartbeat_message(op, now - started))
            if now >= deadline:
                self._kill()
                raise SandboxFailure(
                    "timeout",
                    f"submission exceeded the {self.limits.timeout_s:g} s time limit (during {op})",
                    self.stderr_tail(),
                )
            try:
                raw = self.pipe.line(min(deadline - now, 1.0))
            except EOFError:
                raise self._died(op) from None
            if raw is not None:
                return parse_line(raw)

    def _died(self, op: str) -> SandboxFailure:
        assert self.proc is not None
        partial = bool(self.pipe.buffer)
        code = self.proc.wait()
        if self.group is not None:
            self.group.kill_all()
        tail = self.stderr_tail()
        last = "\n".join(tail.splitlines()[-3:])
        said = f"; its last stderr lines:\n{last}" if last else "; it wrote nothing to stderr"
        if partial:
            return SandboxFailure(
                "protocol", f"the child exited (code {code}) after a partial message during {op}", tail
            )
        if (self.group is not None and self.group.memory_failures()) or code in (-signal.SIGKILL, 128 + signal.SIGKILL):
            return SandboxFailure("oom", f"the child was killed (SIGKILL) during {op}, most likely out of memory", tail)
        return SandboxFailure("crash", f"the child exited with code {code} during {op}{said}", tail)
