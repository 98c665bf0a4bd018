"""The harness-owned weight cache: which folder a job's trained weights live in, and what they cost.

An entry used to decide for itself whether it trained or loaded a cache, and the record believed
it, so any entry could hide its training cost. Now the key is the harness's (entry name, code
digest, training params, seed, task, train config, data identity and the training ids in order),
the harness decides whether ``fit`` or ``restore`` runs, and the price tag of the run that trained
is stored beside the weights, so a run that reuses them carries that cost as shared, never as free.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.spec import JobSpec, canonical_json
from tasks.base import Instance

CACHE_ENV = "GREENBENCH_CACHE"
TRAINING_FILE = "greenbench-training.json"  # written by the harness after a fit, never by the entry


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "greenbench") / "weights"


@dataclass(frozen=True)
class WeightSlot:
    """One training identity's folder. ``dir`` is what the entry sees as ``ctx.weights_dir``."""

    key: str
    dir: Path

    def cached_training(self) -> dict[str, Any] | None:
        """The training block of the job that filled this slot, or None if nothing complete is here."""
        path = self.dir / TRAINING_FILE
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) and isinstance(value.get("training"), dict) else None

    def remember(self, training: dict[str, Any], job_key: str) -> None:
        """After a successful fit: the slot is complete, and this is what filling it cost."""
        tmp = self.dir / f".{TRAINING_FILE}.tmp"
        tmp.write_text(json.dumps({"job_key": job_key, "training": training}, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.dir / TRAINING_FILE)

    def clear(self) -> None:
        """Before a fit: whatever a failed or older fit left must not be taken as finished."""
        (self.dir / TRAINING_FILE).unlink(missing_ok=True)


def training_ids_digest(train: Iterable[Instance]) -> str:
    return hashlib.sha256("\n".join(inst.id for inst in train).encode()).hexdigest()


# How the harness trains, as far as it shapes the weights. 2: the real fit starts from a freshly
# loaded model after the counted sample fit (before, it continued from the sample's weights), so
# weights cached under 1 are never restored.
TRAINING_PROCEDURE = 2


def weights_key(spec: JobSpec, train: Sequence[Instance], eval_params: Sequence[str]) -> str:
    """What changes the trained weights. Params the entry declares evaluation-only (an early-exit
    threshold) are left out, so one training serves a threshold sweep."""
    identity = {
        "submission": spec.submission,
        "code_sha256": spec.code_sha256,
        "params": {k: v for k, v in spec.params.items() if k not in set(eval_params)},
        "model_revision": spec.model_revision,
        "seed": spec.seed,
        "task": spec.task,
        "train_config": spec.train_config,
        "data": spec.data,
        "train_ids": training_ids_digest(train),
        "device": spec.profile.get("device"),
        "precision": spec.profile.get("precision"),
        "procedure": TRAINING_PROCEDURE,
    }
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()


def slot_for(spec: JobSpec, train: Sequence[Instance], eval_params: Sequence[str], root: Path | None = None) -> WeightSlot:
    key = weights_key(spec, train, eval_params)
    folder = (root or cache_root()) / spec.submission / key[:24]
    folder.mkdir(parents=True, exist_ok=True)
    return WeightSlot(key, folder)
