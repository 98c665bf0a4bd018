"""Import a reference entry's modules the way the harness does: its folder as its own package, so
relative imports (``from .model import X``) work and two entries' ``model.py`` never collide."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from benchmark.manifest import load_manifest
from benchmark.predictor import load_python_predictor, package_name

SUBMISSIONS = Path(__file__).resolve().parent.parent / "submissions"


def entry_module(entry: str, module: str = "predictor") -> ModuleType:
    """``module`` of submissions/<entry>, imported through the harness's own loader."""
    folder = SUBMISSIONS / entry
    manifest = load_manifest(folder)
    load_python_predictor(manifest, folder)  # imports the folder as its package, afresh
    return importlib.import_module(f"{package_name(manifest)}.{module}")
