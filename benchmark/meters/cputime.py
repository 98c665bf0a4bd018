"""CPU seconds spent by one process tree: what the estimate meter charges for.

Machine-wide utilisation charges the job for its neighbours' work on a shared machine (the idle
baseline read anywhere from 1% to 98% of the declared power), so the estimate counts only the
CPU time of the job's own processes: the harness and every descendant (the sandboxed child,
its threads, tokenizer workers). Each process contributes utime + stime, plus cutime + cstime
for children it has already reaped, so a helper that exits inside a window is still counted.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

PROC = Path("/proc")
CpuTimeSource = Callable[[], float]


def _ticks() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError, AttributeError):
        return 100


def _stat_fields(pid: int, proc: Path) -> list[str] | None:
    """The fields after the command name: the name may hold spaces and parentheses."""
    try:
        text = (proc / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    _, _, rest = text.rpartition(")")
    fields = rest.split()
    return fields if len(fields) >= 15 else None


def _children(pid: int, proc: Path) -> list[int] | None:
    """Direct children from /proc/<pid>/task/*/children; None where the kernel lacks that file."""
    out: list[int] = []
    try:
        tasks = list((proc / str(pid) / "task").iterdir())
    except OSError:
        return []
    for task in tasks:
        try:
            out.extend(int(v) for v in (task / "children").read_text().split())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            continue
    return out


def _all_parents(proc: Path) -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name), proc)
        if fields is not None:
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def descendants(root: int, proc: Path = PROC) -> list[int]:
    """``root`` and every live process below it."""
    seen, stack, full = [root], [root], None
    while stack:
        pid = stack.pop()
        kids = _children(pid, proc) if full is None else full.get(pid, [])
        if kids is None:  # no children files: one scan of /proc gives the whole tree
            full = _all_parents(proc)
            kids = full.get(pid, [])
        for kid in kids:
            if kid not in seen:
                seen.append(kid)
                stack.append(kid)
    return seen


def tree_cpu_seconds(root: int | None = None, proc: Path = PROC) -> float:
    """CPU seconds (user + system) of ``root`` (default: this process) and its descendants.

    /proc counts in clock ticks (10 ms); for this process itself the nanosecond process clock is
    used instead (all its threads, exited ones included), so a short window of in-process work
    is not rounded to a few ticks.
    """
    own = os.getpid()
    root = own if root is None else root
    ticks = 0
    seconds = 0.0
    for pid in descendants(root, proc):
        fields = _stat_fields(pid, proc)
        if fields is None:
            continue
        if pid == own and proc == PROC:
            seconds += time.process_time()
            ticks += int(fields[13]) + int(fields[14])  # reaped children: cutime, cstime
        else:
            ticks += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return seconds + ticks / _ticks()


def _rusage_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def own_tree_source(proc: Path = PROC) -> CpuTimeSource:
    """This process tree from /proc; getrusage (self + reaped children) where /proc is missing."""
    if (proc / str(os.getpid()) / "stat").is_file():
        pid = os.getpid()
        return lambda: tree_cpu_seconds(pid, proc)
    return _rusage_seconds


def summed(*sources: CpuTimeSource) -> CpuTimeSource:
    """Several trees as one (the harness's and a child's that is not its descendant)."""
    return lambda: sum(source() for source in sources)
