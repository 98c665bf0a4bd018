"""Point labels that never overlap: each label tries a few spots around its point and takes the
first that stays inside the plot and clear of every label, marker and reserved box placed so far;
a label with no free spot is left off (the point's tap/hover text still names it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FONT = 10.5  # px in viewBox units, as .ptlabel in style.css
CHAR_W = FONT * 0.7  # wider than the average advance (digits, "w" and "=" run wide), so estimates never fall short
MAX_CHARS = 34


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def inside(self, outer: Box) -> bool:
        return self.x0 >= outer.x0 and self.x1 <= outer.x1 and self.y0 >= outer.y0 and self.y1 <= outer.y1


# (dx, dy of the baseline anchor, text-anchor) around a point, preferred first.
SPOTS = (
    (8, 4, "start"),
    (-8, 4, "end"),
    (0, -9, "middle"),
    (0, 17, "middle"),
    (7, -7, "start"),
    (-7, -7, "end"),
    (7, 15, "start"),
    (-7, 15, "end"),
)


def _box(x: float, y: float, anchor: str, width: float) -> Box:
    left = x if anchor == "start" else x - width if anchor == "end" else x - width / 2
    return Box(left, y - FONT, left + width, y + 3)


def place_labels(
    wanted: Sequence[tuple[float, float, str]],
    markers: Sequence[tuple[float, float]],
    bounds: Box,
    reserved: Box | None = None,
) -> list[tuple[float, float, str, str]]:
    """(x, y, text, anchor) for each label that fits, in the order given (earlier = more important)."""
    taken: list[Box] = [reserved] if reserved else []
    dots = [Box(x - 4, y - 4, x + 4, y + 4) for x, y in markers]
    placed: list[tuple[float, float, str, str]] = []
    seen: set[tuple[float, float]] = set()  # one label per point: a sweep end on the front keeps its front label
    for px, py, raw in wanted:
        text = raw if len(raw) <= MAX_CHARS else raw[: MAX_CHARS - 1] + "…"
        if (round(px, 1), round(py, 1)) in seen:
            continue
        width = len(text) * CHAR_W + 2
        for dx, dy, anchor in SPOTS:
            box = _box(px + dx, py + dy, anchor, width)
            if not box.inside(bounds) or any(box.overlaps(t) for t in taken):
                continue
            if any(box.overlaps(d) for d in dots):
                continue
            taken.append(box)
            seen.add((round(px, 1), round(py, 1)))
            placed.append((px + dx, py + dy, text, anchor))
            break
    return placed
