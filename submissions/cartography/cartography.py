"""Dataset Cartography (Swayamdipta et al., EMNLP 2020): training dynamics, subsets, the data map.

Training dynamics are the gold-label probabilities from the training forward passes (dropout on,
before the optimiser step), one per instance per epoch. confidence = their mean; variability =
their population standard deviation (ddof 0); correctness = the fraction of epochs the instance
was predicted right.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

import numpy as np


@dataclass(frozen=True)
class Dynamics:
    ids: tuple[str, ...]
    confidence: np.ndarray
    variability: np.ndarray
    correctness: np.ndarray


def statistics(gold_probs: Mapping[str, Sequence[float]], correct: Mapping[str, Sequence[bool]]) -> Dynamics:
    """``gold_probs[id]``: p(gold) per epoch; ``correct[id]``: argmax == gold per epoch."""
    ids = tuple(sorted(gold_probs))
    probs = np.array([gold_probs[i] for i in ids], dtype=np.float64)
    hits = np.array([correct[i] for i in ids], dtype=np.float64)
    if probs.ndim != 2 or probs.shape != hits.shape:
        raise ValueError("every instance needs one probability and one correctness flag per epoch")
    return Dynamics(ids, probs.mean(axis=1), probs.std(axis=1, ddof=0), hits.mean(axis=1))


def select(dynamics: Dynamics, region: str, fraction: float = 0.33, seed: int = 0) -> list[str]:
    """The ids of a region: ``ambiguous`` (highest variability), ``hard`` (lowest confidence),
    ``easy`` (highest confidence) or ``random`` (fixed seed); ties broken by id for determinism."""
    count = int(round(len(dynamics.ids) * fraction))
    order = np.arange(len(dynamics.ids))
    if region == "random":
        chosen = random.Random(seed).sample(range(len(dynamics.ids)), count)
        return [dynamics.ids[i] for i in sorted(chosen)]
    keys = {"ambiguous": -dynamics.variability, "hard": dynamics.confidence, "easy": -dynamics.confidence}
    if region not in keys:
        raise ValueError(f"unknown region {region!r}: ambiguous, hard, easy or random")
    ranked = sorted(order, key=lambda i: (keys[region][i], dynamics.ids[i]))
    return [dynamics.ids[i] for i in ranked[:count]]


def data_map_svg(dynamics: Dynamics, title: str, width: int = 520, height: int = 420) -> str:
    """x = variability, y = confidence, colour = correctness; the three regions labelled."""
    left, right, top, bottom = 56, 20, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    x_max = max(0.5, float(dynamics.variability.max(initial=0.0)) * 1.05)

    def sx(v: float) -> float:
        return left + v / x_max * plot_w

    def sy(c: float) -> float:
        return top + (1 - c) * plot_h

    def colour(c: float) -> str:  # red (never right) -> green (always right)
        return f"rgb({int(200 * (1 - c) + 30)},{int(150 * c + 60)},{int(80 + 40 * c)})"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" font-family="sans-serif">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    for v, c, k in zip(dynamics.variability, dynamics.confidence, dynamics.correctness, strict=True):
        parts.append(f'<circle cx="{sx(v):.1f}" cy="{sy(c):.1f}" r="2.2" fill="{colour(k)}" fill-opacity="0.6"/>')
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" font-size="10" text-anchor="end">{t:.2f}</text>')
    for t in np.linspace(0, x_max, 5):
        parts.append(
            f'<text x="{sx(t):.1f}" y="{top + plot_h + 14}" font-size="10" text-anchor="middle">{t:.2f}</text>'
        )
    parts += [
        f'<text x="{left + plot_w / 2}" y="{height - 8}" font-size="12" text-anchor="middle">variability</text>',
        f'<text transform="translate(14 {top + plot_h / 2}) rotate(-90)" font-size="12" text-anchor="middle">confidence</text>',
        f'<text x="{left + 8}" y="{top + 16}" font-size="12" fill="#1b7f5c">easy-to-learn</text>',
        f'<text x="{left + 8}" y="{top + plot_h - 8}" font-size="12" fill="#c0392b">hard-to-learn</text>',
        f'<text x="{left + plot_w - 8}" y="{top + plot_h / 2}" font-size="12" text-anchor="end" fill="#3366cc">ambiguous</text>',
        "</svg>",
    ]
    return "".join(parts)
