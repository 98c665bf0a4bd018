"""The predictor protocol a submission implements, and how the harness loads one.

The harness owns batching, device placement, timing and metering; a predictor only loads,
predicts a batch of label-free instances and, if it trains, fits on a train split.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from benchmark.errors import ManifestError, UserError
from benchmark.manifest import Manifest
from tasks.base import Instance, TaskInfo


@dataclass(frozen=True)
class PredictorContext:
    """What the harness tells a predictor when loading it.

    ``weights_dir`` is this job's private folder for trained weights. The harness picks it (from
    the entry's name, code digest, training params, seed, task and training ids) and decides
    whether ``fit`` or ``restore`` runs, so an entry never builds cache keys, never sees another
    entry's weights and cannot claim a cache hit it did not have.
    """

    task: TaskInfo
    device: str  # "cpu" or "cuda"
    dtype: str  # "float32", "bfloat16" or "float16"
    seed: int
    submission_dir: Path
    weights_dir: Path
    progress: Callable[[dict[str, Any]], None] | None = None

    def report_progress(self, step: int, total: int, loss: float | None = None, note: str = "") -> None:
        """Training progress for the harness's bar and heartbeat (step n of N, a loss)."""
        if self.progress is not None:
            self.progress({"step": int(step), "total": int(total), "loss": loss, "note": str(note)[:200]})


@runtime_checkable
class Predictor(Protocol):
    def load(self, ctx: PredictorContext) -> None: ...

    def predict(self, batch: Sequence[Instance]) -> Sequence[int]:
        """One label index per instance, in order. Instances carry no gold label."""
        ...


def package_name(manifest: Manifest) -> str:
    """The package an entry's folder is imported as: its own name, so two entries that both have
    a ``model.py`` never share a module, and ``from .model import X`` works inside an entry."""
    return "greenbench_entry_" + re.sub(r"[^a-z0-9_]", "_", manifest.name)


def _import_entry_module(package: str, folder: Path, module_name: str) -> Any:
    for cached in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[cached]  # a fresh import: the folder's code as it is now
    spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
    spec.submodule_search_locations = [str(folder)]
    sys.modules[package] = importlib.util.module_from_spec(spec)
    return importlib.import_module(f"{package}.{module_name}")


def load_python_predictor(manifest: Manifest, submission_dir: Path) -> Predictor:
    """Import ``module:Class`` from the submission folder (as a package) and build it with the params."""
    assert manifest.entry_point is not None
    module_name, class_name = manifest.entry_point.split(":")
    module_file = submission_dir / (module_name.replace(".", "/") + ".py")
    package_init = submission_dir / module_name.replace(".", "/") / "__init__.py"
    if not module_file.is_file() and not package_init.is_file():
        raise ManifestError(
            f"entry_point {manifest.entry_point!r}: no {module_file.name} in {submission_dir}: "
            f"point entry_point at a module file inside the submission folder"
        )
    try:
        module = _import_entry_module(package_name(manifest), submission_dir.resolve(), module_name)
    except Exception as exc:
        raise ManifestError(
            f"entry_point {manifest.entry_point!r}: importing {module_name} failed with "
            f"{type(exc).__name__}: {exc}: fix the submission's module (helper modules are imported "
            f"relatively: from .model import X)"
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None or not isinstance(cls, type):
        raise ManifestError(
            f"entry_point {manifest.entry_point!r}: {module_name} defines no class {class_name}: check the class name"
        )
    try:
        predictor: Any = cls(**manifest.params)
    except TypeError as exc:
        raise ManifestError(f"entry_point {manifest.entry_point!r}: params do not fit {class_name}(): {exc}") from exc
    missing = [m for m in ("load", "predict") if not callable(getattr(predictor, m, None))]
    if missing:
        raise ManifestError(
            f"entry_point {manifest.entry_point!r}: {class_name} lacks {', '.join(missing)}: implement the "
            f"predictor protocol (load(ctx), predict(batch), optional fit(train, dev))"
        )
    return predictor


def can_fit(predictor: Any) -> bool:
    """A sandboxed predictor knows from its child whether the entry trains (``can_fit``)."""
    declared = getattr(predictor, "can_fit", None)
    if isinstance(declared, bool):
        return declared
    return callable(getattr(predictor, "fit", None))


def can_restore(predictor: Any) -> bool:
    """Whether the entry can reload weights a previous job trained (``restore()``)."""
    declared = getattr(predictor, "can_restore", None)
    if isinstance(declared, bool):
        return declared
    return callable(getattr(predictor, "restore", None))


class PredictionError(UserError):
    """The submission returned predictions that cannot be scored: its run fails."""


def validate_predictions(raw: object, expected: int, n_labels: int, where: str) -> list[int]:
    """The predictor's output is untrusted: check count, type and range before anything is scored."""

    try:
        values = list(raw)  # type: ignore[call-overload]
    except TypeError:
        raise PredictionError(
            f"{where}: predict returned {type(raw).__name__}, not a sequence of label indices"
        ) from None
    if len(values) != expected:
        raise PredictionError(f"{where}: predict returned {len(values)} predictions for a batch of {expected}")
    out = []
    for value in values:
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, int):
            raise PredictionError(f"{where}: prediction {value!r} is not an integer label index")
        if not 0 <= value < n_labels:
            raise PredictionError(f"{where}: prediction {value} is outside the task's labels 0..{n_labels - 1}")
        out.append(value)
    return out
