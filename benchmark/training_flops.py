"""Training FLOPs without putting the counter on the timed, metered fit.

``FlopCounterMode`` slows every op it sees, so a fit run under it has the wrong wall time and
energy. The harness therefore counts FLOPs on a separate, smaller fit and meters the real fit
with no counter attached. Method (recorded with every figure): a counted fit on a seeded sample
of ``TRAIN_FLOPS_SAMPLE`` training instances (and the same fraction of dev), scaled by
n_train / n_sample, i.e. per-instance FLOPs x instances. That assumes training cost is linear
in the number of instances (a fixed number of epochs or full-batch iterations); an entry with a
fixed step budget is over-counted. With at most ``TRAIN_FLOPS_SAMPLE`` instances the whole fit
is counted (exact), at the price of fitting twice. The counted fit runs first; then the harness
resets the model (``ModelHandle.fresh``: a new sandboxed child) so the real fit starts from the
loaded model, as a job without the counter would, and leaves the weights the accuracy pass uses.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.flops import count_flops
from tasks.base import Instance

TRAIN_FLOPS_SAMPLE = 256


@dataclass(frozen=True)
class TrainingFlops:
    estimate: float
    counted: int
    n_counted: int
    n_train: int
    scale: float
    method: str


def _sample(items: Sequence[Instance], k: int, seed: int) -> list[Instance]:
    if k >= len(items):
        return list(items)
    keep = sorted(random.Random(seed).sample(range(len(items)), k))
    return [items[i] for i in keep]


def _counted_fit(predictor: Any, train: Sequence[Instance], dev: Sequence[Instance]) -> int:
    if hasattr(predictor, "fit_with_flops"):
        return int(predictor.fit_with_flops(train, dev) or 0)
    return count_flops(lambda: predictor.fit(train, dev))


def sampled_training_flops(
    predictor: Any,
    train: Sequence[Instance],
    dev: Sequence[Instance],
    sample: int = TRAIN_FLOPS_SAMPLE,
    seed: int = 0,
) -> TrainingFlops:
    """FLOPs of ``fit(train, dev)``, counted on a sample (see the module docstring)."""
    n = len(train)
    if n == 0:
        return TrainingFlops(0.0, 0, 0, 0, 1.0, "no training instances")
    if n <= sample:
        counted = _counted_fit(predictor, train, dev)
        return TrainingFlops(float(counted), counted, n, n, 1.0, "counted on a full fit (torch FlopCounterMode)")
    part = _sample(train, sample, seed)
    dev_part = _sample(dev, math.ceil(len(dev) * sample / n), seed) if dev else []
    counted = _counted_fit(predictor, part, dev_part)
    scale = n / sample
    method = (
        f"per instance x instances: a counted fit on a seeded sample of {sample} of {n} training instances "
        f"(torch FlopCounterMode) x {scale:.3g}; assumes cost linear in instances"
    )
    return TrainingFlops(counted * scale, counted, sample, n, scale, method)
