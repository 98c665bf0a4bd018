"""The predictor protocol a submission implements, and how the harness loads one.

The harness owns batching, device placement, timing and metering; a predictor only loads,
predicts a batch of label-free instances and, if it trains, fits on a train split.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from benchmark.errors import ManifestError, UserError
from benchmark.manifest import Manifest
from tasks.base import Instance, TaskInfo


@dataclass(frozen=True)
class PredictorContext:
    """What the harness tells a predictor when loading it."""

    task: TaskInfo
    device: str  # "cpu" or "cuda"
    dtype: str  # "float32", "bfloat16" or "float16"
    seed: int
    submission_dir: Path
    cache_dir: Path  # for trained weights: outside the repo, keyed by the predictor itself

    def weights_path(self, entry: str, config: Mapping[str, Any], train: Sequence[Instance], name: str) -> Path:
        """Where trained weights for this exact training job live, so a rerun can reuse them.

        The key covers everything that changes the weights: the predictor's config, the seed, the
        task and the ids of the training instances in order. Two runs that differ only in how they
        are evaluated (a threshold, a limit) share the file.
        """
        key = json.dumps(
            {
                **config,
                "seed": self.seed,
                "task": self.task.name,
                "ids": hashlib.sha256("\n".join(inst.id for inst in train).encode()).hexdigest(),
            },
            sort_keys=True,
        )
        return self.cache_dir / entry / hashlib.sha256(key.encode()).hexdigest()[:16] / name


@runtime_checkable
class Predictor(Protocol):
    def load(self, ctx: PredictorContext) -> None: ...

    def predict(self, batch: Sequence[Instance]) -> Sequence[int]:
        """One label index per instance, in order. Instances carry no gold label."""
        ...


@runtime_checkable
class TrainablePredictor(Predictor, Protocol):
    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        """Train on labelled instances; ``dev`` may be empty when the task has no held-out split."""
        ...


def load_python_predictor(manifest: Manifest, submission_dir: Path) -> Predictor:
    """Import ``module:Class`` from the submission folder and build it with the manifest's params."""
    assert manifest.entry_point is not None
    module_name, class_name = manifest.entry_point.split(":")
    module_file = submission_dir / (module_name.replace(".", "/") + ".py")
    package_init = submission_dir / module_name.replace(".", "/") / "__init__.py"
    if not module_file.is_file() and not package_init.is_file():
        raise ManifestError(
            f"entry_point {manifest.entry_point!r}: no {module_file.name} in {submission_dir}: "
            f"point entry_point at a module file inside the submission folder"
        )
    root = str(submission_dir.resolve())
    sys.path.insert(0, root)
    # A module of the same name from another submission must not be reused.
    for cached in [m for m in sys.modules if m == module_name or m.startswith(module_name + ".")]:
        del sys.modules[cached]
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ManifestError(
            f"entry_point {manifest.entry_point!r}: importing {module_name} failed with "
            f"{type(exc).__name__}: {exc}: fix the submission's module"
        ) from exc
    finally:
        if sys.path and sys.path[0] == root:
            sys.path.pop(0)
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


def load_predictor(manifest: Manifest, submission_dir: Path) -> Predictor:
    if manifest.kind == "python":
        return load_python_predictor(manifest, submission_dir)
    from benchmark.hf_predictor import HFPredictor

    assert manifest.model is not None
    local = submission_dir / manifest.model
    model_ref = str(local) if local.is_dir() else manifest.model
    return HFPredictor(model_ref, max_length=manifest.max_length)


def can_fit(predictor: Predictor) -> bool:
    """A sandboxed predictor knows from its child whether the entry trains (``can_fit``)."""
    declared = getattr(predictor, "can_fit", None)
    if isinstance(declared, bool):
        return declared
    return callable(getattr(predictor, "fit", None))


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
