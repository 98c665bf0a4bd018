"""Shared by the hostile entries (copied next to each): reach the worker's protocol pipe and probe paths."""

from __future__ import annotations

import gc
import os
from pathlib import Path


def worker():
    """The harness's Worker object in this process: the entry can find it, so it can forge messages."""
    for obj in gc.get_objects():
        if type(obj).__name__ == "Worker" and hasattr(obj, "protocol"):
            return obj
    raise RuntimeError("no worker found")


def forge(data: bytes | str) -> None:
    """Write raw bytes onto the protocol pipe, as a hostile entry can."""
    w = worker()
    w.protocol.flush()
    os.write(w.protocol.fileno(), data.encode() if isinstance(data, str) else data)


def isolated(ctx) -> bool:
    """Whether this entry runs at the isolated level (its own mount and pid namespaces). The mount,
    umount and kill attacks are attempted only there: below it they would hit the real host."""
    return str(ctx.submission_dir) == "/run/greenbench/submission" and os.getpid() == 1


def readable(paths) -> list[str]:
    """Which of ``paths`` this process can open and read a byte of."""
    found = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                handle.read(1)
            found.append(str(path))
        except OSError:
            pass
    return found


def writable(paths) -> list[str]:
    """Which of ``paths`` this process could write, proven without changing them: an existing file is
    opened for appending and closed unwritten, a missing one created exclusively and removed at once.
    (A test run below the isolated level must not damage the host it can reach.)"""
    found = []
    for path in map(str, paths):
        try:
            if os.path.lexists(path):
                os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
            else:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                os.unlink(path)
            found.append(path)
        except OSError:
            pass
    return found


def walk_for(names: set[str], start: Path, max_files: int = 200_000) -> list[str]:
    """Files named in ``names`` anywhere under each parent of ``start``."""
    found: list[str] = []
    seen = 0
    for parent in [start, *start.parents]:
        for root, _dirs, files in os.walk(parent):
            seen += len(files)
            found += [os.path.join(root, f) for f in files if f in names]
            if seen > max_files or len(found) > 20:
                return sorted(set(found))
    return sorted(set(found))


class Base:
    """An entry that reports what its attack reached through diagnostics()."""

    def __init__(self, **params) -> None:
        self.params = params
        self.leaked: list[str] = []

    def load(self, ctx) -> None:
        self.ctx = ctx

    def predict(self, batch):
        return [0] * len(batch)

    def diagnostics(self):
        return {"leaked": self.leaked}
