"""The price tag: one list of rows per run, rendered as terminal text (`show`) and as HTML (board).

Every section states one basis (per instance, per 1k instances, whole training) and every number
in it is in that basis and in one unit, formatted by ``benchmark.metric_table.format_value``. A
figure the record or the reader flags (unstable, implausible, estimated) gets a warning line
right under it. Records are untrusted: every lookup tolerates a missing or mistyped field, and no
record text reaches the output without passing the formatter or the escaper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from html import escape
from typing import Any

from benchmark.metric_table import (
    METRICS,
    dig,
    figure_warnings,
    format_number,
    format_value,
    metric,
    missing_reason,
    primary_eval_set,
    printable,
    value_of,
)
from benchmark.record import RunRecord

__all__ = ["SECTIONS", "Row", "headline", "price_tag", "price_tag_html", "price_tag_rows", "primary_eval_set"]

STDERR_LINES = 12


@dataclass(frozen=True)
class Row:
    """One line of a price tag. ``value`` and ``detail`` are display text already made safe for a
    terminal; the HTML renderer escapes every field again, so a row is safe in either."""

    section: str
    label: str
    value: str
    unit: str = ""
    detail: str = ""
    warnings: tuple[str, ...] = ()


def _first_line(reason: Any) -> str:
    """A reason's first line: the child's output that may follow it is shown on rows of its own."""
    lines = str(reason).splitlines() if reason is not None else []
    return printable(lines[0].rstrip(":"), 400) if lines else "—"


def headline(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Flat {metric key: stored value} for the figures the record has (the board's row values)."""
    out = {m.key: value_of(metrics, m.key) for m in METRICS}
    return {k: v for k, v in out.items() if v is not None}


def _figure(section: str, key: str, metrics: Mapping[str, Any], label: str = "", detail: str = "") -> Row:
    m = metric(key)
    value = value_of(metrics, key)
    return Row(
        section,
        label or m.label,
        format_value(value, m, reason=missing_reason(metrics, key)),
        m.display_unit if value is not None else "",
        detail,
        tuple(figure_warnings(metrics, key)),
    )


def _quality_rows(metrics: Mapping[str, Any]) -> list[Row]:
    rows = []
    sets = dig(metrics, "eval_sets")
    acc = metric("accuracy")
    for name, block in (sets or {}).items() if isinstance(sets, Mapping) else ():
        if not isinstance(block, Mapping):
            continue
        low, high = block.get("accuracy_ci95_low"), block.get("accuracy_ci95_high")
        detail = f"95% CI {format_value(low, acc)}–{format_value(high, acc)} %, n={format_number(block.get('n'))}"
        where = f"[{printable(name, 40)}, {printable(block.get('role', 'id'), 10)}]"
        value = block.get("accuracy")
        rows.append(Row("quality", f"accuracy {where}", format_value(value, acc), acc.display_unit, detail))
        for key in ("macro_f1", "f1_positive"):
            if key in block:
                m = metric(key)
                rows.append(Row("quality", f"{m.label} {where}", format_value(block[key], m), m.display_unit))
    return rows


def _inference_rows(metrics: Mapping[str, Any]) -> list[Row]:
    rows = []
    flops = dig(metrics, "flops")
    if isinstance(flops, Mapping):
        counted = f"counted on {format_number(flops.get('n_counted'))} of {format_number(flops.get('n_eval'))}"
        by = flops.get("counted_by")
        detail = counted + (f", counted by {printable(by, 30)}" if by else "")
        rows.append(_figure("inference", "inference_flops_per_instance", metrics, detail=detail))
    latency = dig(metrics, "latency")
    if isinstance(latency, Mapping):
        spread = (
            f"n={format_number(latency.get('n_samples'))} in {format_number(latency.get('repeats'))} repeats, "
            f"CV {format_number(latency.get('latency_cv'))}, CV of medians {format_number(latency.get('latency_median_cv'))}"
        )
        for key in ("latency_ms_p50", "latency_ms_p90", "latency_ms_p99"):
            rows.append(_figure("inference", key, metrics, detail=spread if key == "latency_ms_p50" else ""))
    throughput = dig(metrics, "throughput")
    if isinstance(throughput, Mapping):
        detail = f"at batch {format_number(throughput.get('batch_size'))}"
        rows.append(_figure("inference", "throughput_instances_per_s", metrics, detail=detail))
    return rows


def _kwh_per_1k(joules: Any, n_instances: Any) -> float | None:
    """A component's joules over the metered window, on the section's basis (per 1k instances)."""
    ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (joules, n_instances))
    return joules / 3.6e6 * 1000.0 / n_instances if ok and n_instances > 0 else None


def _energy_rows(metrics: Mapping[str, Any]) -> list[Row]:
    energy = dig(metrics, "energy")
    if not isinstance(energy, Mapping):
        return []
    wh = metric("energy_kwh_per_1k")
    mark = "measured" if energy.get("measured") is True else "ESTIMATED"
    source = f"{mark} ({printable(energy.get('energy_source'), 60)})"
    rows = [_figure("energy", "energy_kwh_per_1k", metrics, "energy, active (idle subtracted)", source)]
    total = energy.get("energy_kwh_total_per_1k")
    rows.append(Row("energy", "energy, total (idle included)", format_value(total, wh), wh.display_unit))
    components = energy.get("components_j_active")
    for name, joules in (components or {}).items() if isinstance(components, Mapping) else ():
        value = _kwh_per_1k(joules, energy.get("n_instances"))
        rows.append(Row("energy", f"  of which {printable(name, 20)}", format_value(value, "energy_kwh_per_1k"), "Wh"))
    carbon = dig(energy, "carbon_per_1k")
    if isinstance(carbon, Mapping):
        detail = (
            f"{mark}; {printable(carbon.get('region'), 20)} {format_number(carbon.get('intensity_g_per_kwh'))} g/kWh "
            f"({printable(carbon.get('intensity_source'), 60)}), PUE {format_number(carbon.get('pue'))}"
        )
        rows.append(_figure("energy", "co2e_kg_per_1k", metrics, detail=detail))
        refs = carbon.get("reference_regions")
        for region, ref in (refs or {}).items() if isinstance(refs, Mapping) else ():
            g = format_value(dig(ref, "co2e_kg"), "co2e_kg_per_1k")
            rows.append(
                Row(
                    "energy",
                    f"  CO2e at {printable(region, 20)}",
                    g,
                    "g",
                    f"{format_number(dig(ref, 'intensity_g_per_kwh'))} g/kWh",
                )
            )
    return rows + _hourly_rows(dig(energy, "carbon_per_1k_hourly"))


def _hourly_rows(block: Any) -> list[Row]:
    """CO2e over the run's own hours (``run --intensity-file``): average and marginal."""
    if not isinstance(block, Mapping):
        return []
    if block.get("reason"):
        return [Row("energy", "  CO2e, hourly", "n/a", "g", printable(block.get("reason"), 100))]
    where = f"{printable(block.get('region'), 20)}, {format_number(block.get('hours'))} h ({printable(block.get('intensity_source'), 60)})"
    return [
        Row(
            "energy",
            f"  CO2e, hourly {kind}",
            format_value(dig(block, f"co2e_kg_{kind}"), "co2e_kg_per_1k"),
            "g",
            f"{format_number(dig(block, f'{kind}_g_per_kwh'))} g/kWh; {where}",
        )
        for kind in ("average", "marginal")
    ]


def _training_rows(metrics: Mapping[str, Any]) -> list[Row]:
    training = dig(metrics, "training")
    if not isinstance(training, Mapping):
        return []
    mark = "measured" if dig(training, "energy", "measured") is True else "ESTIMATED"
    return [
        _figure(
            "training",
            "training_flops",
            metrics,
            detail=f"on {format_number(training.get('n_train'))} instances"
            + (f", counted by {printable(training.get('counted_by'), 30)}" if training.get("counted_by") else ""),
        ),
        _figure(
            "training",
            "training_energy_kwh",
            metrics,
            detail=f"{mark} ({printable(dig(training, 'energy', 'energy_source'), 60)})",
        ),
        _figure("training", "training_co2e_kg", metrics, detail=mark),
        Row("training", "training wall time", format_number(training.get("wall_s")), "s"),
    ]


SECTIONS = {
    "quality": "Quality",
    "inference": "Inference compute (per instance)",
    "energy": "Inference energy and CO2e (per 1k instances)",
    "training": "Training (the whole training, paid once)",
    "failure": "Failure",
}


def price_tag_rows(record: RunRecord) -> list[Row]:
    """The rows of a run's price tag, in display order, for both renderers."""
    run = record.run
    if run.get("status") == "failed":
        failure = dig(run, "failure") or {}
        rows = [
            Row("failure", "kind", printable(dig(failure, "kind"), 40)),
            Row("failure", "reason", _first_line(dig(failure, "reason"))),
        ]
        tail = dig(failure, "stderr_tail")
        lines = str(tail).splitlines()[-STDERR_LINES:] if tail else []
        rows += [Row("failure", "child's stderr" if i == 0 else "", printable(line, 200)) for i, line in enumerate(lines)]
        return rows
    metrics = record.metrics
    rows = _quality_rows(metrics) + _inference_rows(metrics) + _energy_rows(metrics) + _training_rows(metrics)
    return _once(rows)


def _once(rows: list[Row]) -> list[Row]:
    """A warning about a block (latency spread, active share) shows under its first figure only."""
    seen: set[str] = set()
    out = []
    for row in rows:
        fresh = tuple(w for w in row.warnings if w not in seen)
        seen.update(fresh)
        out.append(replace(row, warnings=fresh) if fresh != row.warnings else row)
    return out


def _header(record: RunRecord) -> list[str]:
    run = record.run
    task, sub, prof = (dig(run, k) or {} for k in ("task", "submission", "profile"))
    match = dig(run, "profile_match") or {}
    reasons = match.get("reasons") if isinstance(match, Mapping) else None
    hardware = (
        "matches the profile"
        if dig(match, "matched") is True
        else "DOES NOT match the profile: "
        + "; ".join(printable(r) for r in (reasons if isinstance(reasons, list) else []))
    )
    return [
        f"run      {record.path}",
        f"task     {printable(dig(task, 'name'), 40)}   submission {printable(dig(sub, 'name'), 60)} "
        f"{printable(dig(sub, 'version'), 20)}   profile {printable(dig(prof, 'name'), 40)}   status {printable(run.get('status'), 20)}",
        f"hardware {hardware}",
    ]


def render_text(rows: list[Row]) -> str:
    """Sections with a heading each; columns label, value, unit, detail; warnings indented below."""
    if not rows:
        return ""
    width = max(len(r.label) for r in rows)
    vwidth = (
        max(len(r.value) for r in rows if r.section != "failure") if any(r.section != "failure" for r in rows) else 0
    )
    uwidth = max(len(r.unit) for r in rows)
    out: list[str] = []
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            out += ["", SECTIONS.get(section, section)]
        if row.section == "failure":
            out.append(f"  {row.label.ljust(width)}  {row.value}")
            continue
        line = f"  {row.label.ljust(width)}  {row.value.rjust(vwidth)} {row.unit.ljust(uwidth)}  {row.detail}"
        out.append(line.rstrip())
        out += [f"  {' ' * width}  ! {w}" for w in row.warnings]
    return "\n".join(out)


def price_tag(record: RunRecord) -> str:
    """A plain-text price tag a person reads in a terminal (`greenbench show`)."""
    return "\n".join(_header(record)) + "\n" + render_text(price_tag_rows(record))


def render_html(rows: list[Row]) -> str:
    """The same rows as an HTML table (the board's entry page); every field is escaped here."""
    out = ['<table class="price-tag">']
    section = None
    for row in rows:
        if row.section != section:
            if section is not None:
                out.append("</tbody>")
            section = row.section
            out.append(
                f'<tbody class="{escape(section)}"><tr class="section"><th colspan="4">{escape(SECTIONS.get(section, section))}</th></tr>'
            )
        out.append(
            "<tr>"
            + "".join(f"<td>{escape(cell)}</td>" for cell in (row.label, row.value, row.unit, row.detail))
            + "</tr>"
        )
        out += [f'<tr class="warning"><td></td><td colspan="3">&#9888; {escape(w)}</td></tr>' for w in row.warnings]
    if section is not None:
        out.append("</tbody>")
    out.append("</table>")
    return "\n".join(out)


def price_tag_html(record: RunRecord) -> str:
    return render_html(price_tag_rows(record))
