"""Shared set-up of the rfa diagnostics: import paths, threads and the Hyperpartisan data."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    return p


def hyperpartisan(data_dir: str) -> tuple[Any, Any]:
    """(task, data) with the harness importable and the profile's 2 threads."""
    import torch

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tasks import get_task

    torch.set_num_threads(2)
    task = get_task("hyperpartisan")
    return task, task.load(Path(data_dir))


def entry_module(module: str) -> ModuleType:
    """A module of the rfa entry, imported as the harness imports it (the folder as a package,
    so the entry's relative imports work). Call after ``hyperpartisan``, which sets the path."""
    from benchmark.manifest import load_manifest
    from benchmark.predictor import load_python_predictor, package_name

    folder = ROOT / "submissions" / "rfa"
    manifest = load_manifest(folder)
    load_python_predictor(manifest, folder)
    return importlib.import_module(f"{package_name(manifest)}.{module}")
