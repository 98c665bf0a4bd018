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
    found = []
    for path in paths:
        try:
            with open(path, "a") as handle:
                handle.write("pwned\n")
            found.append(str(path))
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
