"""Pareto charts as inline SVG, built at build time: no script, no network, readable anywhere.

Every string that came from a record is escaped here; the chart is markup the site trusts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from benchmark.metrics import METRICS
from leaderboard.pareto import pareto_front

WIDTH, HEIGHT = 420, 300
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 44
PALETTE = ("#1b7f5c", "#3366cc", "#b3541e", "#7a4fb0", "#c0392b", "#2c8c99", "#8a6d1d", "#d4487e", "#4b6b2f", "#555")


@dataclass(frozen=True)
class ChartPoint:
    x: float | None
    y: float | None
    label: str  # entry name (escaped when drawn)
    series: str  # points of one series are joined by a line (one entry's operating points)
    href: str
    hover: str


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if -2 <= exponent <= 3:
        return f"{value:.3g}"
    return f"{value / 10**exponent:.3g}e{exponent}"


def _colour(series: str, order: dict[str, int]) -> str:
    return PALETTE[order.setdefault(series, len(order)) % len(PALETTE)]


def pareto_svg(
    points: Sequence[ChartPoint], x_key: str, y_key: str, x_display: float = 1.0, x_unit: str | None = None
) -> Markup:
    """Accuracy (y, linear) against a cost (x, log scale). ``x_display`` scales the x tick labels,
    which are then in ``x_unit`` (default: the metric's stored unit)."""
    x_spec, y_spec = METRICS[x_key], METRICS[y_key]
    usable = [p for p in points if p.x is not None and p.y is not None and p.x == p.x and p.y == p.y]
    title = f"{y_spec.label} vs {x_spec.label}"
    if not usable:
        return Markup(f'<p class="nochart">{escape(title)}: no run has this figure.</p>')
    front = set(pareto_front([(p.x, p.y) for p in usable], (x_spec.higher_is_better, y_spec.higher_is_better)))

    positive = [p.x for p in usable if p.x > 0]
    lo = min(positive) if positive else 1.0
    hi = max(positive) if positive else 10.0
    log_lo, log_hi = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if log_hi == log_lo:
        log_hi += 1
    floor_used = any(p.x <= 0 for p in usable)
    if floor_used:
        log_lo -= 1  # a decade of room on the left for zero-cost points, drawn at the axis floor
    ys = [p.y for p in usable]
    y_lo, y_hi = min(ys), max(ys)
    pad = max(0.02, (y_hi - y_lo) * 0.08)
    y_lo, y_hi = max(0.0, y_lo - pad), min(1.0, y_hi + pad) if y_hi <= 1 else y_hi + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        lx = math.log10(x) if x > 0 else log_lo
        return LEFT + (lx - log_lo) / (log_hi - log_lo) * plot_w

    def sy(y: float) -> float:
        return TOP + (1 - (y - y_lo) / ((y_hi - y_lo) or 1)) * plot_h

    out = [
        f'<svg class="pareto" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plotbg"/>',
    ]
    for decade in range(log_lo, log_hi + 1):
        x = sx(10.0**decade)
        label = "0" if floor_used and decade == log_lo else _fmt(10.0**decade * x_display)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_h}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 14}" class="tick" text-anchor="middle">{label}</text>')
    steps = 5
    for k in range(steps + 1):
        value = y_lo + (y_hi - y_lo) * k / steps
        y = sy(value)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 5}" y="{y + 3:.1f}" class="tick" text-anchor="end">{value:.2f}</text>')
    better_x = "higher" if x_spec.higher_is_better else "lower"
    out.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" class="axis" text-anchor="middle">'
        f"{escape(x_spec.label)} ({escape(x_unit or x_spec.unit)}, log scale; {better_x} is better)</text>"
    )
    out.append(
        f'<text transform="translate(12 {TOP + plot_h / 2:.1f}) rotate(-90)" class="axis" text-anchor="middle">'
        f"{escape(y_spec.label)}</text>"
    )

    # The front as a step line, from the cheapest member to the most accurate.
    members = sorted((usable[i] for i in front), key=lambda p: (p.x, p.y))
    if members:
        path = f"M{sx(members[0].x):.1f},{sy(members[0].y):.1f}"
        for p in members[1:]:
            path += f" H{sx(p.x):.1f} V{sy(p.y):.1f}"
        out.append(f'<path d="{path}" class="front"/>')

    order: dict[str, int] = {}
    series: dict[str, list[ChartPoint]] = defaultdict(list)
    for p in usable:
        series[p.series].append(p)
    for name, group in series.items():
        if len(group) > 1:
            pts = " ".join(f"{sx(p.x):.1f},{sy(p.y):.1f}" for p in sorted(group, key=lambda p: p.x))
            out.append(f'<polyline points="{pts}" class="curve" stroke="{_colour(name, order)}"/>')
    for index, p in enumerate(usable):
        on_front = index in front
        cls = "pt front-pt" if on_front else "pt dominated"
        colour = _colour(p.series, order)
        out.append(
            f'<a href="{escape(p.href)}"><circle cx="{sx(p.x):.1f}" cy="{sy(p.y):.1f}" r="{5 if on_front else 4}" '
            f'class="{cls}" fill="{colour}"><title>{escape(p.hover)}</title></circle></a>'
        )
    labelled: set[str] = set()
    for p in members:
        if p.series in labelled:
            continue
        labelled.add(p.series)
        x = sx(p.x)
        near_right = x > LEFT + plot_w * 0.6  # keep labels inside the plot: right-hand points label leftwards
        anchor, dx = ("end", -7) if near_right else ("start", 7)
        out.append(
            f'<text x="{x + dx:.1f}" y="{sy(p.y) - 6:.1f}" class="ptlabel" text-anchor="{anchor}">'
            f"{escape(p.label[:28])}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))


def histogram_svg(counts: dict[str, int], title: str, x_label: str) -> Markup:
    """A small bar chart (an early-exit histogram, say) from an entry's diagnostics; untrusted input,
    so keys and values are coerced and escaped."""
    items = []
    for key, value in list(counts.items())[:32]:
        try:
            items.append((str(key), max(0, int(value))))
        except (TypeError, ValueError):
            continue
    if not items:
        return Markup("")
    width, height, left, bottom, top = 260, 140, 30, 28, 18
    total = sum(v for _, v in items) or 1
    peak = max(v for _, v in items) or 1
    bar_w = (width - left - 10) / len(items)
    out = [
        f'<svg class="hist" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text x="{left}" y="12" class="axis">{escape(title)}</text>',
    ]
    for k, (key, value) in enumerate(items):
        h = (height - bottom - top) * value / peak
        x = left + k * bar_w
        y = height - bottom - h
        out.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" class="bar">'
            f"<title>{escape(key)}: {value} ({100 * value / total:.0f}%)</title></rect>"
        )
        out.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 12}" class="tick" text-anchor="middle">{escape(key)}</text>'
        )
        out.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" class="tick" text-anchor="middle">{100 * value / total:.0f}%</text>'
        )
    out.append(
        f'<text x="{left + (width - left) / 2:.1f}" y="{height - 4}" class="axis" text-anchor="middle">{escape(x_label)}</text>'
    )
    out.append("</svg>")
    return Markup("".join(out))
