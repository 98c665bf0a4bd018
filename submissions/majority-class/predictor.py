"""The majority-class baseline: no model, no torch, near-zero cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from benchmark.entry import Instance, PredictorContext


class MajorityClass:
    def __init__(self) -> None:
        self.label = 0

    def load(self, ctx: PredictorContext) -> None:
        self.ctx = ctx

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        counts = Counter(inst.label for inst in train if inst.label is not None)
        # Ties go to the lowest label index, so the entry is deterministic.
        self.label = min(counts, key=lambda lab: (-counts[lab], lab)) if counts else 0

    def predict(self, batch: Sequence[Instance]) -> list[int]:
        return [self.label] * len(batch)
