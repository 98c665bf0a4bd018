"""What a task page says: the floor banner, the headline in relative figures, the charts, the
legend and the table, assembled from the points of one board."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from benchmark.metric_table import format_number, metric
from leaderboard.charts import legend, marker_defs, pareto_svg
from leaderboard.points import Point, beats_floor, floor_of, fronts, relative_summary
from leaderboard.safe import esc
from leaderboard.table import table_html

MAX_NAMED, MAX_RELATIVE = 6, 2  # the summary is read in seconds: the table has the rest
CHART_KEYS = (
    "energy_kwh_per_1k",
    "inference_flops_per_instance",
    "latency_ms_p50",
    "co2e_kg_per_1k",
    "training_energy_kwh",
)


def _front_key(points: Sequence[Point]) -> str:
    """The cost the headline front is drawn against: energy when any run has it, else FLOPs."""
    return (
        "energy_kwh_per_1k" if any("energy_kwh_per_1k" in p.values for p in points) else "inference_flops_per_instance"
    )


def summary(points: Sequence[Point]) -> dict[str, Any]:
    """Banner (nothing beats the floor), headline sentences and the points on the headline front."""
    floor = floor_of(points)
    contenders = [p for p in points if not p.is_floor and "accuracy" in p.values]
    key = _front_key(points)
    banner = ""
    if floor is not None and contenders and not any(beats_floor(p, floor) for p in contenders):
        banner = (
            f"No entry beats the floor ({floor.entry}, {format_number(floor.accuracy * 100)}%) by more than its 95% "
            "confidence interval: the differences on this board are noise, so no trade-off is drawn."
        )
    front_list = [] if banner else fronts(points, key, floor)
    headline: list[str] = []
    for front in front_list:
        kind = f" ({front.kind} energy)" if front.kind in ("measured", "estimated") else ""
        names = " → ".join(p.name for p in front.members[:MAX_NAMED])
        more = f" and {len(front.members) - MAX_NAMED} more" if len(front.members) > MAX_NAMED else ""
        headline.append(f"On the accuracy–{metric(key).label.lower()} front{kind}, cheapest first: {names}{more}.")
        headline += [line + "." for line in relative_summary(front, key)[:MAX_RELATIVE]]
        if front.ties:
            headline.append(f"{len(front.ties)} of its steps are ties (within the 95% CI; dotted).")
    best = max(contenders, key=lambda p: p.values["accuracy"], default=None)
    top = ""
    if best is not None:
        low, high = best.ci
        ci = f" (95% CI {format_number(low * 100)}–{format_number(high * 100)})" if low is not None and high else ""
        top = f"Most accurate: {best.name}, {format_number(best.values['accuracy'] * 100)}%{ci}."
    return {
        "floor": floor,
        "best": top,
        "banner": banner,
        "headline": headline,
        "front_ids": {id(p) for f in front_list for p in f.members},
    }


def _rescale_note(points: Sequence[Point]) -> str:
    """When every run is priced at one grid, CO2e is energy times a constant: say so, do not redraw."""
    priced = [p for p in points if "co2e_kg_per_1k" in p.values and p.values.get("energy_kwh_per_1k")]
    grids = {(p.first.region, p.first.pue) for p in priced}
    if len(grids) != 1 or not priced:
        return ""
    region, _ = next(iter(grids))
    p = priced[0]
    intensity = p.values["co2e_kg_per_1k"] / p.values["energy_kwh_per_1k"] * 1000
    return (
        f"CO2e / 1k instances is energy × {format_number(intensity)} g/kWh ({esc(region or 'one region')}) for every "
        "run here, so its chart would be the energy chart rescaled; see the table for the figures."
    )


def task_context(task: str, profile: str, points: list[Point]) -> dict[str, Any]:
    info = summary(points)
    styles: dict[str, int] = {}
    for name in sorted({p.entry for p in points if not p.is_floor}):
        styles[name] = len(styles)
    charts = []
    notes = []
    for key in CHART_KEYS:
        if key == "co2e_kg_per_1k" and (note := _rescale_note(points)):
            notes.append(Markup(note))
            continue
        charts.append(pareto_svg(points, key, info["floor"], styles, show_fronts=not info["banner"]))
    has_ood = any(p.first.ood for p in points)
    return {
        "task": task,
        "profile": profile,
        **info,
        "charts": charts,
        "chart_notes": notes,
        "legend": legend(styles, any(not p.measured for p in points)),
        "defs": marker_defs(),
        "table": table_html(points, has_ood, info["front_ids"]),
        "n_points": len(points),
        "n_runs": sum(len(p.runs) for p in points),
        "n_shown": min(len(points), 200),
    }
