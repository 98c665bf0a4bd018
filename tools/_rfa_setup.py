"""Shared set-up of the rfa diagnostics: import paths, threads and the Hyperpartisan data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    return p


def hyperpartisan(data_dir: str) -> tuple[Any, Any]:
    """(task, data) with the harness and the rfa entry importable and the profile's 2 threads."""
    import torch

    for path in (ROOT, ROOT / "submissions" / "rfa"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from tasks import get_task

    torch.set_num_threads(2)
    task = get_task("hyperpartisan")
    return task, task.load(Path(data_dir))
