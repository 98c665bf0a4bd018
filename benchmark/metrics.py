"""Quality metrics, computed offline, and the one metric table every reader shares.

``evaluate.load('accuracy')`` needs the Hub, so the scores are computed here with numpy and
tested against scikit-learn. ``METRICS`` is the single place that says what a figure means, its
unit and which direction is better; the leaderboard reads it, never the runner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    description: str


_SPECS = [
    MetricSpec("accuracy", "Accuracy", "fraction", True, "Share of eval instances predicted right."),
    MetricSpec("macro_f1", "Macro-F1", "fraction", True, "Unweighted mean of per-class F1."),
    MetricSpec("f1_positive", "F1 (positive class)", "fraction", True, "F1 of the task's positive label."),
    MetricSpec(
        "inference_flops_per_instance",
        "Inference FLOPs / instance",
        "FLOP",
        False,
        "Mean floating-point operations per eval instance on the executed path.",
    ),
    MetricSpec("latency_ms_p50", "Latency p50 (batch 1)", "ms", False, "Median batch-1 latency."),
    MetricSpec("latency_ms_p90", "Latency p90 (batch 1)", "ms", False, "90th percentile batch-1 latency."),
    MetricSpec("latency_ms_p99", "Latency p99 (batch 1)", "ms", False, "99th percentile batch-1 latency."),
    MetricSpec(
        "throughput_instances_per_s",
        "Throughput",
        "instances/s",
        True,
        "Instances per second at the profile's batch size.",
    ),
    MetricSpec(
        "energy_kwh_per_1k",
        "Energy / 1k instances",
        "kWh",
        False,
        "Active (idle-subtracted) energy of the metered eval pass per 1,000 instances.",
    ),
    MetricSpec(
        "co2e_kg_per_1k",
        "CO2e / 1k instances",
        "kg",
        False,
        "Energy per 1k instances x grid intensity of the run's region x PUE.",
    ),
    MetricSpec("training_flops", "Training FLOPs", "FLOP", False, "FLOPs of the training the harness ran."),
    MetricSpec("training_energy_kwh", "Training energy", "kWh", False, "Energy of the training the harness ran."),
    MetricSpec("training_co2e_kg", "Training CO2e", "kg", False, "CO2e of the training the harness ran."),
]
METRICS: dict[str, MetricSpec] = {spec.key: spec for spec in _SPECS}


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
