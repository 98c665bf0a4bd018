"""Contain and account for every process a submission starts.

A per-job cgroup (v1: one group per controller, nested under the harness's own group) gives a
process cap (``pids.max``), a memory cap that also charges tmpfs pages, the job's own CPU time
(``cpuacct.usage``, which counts daemons and threads however they were started) and a clean kill
of everything in it. Where no cgroup can be made, the CPU time is summed over the process tree
from /proc, which a daemon that re-parents itself escapes: the weaker levels say so.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("pids", "memory", "cpuacct")
_counter = itertools.count()


def _own_group(controller: str) -> Path | None:
    """Where this process sits in ``controller``'s hierarchy, from /proc/self/cgroup."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and controller in parts[1].split(","):
            return CGROUP_ROOT / controller / parts[2].lstrip("/")
    return None


def _remove_stale(parent: Path) -> None:
    """Empty groups left by a harness that was killed (atexit never ran): rmdir fails on a busy one."""
    for group in parent.glob("greenbench-*-*"):
        owner = group.name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            with contextlib.suppress(OSError):
                group.rmdir()


class JobGroup:
    """One job's cgroups. ``create`` returns None where cgroups cannot be made (not root, v2 only)."""

    def __init__(self, paths: dict[str, Path], limits_memory: bool = False) -> None:
        self.paths = paths
        self.limits_memory = limits_memory  # else the caller falls back to RLIMIT_AS
        atexit.register(self.remove)  # a harness that dies mid-job leaves no group behind

    @classmethod
    def create(cls, max_procs: int, memory_bytes: int | None) -> JobGroup | None:
        name = f"greenbench-{os.getpid()}-{next(_counter)}"
        paths: dict[str, Path] = {}
        try:
            for controller in CONTROLLERS:
                parent = _own_group(controller)
                if parent is None or not parent.is_dir():
                    raise OSError(f"no {controller} cgroup")
                _remove_stale(parent)
                (parent / name).mkdir()
                paths[controller] = parent / name
            (paths["pids"] / "pids.max").write_text(str(max_procs))
            if memory_bytes:
                (paths["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
                swap = paths["memory"] / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    swap.write_text(str(memory_bytes))
        except OSError:
            for path in paths.values():
                with contextlib.suppress(OSError):
                    path.rmdir()
            return None
        return cls(paths, bool(memory_bytes))

    def enter(self) -> None:
        """Called in the child between fork and exec, so nothing it starts is ever outside."""
        for path in self.paths.values():
            (path / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.paths["pids"] / "cgroup.procs").read_text().split()]
        except (OSError, ValueError, KeyError):
            return []

    def tasks(self) -> list[int]:
        """Every thread of every process in the group (cgroup v1 ``tasks``)."""
        try:
            return [int(p) for p in (self.paths["pids"] / "tasks").read_text().split()]
        except (OSError, ValueError, KeyError):
            return []

    def cpu_seconds(self) -> float | None:
        try:
            return int((self.paths["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError, KeyError):
            return None

    def memory_failures(self) -> int:
        """How many processes the kernel's OOM killer took in this group (failcnt on old kernels)."""
        try:
            for line in (self.paths["memory"] / "memory.oom_control").read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
            return int((self.paths["memory"] / "memory.failcnt").read_text())
        except (OSError, ValueError, KeyError, IndexError):
            return 0

    def kill_all(self, timeout_s: float = 10.0) -> bool:
        """SIGKILL until the group is empty: a fork loop cannot outrun it under ``pids.max``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                return True
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.05)
        return not self.pids()

    def remove(self) -> None:
        atexit.unregister(self.remove)
        if self.pids():
            self.kill_all()
        for path in self.paths.values():
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)  # the last killed task is still being reaped


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses


def tree_pids(root: int) -> list[int]:
    """``root`` and its live descendants, from the ppid of every process in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu_seconds(root: int) -> float | None:
    """utime + stime of each live process, plus what its reaped children used (cutime + cstime)."""
    total = 0
    seen = False
    for pid in tree_pids(root):
        fields = _stat(pid)
        if fields:
            seen = True
            total += sum(int(f) for f in fields[11:15])
    return total / TICKS if seen else None


def tree_tasks(root: int) -> list[int]:
    """Every thread of ``root``'s process tree, from /proc."""
    found = []
    for pid in tree_pids(root):
        try:
            found += [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
    return found


def any_runnable(tasks: list[int]) -> bool:
    """Whether one of ``tasks`` is running or waiting for a CPU (state R) right now. Unlike CPU time,
    this does not depend on how busy the machine is: a spinning thread is R even when starved."""
    for tid in tasks:
        fields = _stat(tid)
        if fields and fields[0] == "R":
            return True
    return False


@dataclass
class IdleWatch:
    """Work the child's tree does while no request is outstanding, which no meter sees. ``cpu`` and
    ``tasks`` read the tree (cgroup or /proc); each check returns what it found, or None."""

    cpu: Callable[[], float | None]
    tasks: Callable[[], list[int]]
    idle_cpu_s: float = 0.0
    idle_wall_s: float = 0.0
    since: tuple[float, float] | None = None  # (wall, cpu) when the last reply came

    def mark(self) -> None:
        cpu = self.cpu()
        self.since = (time.monotonic(), cpu) if cpu is not None else None

    def gap_excess(self, allowance_s: float, share: float) -> str | None:
        """CPU summed over every gap between requests, against an allowance plus a share of the gaps."""
        cpu = self.cpu()
        if self.since is None or cpu is None:
            return None
        self.idle_cpu_s += max(0.0, cpu - self.since[1])
        self.idle_wall_s += time.monotonic() - self.since[0]
        if self.idle_cpu_s > allowance_s + share * self.idle_wall_s:
            return f"{self.idle_cpu_s:.2f} CPU s between requests"
        return None

    def quiet_excess(self, settle_s: float, window_s: float, allowance_s: float, samples: int = 10) -> str | None:
        """After a settle (thread pools spin briefly), a task runnable in most samples of the window,
        or CPU time over the allowance."""
        time.sleep(settle_s)
        before, runnable = self.cpu(), 0
        for _ in range(samples):
            runnable += any_runnable(self.tasks())
            time.sleep(window_s / samples)
        after = self.cpu()
        used = after - before if before is not None and after is not None else 0.0
        self.mark()
        if runnable > samples // 2 or used > allowance_s:
            return f"{used:.2f} CPU s, a thread runnable in {runnable} of {samples} samples, in the {window_s:g} s"
        return None
