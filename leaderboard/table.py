"""The task page's table, one row per operating point (seeds collapsed), built as plain strings:
a board can hold thousands of rows and a hand-written row is several times faster than template
attribute lookups. Figures go through ``fmt``, text through ``esc``; nothing else is joined."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from benchmark.metric_table import metric, printable
from leaderboard.points import Point
from leaderboard.safe import esc, fmt

COST_KEYS = (
    "inference_flops_per_instance",
    "latency_ms_p50",
    "latency_ms_p99",
    "throughput_instances_per_s",
    "energy_kwh_per_1k",
    "co2e_kg_per_1k",
    "training_flops",
    "training_energy_kwh",
    "training_co2e_kg",
)
QUALITY_KEYS = ("macro_f1", "f1_positive")
SHOWN_ROWS = 200  # the rest are in the page but hidden until "show all"


@dataclass(frozen=True)
class Header:
    key: str
    label: str
    unit: str
    better: str  # "high", "low" or "" (text): the first click sorts best first


def headers(points: list[Point], has_ood: bool) -> list[Header]:
    out = [Header("entry", "Entry", "", ""), Header("accuracy", "Accuracy", "% (95% CI)", "high")]
    if has_ood:
        out.append(Header("ood", "OOD accuracy", "%", "high"))
    for key in QUALITY_KEYS:
        if any(key in p.values for p in points):
            m = metric(key)
            out.append(Header(key, m.label, m.display_unit, "high"))
    for key in COST_KEYS:
        m = metric(key)
        out.append(Header(key, _short(m.label), m.display_unit, "high" if m.higher_is_better else "low"))
    out.append(Header("region", "Region", "", ""))
    return out


def _short(label: str) -> str:
    return (
        label.replace(" instances", "").replace("Inference FLOPs / instance", "FLOPs / inst.").replace(" (batch 1)", "")
    )


def _num_cell(value: float | None, scale: float, extra: str = "") -> str:
    """The script sorts on the cell's leading number as shown (no data-sort: a light page)."""
    return f"<td>{fmt(value, scale)}{extra}</td>"


def row(point: Point, cols: list[Header], on_front: bool, index: int) -> str:
    """One ``<tr>``; data-* attributes carry what the script filters and sorts on."""
    first = point.first
    flags = [
        name
        for name, on in (("data-front", on_front), ("data-baseline", point.is_floor), ("data-measured", point.measured))
        if on
    ]
    hidden = " hidden" if index >= SHOWN_ROWS else ""
    name = (
        f'<input type="checkbox" class="cmp" aria-label="compare {esc(point.name)}"> '
        + ('<span class="front-mark">★</span> ' if on_front else "")
        + f'<a href="entry-{esc(first.entry_slug)}.html#{esc(first.run_id)}">{esc(point.entry)}</a>'
        + (f' <span class="op">{esc(point.label)}</span>' if point.label else "")
        + f' <span class="ver">v{esc(first.version)}</span>'
        + (f' <span class="seeds">{len(point.runs)} seeds</span>' if len(point.runs) > 1 else "")
        + ("" if first.profile_matched else ' <span class="warn" title="hardware did not match the profile">⚠</span>')
    )
    cells = [f'<th scope="row">{name}</th>']
    for col in cols[1:]:
        cells.append(_cell(point, col))
    return f'<tr id="{esc(point.anchor)}" {" ".join(flags)}{hidden}>' + "".join(cells) + "</tr>"


def _cell(point: Point, col: Header) -> str:
    if col.key == "accuracy":
        value = point.values.get("accuracy")
        low, high = point.ci
        ci = f' <span class="ci">({fmt(low, 100)}–{fmt(high, 100)})</span>' if low is not None else ""
        return _num_cell(value, 100, ci)
    if col.key == "ood":
        ood = point.first.ood
        return _num_cell(ood[1] if ood else None, 100)
    if col.key == "region":
        return f"<td>{esc(point.first.region or '–')}</td>"
    m = metric(col.key)
    value = point.values.get(col.key)
    extra = ""
    if value is not None and m.section == "energy" and not point.measured:
        extra = ' <span class="est">est.</span>'
    if value is not None and m.section == "training" and point.first.training_shared:
        extra = ' <span class="shared">shared</span>'
    reason = unstable_reason(point, m.block) if value is not None else None
    if reason is not None:
        extra += f' <span class="unstable" title="{esc(reason)}">unstable</span>'
    return _num_cell(value, m.scale, extra)


def unstable_reason(point: Point, block: str) -> str | None:
    """Why a seed's figure in ``block`` (latency, energy...) is flagged unstable in its record:
    its windows or repeats spread past the profile's target. None when no seed is flagged."""
    for run in point.runs:
        figures = run.metrics.get(block)
        if isinstance(figures, dict) and figures.get("unstable") is True:
            return printable(figures.get("unstable_reason") or "flagged unstable in the record", 300)
    return None


def table_html(points: list[Point], has_ood: bool, front_ids: set[int]) -> Markup:
    cols = headers(points, has_ood)
    head = []
    for col in cols:
        unit = f'<span class="unit">{esc(col.unit)}{" ↑" if col.better == "high" else " ↓" if col.better == "low" else ""}</span>'
        sort = ' aria-sort="descending"' if col.key == "accuracy" else ""
        head.append(
            f'<th scope="col" data-key="{col.key}" data-better="{col.better}"{sort}>'
            f'<button type="button" class="sort">{esc(col.label)}<br>{unit}</button></th>'
        )
    rows = [row(p, cols, id(p) in front_ids, k) for k, p in enumerate(points)]
    return Markup(
        '<table class="board sortable" id="board"><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "\n".join(rows)
        + "</tbody></table>"
    )
