"""Build a predictor from a manifest: a ``python`` entry's class, or the harness's own loader for
``kind: hf``. Kept apart from ``benchmark.predictor`` (the protocol) so that module stays at the
bottom and ``hf_predictor`` can use it without an import cycle."""

from __future__ import annotations

from pathlib import Path

from benchmark.hf_predictor import HFPredictor
from benchmark.manifest import Manifest
from benchmark.predictor import Predictor, load_python_predictor


def load_predictor(manifest: Manifest, submission_dir: Path) -> Predictor:
    if manifest.kind == "python":
        return load_python_predictor(manifest, submission_dir)
    from benchmark.hub.models import resolve_model  # a folder as it is, a Hub id at its pinned commit

    resolved = resolve_model(manifest, submission_dir)
    return HFPredictor(str(resolved.path), max_length=manifest.max_length)
