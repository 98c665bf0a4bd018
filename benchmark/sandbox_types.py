"""What a sandboxed job is limited to, and how it fails: shared by the sandbox and the harness's callers."""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.errors import UserError


@dataclass(frozen=True)
class Limits:
    timeout_s: float
    memory_bytes: int | None
    scratch_bytes: int = 1 << 30  # the child's /tmp (a tmpfs: it is memory, and the cgroup charges it)
    max_procs: int = 512  # tasks, threads included (torch starts one per core)
    file_bytes: int = 8 << 30  # any one file the child writes, weights and its stderr log included


class SandboxFailure(Exception):
    """The child crashed, hung, ran out of memory, raised or misbehaved: the run is recorded as failed."""

    def __init__(self, kind: str, reason: str, stderr_tail: str = "") -> None:
        super().__init__(reason)
        self.kind = kind  # timeout, oom, crash, error, protocol, background-work
        self.reason = reason
        self.stderr_tail = stderr_tail


class SandboxStartError(UserError):
    """The sandbox itself could not start the worker: a set-up problem of the harness, not the entry's."""


def limits_from(timeout_s: float | None, memory_gb: float | None) -> Limits:
    if timeout_s is not None and timeout_s <= 0:
        raise UserError(f"--timeout must be a positive number of seconds, got {timeout_s:g}")
    if memory_gb is not None and memory_gb <= 0:
        raise UserError(f"--memory-gb must be a positive number, got {memory_gb:g}")
    return Limits(float(timeout_s or 3600.0), int(memory_gb * 1024**3) if memory_gb else None)
