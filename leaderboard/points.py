"""From runs to the points a board plots: seeds collapsed, the floor set apart, fronts computed on
what is left, ties marked. This is where the board decides what it claims, so it is kept apart
from drawing and tested on its own."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import fmean

from benchmark.metric_table import metric
from leaderboard.collect import BoardRun
from leaderboard.pareto import pareto_front
from leaderboard.safe import slug


@dataclass
class Point:
    """One operating point: the runs of one entry identical but for the seed."""

    runs: list[BoardRun]
    label: str = ""  # the operating point, e.g. "threshold=0.6" (empty when the entry has one point)
    values: dict[str, float] = field(default_factory=dict)  # mean over seeds
    spread: dict[str, tuple[float, float]] = field(default_factory=dict)  # min, max over seeds
    ci: tuple[float | None, float | None] = (None, None)

    @property
    def first(self) -> BoardRun:
        return self.runs[0]

    @property
    def entry(self) -> str:
        return self.first.submission

    @property
    def measured(self) -> bool:
        return self.first.energy_measured

    @property
    def is_floor(self) -> bool:
        return self.first.is_floor

    @property
    def seeds(self) -> list[int | None]:
        return [r.seed for r in self.runs]

    @property
    def anchor(self) -> str:
        return "p-" + self.first.run_id

    @property
    def name(self) -> str:
        return f"{self.entry} ({self.label})" if self.label else self.entry


def _identity(run: BoardRun) -> str:
    config = {k: v for k, v in run.config.items() if k != "seed"}
    return json.dumps(
        [run.submission, run.version, run.params, config, run.energy_measured, run.region], sort_keys=True, default=str
    )


def collapse(runs: Sequence[BoardRun]) -> list[Point]:
    """Runs identical but for the seed become one point: mean figures, min-max spread, mean CI.
    A lucky seed can no longer carry an entry onto the front alone."""
    groups: dict[str, list[BoardRun]] = defaultdict(list)
    for run in runs:
        groups[_identity(run)].append(run)
    points = []
    for members in groups.values():
        members.sort(key=lambda r: (r.seed is None, r.seed or 0, r.run_id))
        point = Point(members)
        keys = {k for r in members for k in r.values}
        for key in keys:
            found = [r.values[key] for r in members if key in r.values]
            if len(found) == len(members):  # a mean over some seeds only would mix two populations
                point.values[key] = fmean(found)
                point.spread[key] = (min(found), max(found))
        lows = [r.ci[0] for r in members if r.ci[0] is not None]
        highs = [r.ci[1] for r in members if r.ci[1] is not None]
        if len(lows) == len(members) and len(highs) == len(members):
            point.ci = (fmean(lows), fmean(highs))
        points.append(point)
    _name_operating_points(points)
    points.sort(key=lambda p: (-(p.values.get("accuracy") or -1.0), p.entry, p.label))
    return points


def _param_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _name_operating_points(points: list[Point]) -> None:
    """An entry with several points on a board: each is named by the params whose values differ."""
    by_entry: dict[str, list[Point]] = defaultdict(list)
    for p in points:
        by_entry[p.entry].append(p)
    for group in by_entry.values():
        if len(group) < 2:
            continue
        params = [p.first.params for p in group]
        keys = sorted({k for q in params for k in q if len({_param_text(x.get(k)) for x in params}) > 1})
        for p in group:
            parts = [f"{k}={_param_text(p.first.params.get(k))}" for k in keys]
            if len({q.first.version for q in group}) > 1:
                parts.append(f"v{p.first.version}")
            if len({q.measured for q in group}) > 1:
                parts.append("measured" if p.measured else "estimated")
            p.label = ", ".join(parts)[:60]


@dataclass(frozen=True)
class Floor:
    entry: str
    accuracy: float


def floor_of(points: Sequence[Point]) -> Floor | None:
    """The floor entry (majority class): a labelled line, never a front member."""
    floors = [p for p in points if p.is_floor and "accuracy" in p.values]
    if not floors:
        return None
    best = max(floors, key=lambda p: p.values["accuracy"])
    return Floor(best.entry, best.values["accuracy"])


def beats_floor(point: Point, floor: Floor | None) -> bool:
    """Significantly above the floor: the lower end of the accuracy CI clears it."""
    if floor is None:
        return True
    low = point.ci[0] if point.ci[0] is not None else point.values.get("accuracy")
    return low is not None and low > floor.accuracy


@dataclass(frozen=True)
class Front:
    """The Pareto front of one class of points (measured or estimated energy never share one)."""

    kind: str  # "all", "measured" or "estimated"
    members: tuple[Point, ...]  # cheapest first
    ties: frozenset[int]  # indices i whose accuracy CI overlaps that of member i-1


def fronts(points: Sequence[Point], x_key: str, floor: Floor | None) -> list[Front]:
    """Fronts of accuracy against ``x_key`` over the points that beat the floor (a point at the
    floor is cheap because it learned nothing); energy and CO2e split measured from estimated
    points, so an estimate never beats a measurement on paper."""
    spec = metric(x_key)
    usable = [
        p for p in points if not p.is_floor and x_key in p.values and "accuracy" in p.values and beats_floor(p, floor)
    ]
    if spec.section == "energy":
        classes = [
            ("measured", [p for p in usable if p.measured]),
            ("estimated", [p for p in usable if not p.measured]),
        ]
    else:
        classes = [("all", usable)]
    out = []
    for kind, members in classes:
        if not members:
            continue
        idx = pareto_front([(p.values[x_key], p.values["accuracy"]) for p in members], (spec.higher_is_better, True))
        ordered = sorted((members[i] for i in idx), key=lambda p: (p.values[x_key], p.values["accuracy"]))
        if spec.higher_is_better:
            ordered.reverse()
        ties = frozenset(k for k in range(1, len(ordered)) if _overlap(ordered[k - 1], ordered[k]))
        out.append(Front(kind, tuple(ordered), ties))
    return out


def _overlap(a: Point, b: Point) -> bool:
    if None in a.ci or None in b.ci:
        return False
    return a.ci[0] <= b.ci[1] and b.ci[0] <= a.ci[1]  # type: ignore[operator]


def sweeps(points: Sequence[Point]) -> list[tuple[str, list[Point]]]:
    """Lines worth drawing: points of one entry that differ in exactly one param, ordered by it.
    Anything else joined by a line would suggest a trade-off nobody measured."""
    by_entry: dict[str, list[Point]] = defaultdict(list)
    for p in points:
        if not p.is_floor:
            by_entry[p.entry].append(p)
    out = []
    for group in by_entry.values():
        if len(group) < 2:
            continue
        keys = {k for p in group for k in p.first.params if _numeric(p.first.params[k])}
        best: tuple[str, list[Point]] | None = None
        for key in sorted(keys):
            buckets: dict[str, list[Point]] = defaultdict(list)
            for p in group:
                rest = {k: v for k, v in p.first.params.items() if k != key}
                buckets[json.dumps([rest, p.first.version, p.measured], sort_keys=True, default=str)].append(p)
            for members in buckets.values():
                if (
                    len(members) >= 2
                    and all(_numeric(p.first.params.get(key)) for p in members)
                    and (best is None or len(members) > len(best[1]))
                ):
                    best = (key, members)
        if best:
            key, members = best
            members.sort(key=lambda p: _sort_param(p.first.params.get(key)))
            out.append((key, members))
    return out


def _numeric(value: object) -> bool:
    """Only a numeric param makes a line: joining categories would draw a trade-off curve between
    things that have no order."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sort_param(value: object) -> tuple[int, float, str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, _param_text(value))


def relative_summary(front: Front, x_key: str) -> list[str]:
    """Plain sentences: each cheaper front member against the most accurate one."""
    if len(front.members) < 2:
        return []
    spec = metric(x_key)
    top = max(front.members, key=lambda p: p.values["accuracy"])
    lines = []
    for p in front.members:
        if p is top or p.values[x_key] <= 0:
            continue
        delta = (p.values["accuracy"] - top.values["accuracy"]) * 100
        ratio = top.values[x_key] / p.values[x_key]
        if spec.higher_is_better:
            ratio = 1 / ratio
        lines.append(f"{p.name}: {delta:+.1f} points for {ratio:.1f}x less {spec.label.lower()} than {top.name}")
    return lines


def point_id(point: Point) -> str:
    return slug(point.anchor)
