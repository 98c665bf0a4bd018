"""Pareto charts as inline SVG, built at build time: no script needed to read them, no network.

What a chart claims is decided in ``points`` (seed collapse, floor, fronts, ties); this module
only draws it. Every string that came from a record is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

from benchmark.metric_table import format_number, metric
from leaderboard.labels import CHAR_W, Box, place_labels
from leaderboard.points import Floor, Point, fronts, sweeps
from leaderboard.safe import esc

WIDTH, HEIGHT = 400, 300
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 12, 42
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
# Colours with >= 3:1 contrast on white (WCAG non-text), paired with shapes so that no entry is
# told apart by colour alone.
PALETTE = ("#1b7f5c", "#2f5fb3", "#b3541e", "#7a4fb0", "#b8322a", "#237480", "#7d631a", "#b8336a", "#4b6b2f", "#555")
SHAPES = ("circle", "square", "triangle", "diamond", "down", "cross")


def style_of(index: int) -> tuple[str, str]:
    return PALETTE[index % len(PALETTE)], SHAPES[index % len(SHAPES)]


def marker(shape: str, x: float, y: float, r: float) -> str:
    """SVG path data of a marker: shape carries the entry as much as colour does."""
    if shape == "circle":
        return f"M{x - r:.1f},{y:.1f}a{r:.1f},{r:.1f} 0 1,0 {2 * r:.1f},0a{r:.1f},{r:.1f} 0 1,0 {-2 * r:.1f},0z"
    if shape == "square":
        s = r * 0.9
        return f"M{x - s:.1f},{y - s:.1f}h{2 * s:.1f}v{2 * s:.1f}h{-2 * s:.1f}z"
    if shape == "triangle":
        return f"M{x:.1f},{y - r * 1.15:.1f}L{x + r:.1f},{y + r * 0.75:.1f}L{x - r:.1f},{y + r * 0.75:.1f}z"
    if shape == "down":
        return f"M{x:.1f},{y + r * 1.15:.1f}L{x + r:.1f},{y - r * 0.75:.1f}L{x - r:.1f},{y - r * 0.75:.1f}z"
    if shape == "diamond":
        return f"M{x:.1f},{y - r * 1.2:.1f}L{x + r:.1f},{y:.1f}L{x:.1f},{y + r * 1.2:.1f}L{x - r:.1f},{y:.1f}z"
    w = r * 0.4
    return (
        f"M{x - w:.1f},{y - r:.1f}h{2 * w:.1f}v{r - w:.1f}h{r - w:.1f}v{2 * w:.1f}h{w - r:.1f}v{r - w:.1f}"
        f"h{-2 * w:.1f}v{w - r:.1f}h{w - r:.1f}v{-2 * w:.1f}h{r - w:.1f}z"
    )


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    raw = (hi - lo) / count or 1.0
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


class _Axes:
    """Log x (costs span decades), linear y fitted to the runs above the floor."""

    def __init__(self, points: Sequence[Point], x_key: str, floor: Floor | None) -> None:
        xs = [p.spread.get(x_key, (p.values[x_key],) * 2) for p in points]
        positive = [v for pair in xs for v in pair if v > 0]
        lo, hi = (min(positive), max(positive)) if positive else (1.0, 10.0)
        self.log_lo, self.log_hi = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        if self.log_hi == self.log_lo:
            self.log_hi += 1
        self.zero = any(p.values[x_key] <= 0 for p in points)
        if self.zero:
            self.log_lo -= 1  # a decade of room on the left for zero-cost points, drawn at the axis floor
        above = [p for p in points if not p.is_floor and (floor is None or p.values["accuracy"] >= floor.accuracy)]
        basis = above or [p for p in points if not p.is_floor] or list(points)
        ys = [v for p in basis for v in p.spread.get("accuracy", (p.values["accuracy"],) * 2)]
        y_lo, y_hi = min(ys), max(ys)
        pad = max(0.01, (y_hi - y_lo) * 0.1)
        self.y_lo, self.y_hi = max(0.0, y_lo - pad), min(1.0, y_hi + pad)
        self.floor_shown = floor is not None and self.y_lo - 3 * pad <= floor.accuracy <= self.y_hi
        if floor is not None and self.floor_shown:
            self.y_lo = min(self.y_lo, max(0.0, floor.accuracy - pad / 2))
        if self.y_hi - self.y_lo < 1e-9:
            self.y_lo, self.y_hi = max(0.0, self.y_lo - 0.05), min(1.0, self.y_hi + 0.05)

    def sx(self, x: float) -> float:
        lx = math.log10(x) if x > 0 else self.log_lo
        return LEFT + (lx - self.log_lo) / (self.log_hi - self.log_lo) * PLOT_W

    def sy(self, y: float) -> float:
        clamped = min(max(y, self.y_lo), self.y_hi)
        return TOP + (1 - (clamped - self.y_lo) / (self.y_hi - self.y_lo)) * PLOT_H


def _frame(axes: _Axes, x_key: str, title: str) -> list[str]:
    spec, acc = metric(x_key), metric("accuracy")
    out = [
        f'<svg class="pareto" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}</title>',
        f'<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" class="plotbg"/>',
    ]
    decades = range(axes.log_lo, axes.log_hi + 1)
    step = max(1, math.ceil(len(decades) / 6))  # at most ~6 tick labels: they must not collide on a phone
    for k, decade in enumerate(decades):
        x = axes.sx(10.0**decade)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + PLOT_H}" class="grid"/>')
        if k % step == 0:
            label = "0" if axes.zero and decade == axes.log_lo else format_number(10.0**decade * spec.scale)
            anchor = "end" if x > WIDTH - RIGHT - 12 else "middle"  # the last label must not leave the chart
            out.append(f'<text x="{x:.1f}" y="{TOP + PLOT_H + 14}" class="tick" text-anchor="{anchor}">{label}</text>')
    for value in nice_ticks(axes.y_lo, axes.y_hi):
        y = axes.sy(value)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + PLOT_W}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" class="tick" text-anchor="end">{value * acc.scale:.3g}</text>'
        )
    better = "higher" if spec.higher_is_better else "lower"
    out.append(
        f'<text x="{LEFT + PLOT_W / 2:.1f}" y="{HEIGHT - 8}" class="axis" text-anchor="middle">'
        f"{esc(spec.label)} ({esc(spec.display_unit)}, log; {better} is better)</text>"
    )
    out.append(
        f'<text transform="translate(12 {TOP + PLOT_H / 2:.1f}) rotate(-90)" class="axis" text-anchor="middle">'
        f"{esc(acc.label)} ({esc(acc.display_unit)})</text>"
    )
    return out


def _floor_line(axes: _Axes, floor: Floor | None, markers: list[tuple[float, float]]) -> tuple[list[str], Box | None]:
    if floor is None:
        return [], None
    if not axes.floor_shown:
        text = f"floor: {floor.entry} {floor.accuracy * 100:.3g}% (below the axis)"
        x, y = LEFT + PLOT_W - 4, TOP + PLOT_H - 5
        box = Box(x - len(text) * CHAR_W, y - 11, x, y + 2)
        return [f'<text x="{x}" y="{y}" class="floorlabel ptlabel" text-anchor="end">{esc(text)}</text>'], box
    y = axes.sy(floor.accuracy)
    text = f"floor: {floor.entry} {floor.accuracy * 100:.3g}%"
    width = len(text) * CHAR_W
    above = y - 13 > TOP
    y0, y1 = (y - 13, y - 2) if above else (y + 2, y + 13)
    box = Box(LEFT + PLOT_W - 4 - width, y0, LEFT + PLOT_W - 4, y1)
    if any(box.overlaps(Box(mx - 5, my - 5, mx + 5, my + 5)) for mx, my in markers):
        box = Box(LEFT + 4, y0, LEFT + 4 + width, y1)  # the right end is crowded: label the left end
    anchor_x, anchor = (box.x1, "end") if box.x0 > LEFT + 4 else (box.x0, "start")
    return [
        f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + PLOT_W}" y2="{y:.1f}" class="floor"/>',
        f'<text x="{anchor_x:.1f}" y="{y1 - 2:.1f}" class="floorlabel ptlabel" text-anchor="{anchor}">{esc(text)}</text>',
    ], box


def _front_paths(axes: _Axes, x_key: str, front_list: list) -> list[str]:
    out = []
    for front in front_list:
        members = front.members
        cls = "front" + (" est" if front.kind == "estimated" else "")
        for k in range(1, len(members)):
            a, b = members[k - 1], members[k]
            d = (
                f"M{axes.sx(a.values[x_key]):.1f},{axes.sy(a.values['accuracy']):.1f}"
                f" H{axes.sx(b.values[x_key]):.1f} V{axes.sy(b.values['accuracy']):.1f}"
            )
            out.append(f'<path d="{d}" class="{cls}{" tie" if k in front.ties else ""}"/>')
    return out


def _error_bars(axes: _Axes, p: Point, x_key: str) -> str:
    if len(p.runs) < 2:
        return ""
    x, y = axes.sx(p.values[x_key]), axes.sy(p.values["accuracy"])
    y0, y1 = (axes.sy(v) for v in p.spread.get("accuracy", (p.values["accuracy"],) * 2))
    x0, x1 = (axes.sx(v) for v in p.spread.get(x_key, (p.values[x_key],) * 2))
    if abs(y1 - y0) < 1 and abs(x1 - x0) < 1:
        return ""  # seeds agree to within a pixel: no bar to draw
    return f'<path class="err" d="M{x:.1f} {y0:.0f}V{y1:.0f}M{x0:.0f} {y:.1f}H{x1:.0f}"/>'


def pareto_svg(
    points: Sequence[Point], x_key: str, floor: Floor | None, styles: dict[str, int], show_fronts: bool = True
) -> Markup:
    """Accuracy against one cost: fronts as step lines (ties dotted), sweeps as thin lines, the
    floor as a labelled line, error bars for seed spreads, hollow markers for estimated energy."""
    spec, acc = metric(x_key), metric("accuracy")
    usable = [p for p in points if x_key in p.values and "accuracy" in p.values]
    title = f"{acc.label} vs {spec.label}"
    if not [p for p in usable if not p.is_floor]:
        return Markup(f'<p class="nochart">{esc(title)}: no run has this figure.</p>')
    axes = _Axes(usable, x_key, floor)
    out = _frame(axes, x_key, title)
    floor_svg, floor_box = _floor_line(
        axes, floor, [(axes.sx(p.values[x_key]), axes.sy(p.values["accuracy"])) for p in usable if not p.is_floor]
    )
    out += floor_svg
    front_list = fronts(usable, x_key, floor) if show_fronts else []
    out += _front_paths(axes, x_key, front_list)
    ends: list[tuple[float, float, str]] = []
    for key, members in sweeps(usable):
        colour, _ = style_of(styles.get(members[0].entry, 0))
        for end in (members[0], members[-1]):  # a sweep's ends say what it sweeps
            ends.append(
                (axes.sx(end.values[x_key]), axes.sy(end.values["accuracy"]), f"{key}={end.first.params.get(key)}")
            )
        pts = " ".join(f"{axes.sx(p.values[x_key]):.1f},{axes.sy(p.values['accuracy']):.1f}" for p in members)
        out.append(f'<polyline points="{pts}" class="curve" stroke="{colour}"/>')
    on_front = {id(p) for f in front_list for p in f.members}
    energy_axis = spec.section == "energy"
    centres: list[tuple[float, float]] = []
    for p in usable:
        if p.is_floor:
            continue
        out.append(_error_bars(axes, p, x_key))
        x, y = axes.sx(p.values[x_key]), axes.sy(p.values["accuracy"])
        index = styles.get(p.entry, 0)
        shape = "down" if p.values["accuracy"] < axes.y_lo else style_of(index)[1]
        front = id(p) in on_front
        cls = f"pt c{index % len(PALETTE)} {'front-pt' if front else 'dominated'}"
        if energy_axis and not p.measured:
            cls += " est"
        if front:
            centres.append((x, y))
        out.append(
            f'<use href="#m-{shape}-{"l" if front else "s"}" x="{x:.1f}" y="{y:.1f}" class="{cls}" '
            f'data-href="entry-{esc(p.first.entry_slug)}.html#{esc(p.first.run_id)}"><title>{esc(_hover(p, x_key, shape == "down"))}</title></use>'
        )
    wanted = [(axes.sx(p.values[x_key]), axes.sy(p.values["accuracy"]), p.name) for f in front_list for p in f.members]
    wanted += ends  # after the front's labels: they give way when space is short
    for x, y, text, anchor in place_labels(wanted, centres, Box(LEFT, TOP, LEFT + PLOT_W, TOP + PLOT_H), floor_box):
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" class="ptlabel" text-anchor="{anchor}">{esc(text)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _hover(p: Point, x_key: str, below: bool = False) -> str:
    """The point's figures in one line: the tooltip, and what a tap shows under the chart."""
    spec = metric(x_key)
    spread = ""
    if len(p.runs) > 1 and "accuracy" in p.spread:
        lo, hi = p.spread["accuracy"]
        spread = f" (seeds {format_number(lo * 100)}–{format_number(hi * 100)})"
    est = " est." if spec.section == "energy" and not p.measured else ""
    seeds = f", mean of {len(p.runs)} seeds" if len(p.runs) > 1 else ""
    return (
        f"{p.name} v{p.first.version}: {format_number(p.values['accuracy'] * 100)}%{spread}"
        f"{' (below the axis)' if below else ''}, "
        f"{format_number(p.values[x_key] * spec.scale)} {spec.display_unit}{est}{seeds}"
    )


def marker_defs() -> Markup:
    """Every marker shape once per page, in two sizes; points reference them with <use>."""
    paths = [
        f'<path id="m-{shape}-{size}" d="{marker(shape, 0, 0, r)}"/>'
        for shape in SHAPES
        for size, r in (("l", 5.5), ("s", 4.5))
    ]
    return Markup('<svg class="defs" aria-hidden="true" width="0" height="0"><defs>' + "".join(paths) + "</defs></svg>")


def legend(styles: dict[str, int], has_estimates: bool) -> Markup:
    """One legend per page (every chart shares the entries' colours and shapes)."""
    items = []
    for entry, index in sorted(styles.items(), key=lambda kv: kv[1]):
        colour, shape = style_of(index)
        items.append(
            f'<li><svg viewBox="0 0 14 14" class="swatch" aria-hidden="true"><path d="{marker(shape, 7, 7, 5)}" '
            f'class="c{index % len(PALETTE)}"/></svg>{esc(entry)}</li>'
        )
    keys = [
        '<li><svg viewBox="0 0 24 14" class="swatch wide" aria-hidden="true"><path d="M0,11H12V3H24" class="front"/>'
        "</svg>Pareto front</li>",
        '<li><svg viewBox="0 0 24 14" class="swatch wide" aria-hidden="true"><path d="M0,7H24" class="front tie"/>'
        "</svg>front step within the CI (a tie)</li>",
        '<li><svg viewBox="0 0 24 14" class="swatch wide" aria-hidden="true"><path d="M0,7H24" class="floor"/></svg>'
        "floor (majority class)</li>",
        '<li><svg viewBox="0 0 24 14" class="swatch wide" aria-hidden="true"><path d="M12,1V13M4,7H20" class="err"/>'
        "</svg>spread over seeds (min–max)</li>",
    ]
    if has_estimates:
        keys.append(
            '<li><svg viewBox="0 0 14 14" class="swatch" aria-hidden="true"><path d="'
            f'{marker("circle", 7, 7, 5)}" fill="#fff" stroke="#333"/></svg>hollow: estimated energy</li>'
        )
    return Markup('<ul class="legend">' + "".join(items + keys) + "</ul>")


def histogram_svg(counts: dict, title: str, x_label: str, last: int | None = None) -> Markup:
    """A small bar chart (an early-exit histogram) from an entry's diagnostics; untrusted input, so
    keys and values are coerced and escaped, and integer layers with no instances are drawn too
    (up to ``last`` when the caller knows how many layers there are)."""
    items: dict[str, int] = {}
    for key, value in list(counts.items())[:64]:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            items[str(key)[:12]] = max(0, int(value))
    if not items:
        return Markup("")
    if all(k.lstrip("-").isdigit() for k in items):
        ints = sorted(int(k) for k in items)
        first = min(ints[0], 1) if ints[0] >= 0 else ints[0]  # layers count from 1: show the empty early ones
        top_layer = max(ints[-1], last if last is not None and last <= 48 else ints[-1])
        if top_layer - first <= 48:
            items = {str(k): items.get(str(k), 0) for k in range(first, top_layer + 1)}
    width, height, left, bottom, top = 260, 130, 30, 28, 30
    total = sum(items.values()) or 1
    peak = max(items.values()) or 1
    bar_w = (width - left - 10) / len(items)
    out = [
        f'<svg class="hist" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}</title>',
        f'<text x="{left}" y="12" class="axis">{esc(title)}</text>',
    ]
    for k, (key, value) in enumerate(items.items()):
        h = (height - bottom - top) * value / peak
        x, y = left + k * bar_w, height - bottom - h
        share = f"{100 * value / total:.0f}%"
        out.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{max(bar_w - 4, 1):.1f}" height="{h:.1f}" class="bar">'
            f"<title>{esc(key)}: {value} ({share})</title></rect>"
            f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 12}" class="tick" text-anchor="middle">{esc(key)}</text>'
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" class="tick" text-anchor="middle">{share}</text>'
        )
    out.append(
        f'<text x="{left + (width - left) / 2:.1f}" y="{height - 4}" class="axis" text-anchor="middle">{esc(x_label)}</text>'
        "</svg>"
    )
    return Markup("".join(out))
