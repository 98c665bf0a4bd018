"""Quality metrics, computed offline.

``evaluate.load('accuracy')`` needs the Hub, so the scores are computed here with numpy and
tested against scikit-learn. What a headline figure means, its unit and which direction is
better lives in ``benchmark.metric_table``; ``METRICS`` here is that table keyed by name, kept
for readers that index it by key.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmark.metric_table import METRICS as _TABLE
from benchmark.metric_table import Metric

MetricSpec = Metric  # the old name of a table row
METRICS: dict[str, Metric] = {m.key: m for m in _TABLE}


def accuracy(gold: Sequence[int], pred: Sequence[int]) -> float:
    g, p = np.asarray(gold), np.asarray(pred)
    return float((g == p).mean()) if len(g) else float("nan")


def f1_for_label(gold: Sequence[int], pred: Sequence[int], label: int) -> float:
    g, p = np.asarray(gold) == label, np.asarray(pred) == label
    tp = float(np.sum(g & p))
    denom = float(np.sum(g) + np.sum(p))
    return 2 * tp / denom if denom else 0.0


def macro_f1(gold: Sequence[int], pred: Sequence[int], n_labels: int) -> float:
    """Mean F1 over labels present in gold or predictions (scikit-learn's default label set)."""
    present = sorted(set(np.asarray(gold).tolist()) | set(np.asarray(pred).tolist()))
    labels = [lab for lab in present if 0 <= lab < n_labels] or list(range(n_labels))
    return float(np.mean([f1_for_label(gold, pred, lab) for lab in labels]))


def bootstrap_ci(
    correct: Sequence[bool] | np.ndarray, n_resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of a 0/1 vector (accuracy)."""
    values = np.asarray(correct, dtype=np.float64)
    if values.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, values.size, size=(n_resamples, values.size))
    means = values[idx].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def score_eval_set(
    gold: Sequence[int], pred: Sequence[int], n_labels: int, positive_label: int | None, multiple_choice: bool
) -> dict[str, float | int]:
    """The quality block of one eval set in ``metrics.json``.

    Multi-class tasks add macro-F1, binary tasks the F1 of their positive label (the figure
    papers publish); for multiple choice, F1 over option positions means nothing, so only accuracy.
    """
    correct = np.asarray(gold) == np.asarray(pred)
    low, high = bootstrap_ci(correct)
    out: dict[str, float | int] = {
        "n": len(gold),
        "accuracy": accuracy(gold, pred),
        "accuracy_ci95_low": low,
        "accuracy_ci95_high": high,
    }
    if multiple_choice:
        return out
    if n_labels > 2 or positive_label is None:
        out["macro_f1"] = macro_f1(gold, pred, n_labels)
    if positive_label is not None:
        out["f1_positive"] = f1_for_label(gold, pred, positive_label)
    return out
