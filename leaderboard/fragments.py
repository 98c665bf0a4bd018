"""HTML fragments of the board, built as plain strings: a board can hold thousands of rows and a
hand-written row is several times faster than template attribute lookups. Every value that came
from a record passes through ``esc`` (html.escape, quotes included) before it is joined."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape as esc
from typing import Any

from markupsafe import Markup

from leaderboard.collect import BoardRun


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str
    scale: float  # display = stored value x scale
    kind: str  # "quality", "cost", "energy", "carbon"


COLUMNS = (
    Column("inference_flops_per_instance", "GFLOPs / inst.", "GFLOP", 1e-9, "cost"),
    Column("latency_ms_p50", "Latency p50", "ms", 1.0, "cost"),
    Column("latency_ms_p99", "Latency p99", "ms", 1.0, "cost"),
    Column("throughput_instances_per_s", "Throughput", "inst/s", 1.0, "cost"),
    Column("energy_kwh_per_1k", "Energy / 1k", "Wh", 1000.0, "energy"),
    Column("co2e_kg_per_1k", "CO2e / 1k", "g", 1000.0, "carbon"),
    Column("training_flops", "Train FLOPs", "PFLOP", 1e-15, "cost"),
    Column("training_energy_kwh", "Train energy", "Wh", 1000.0, "energy"),
    Column("training_co2e_kg", "Train CO2e", "g", 1000.0, "carbon"),
)


def fmt(value: Any) -> str:
    """Three significant figures, no exponent for everyday magnitudes."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e6:
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.2e}"


def safe_url(url: Any) -> str | None:
    """Only http(s) links become links; anything else (javascript:, data:) is shown as text."""
    return url if isinstance(url, str) and re.match(r"^https?://[^\s\"'<>]+$", url) else None


def primary_and_ood(run: BoardRun) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    primary = next((b | {"name": n} for n, b in run.eval_sets.items() if b.get("role", "id") == "id"), None)
    ood = next((b | {"name": n} for n, b in run.eval_sets.items() if b.get("role") == "ood"), None)
    return primary, ood


def entry_href(run: BoardRun) -> str:
    return f"entry-{run.entry_slug}.html#{run.run_id}"


def _sort_attr(value: Any) -> str:
    return "" if value is None else esc(str(value))


def _energy_mark(run: BoardRun, long: bool = False) -> str:
    source = esc(str(run.energy_source))
    if run.energy_measured is False:
        return (
            f' <span class="est" title="estimated: {source}">{"estimated (" + source + ")" if long else "est."}</span>'
        )
    return f' <span class="meas">measured ({source})</span>' if long else ""


def operating_points(runs: list[BoardRun]) -> dict[str, str]:
    """run_id -> "threshold=0.6" for entries with several runs on one board: the params whose
    values differ between those runs name each operating point."""
    by_entry: dict[str, list[BoardRun]] = {}
    for run in runs:
        by_entry.setdefault(run.submission, []).append(run)
    labels: dict[str, str] = {}
    for group in by_entry.values():
        if len(group) < 2:
            continue
        params = [run.manifest.get("params") or {} for run in group]
        keys = sorted({k for p in params for k in p if len({repr(q.get(k)) for q in params}) > 1})
        for run, p in zip(group, params, strict=True):
            if keys:
                labels[run.run_id] = ", ".join(f"{k}={p.get(k)}" for k in keys)
    return labels


def table_row(run: BoardRun, has_ood: bool, on_front: bool, point: str = "") -> Markup:
    """One ``<tr>`` of a task page's table; cells carry ``data-sort`` for the sorting script."""
    primary, ood = primary_and_ood(run)
    name = esc(run.submission) + (f' <span class="op">{esc(point)}</span>' if point else "")
    cells = [
        f'<td data-sort="{esc(run.submission + " " + point)}">'
        + ('<span class="front-mark" title="on the accuracy–energy Pareto front">★</span> ' if on_front else "")
        + f'<a href="{esc(entry_href(run))}">{name}</a> <span class="ver">{esc(run.version)}</span>'
        + (
            ""
            if run.profile_matched
            else f' <span class="warn" title="{esc("; ".join(run.mismatch_reasons))}">⚠</span>'
        )
        + "</td>"
    ]
    if primary:
        cells.append(
            f'<td data-sort="{_sort_attr(primary.get("accuracy"))}">{fmt(primary.get("accuracy"))} '
            f'<span class="ci">({fmt(primary.get("accuracy_ci95_low"))}–{fmt(primary.get("accuracy_ci95_high"))})</span></td>'
        )
    else:
        cells.append('<td data-sort="">–</td>')
    if has_ood:
        cells.append(
            f'<td data-sort="{_sort_attr(ood.get("accuracy"))}">{fmt(ood.get("accuracy"))} <span class="ci">{esc(str(ood["name"]))}</span></td>'
            if ood
            else '<td data-sort="">–</td>'
        )
    for column in COLUMNS:
        value = run.values.get(column.key)
        shown = fmt(None if value is None else value * column.scale)
        mark = _energy_mark(run) if column.kind in ("energy", "carbon") and value is not None else ""
        cells.append(f'<td data-sort="{_sort_attr(value)}">{shown}{mark}</td>')
    cells.append(f'<td data-sort="{esc(run.region or "")}">{esc(run.region or "–")}</td>')
    return Markup("<tr>" + "".join(cells) + "</tr>")


def price_tag_rows(run: BoardRun) -> list[tuple[str, str]]:
    """(label, html) pairs of an entry page's price tag; labels are plain text, escaped on output."""
    rows: list[tuple[str, str]] = []
    for name, block in run.eval_sets.items():
        rows.append(
            (
                f"Accuracy · {name} ({block.get('role', 'id')})",
                f'{fmt(block.get("accuracy"))} <span class="ci">95% CI {fmt(block.get("accuracy_ci95_low"))}–'
                f"{fmt(block.get('accuracy_ci95_high'))}, n={esc(str(block.get('n')))}</span>",
            )
        )
        for key, label in (("macro_f1", "Macro-F1"), ("f1_positive", "F1 (positive)")):
            if key in block:
                rows.append((f"{label} · {name}", fmt(block[key])))
    for column in COLUMNS:
        value = run.values.get(column.key)
        mark = _energy_mark(run, long=True) if column.kind in ("energy", "carbon") and value is not None else ""
        rows.append((column.label, f"{fmt(None if value is None else value * column.scale)} {column.unit}{mark}"))
    energy = run.metrics.get("energy") or {}
    carbon = energy.get("carbon_per_1k") or {}
    if carbon:
        rows.append(
            (
                "CO2e intensity",
                esc(
                    f"{carbon.get('region')}: {fmt(carbon.get('intensity_g_per_kwh'))} g/kWh "
                    f"({carbon.get('intensity_source')}, {carbon.get('intensity_year') or 'year n/a'}), "
                    f"PUE {carbon.get('pue')}"
                ),
            )
        )
        refs = " · ".join(
            f"{region} {fmt((ref.get('co2e_kg') or 0) * 1000)} g"
            for region, ref in (carbon.get("reference_regions") or {}).items()
        )
        rows.append(("CO2e / 1k at reference grids", esc(refs)))
    if energy.get("components_j_active"):
        parts = " · ".join(f"{k} {fmt(v)} J" for k, v in energy["components_j_active"].items())
        rows.append(
            (
                "Energy by component (active)",
                esc(f"{parts} over {fmt(energy.get('window_s'))} s, {energy.get('n_instances')} instances"),
            )
        )
    latency = run.metrics.get("latency") or {}
    if latency:
        rows.append(
            (
                "Latency spread",
                esc(
                    f"p90 {fmt(latency.get('latency_ms_p90'))} ms · CV {fmt(latency.get('latency_cv'))}"
                    f" · n={latency.get('n_samples')} in {latency.get('repeats')} repeats"
                ),
            )
        )
    training = run.metrics.get("training") or {}
    if training.get("from_cache"):
        rows.append(
            ("Training", "weights reused from an earlier run of this entry: its record holds the training cost")
        )
    return rows


def provenance_rows(run: BoardRun) -> list[tuple[str, str]]:
    env = run.environment

    def git(key: str) -> str:
        info = env.get(key) or {}
        return f"{info.get('commit') or 'unknown'}" + (" (uncommitted changes)" if info.get("dirty") else "")

    gpus = ", ".join(str(g.get("name")) for g in env.get("gpus") or []) or "none"
    config = run.config
    rows = [
        ("Harness commit", git("harness_git")),
        ("Submission commit", git("submission_git")),
        ("Submission code sha256", env.get("submission_code_sha256")),
        ("CPU", f"{env.get('cpu_model')} ({env.get('cpu_cores')} cores)"),
        ("GPU", gpus),
        ("Software", f"Python {env.get('python')}, torch {env.get('torch')}, transformers {env.get('transformers')}"),
        (
            "Config",
            f"train {config.get('n_train')}, eval {config.get('n_eval')}, limit {config.get('limit')}, "
            f"seed {config.get('seed')}, params {run.manifest.get('params')}",
        ),
        ("Sandbox", run.sandbox),
        ("Finished", run.finished_at),
    ]
    return [(label, esc(str(value))) for label, value in rows]


def run_section(run: BoardRun, figure: str) -> Markup:
    """One run on an entry page: heading, price tag, the entry's own figure, provenance."""
    warn = (
        ""
        if run.profile_matched
        else f' <span class="warn">⚠ hardware did not match the profile: {esc("; ".join(run.mismatch_reasons))}</span>'
    )
    tag = "".join(f"<tr><th>{esc(label)}</th><td>{value}</td></tr>" for label, value in price_tag_rows(run))
    prov = "".join(f"<dt>{esc(label)}</dt><dd>{value}</dd>" for label, value in provenance_rows(run))
    return Markup(
        f'<section class="run" id="{esc(run.run_id)}"><h2>{esc(run.task)} · profile {esc(run.profile)}{warn}</h2>'
        f'<table class="pricetag"><tbody>{tag}</tbody></table>'
        + (f'<figure class="diag">{figure}</figure>' if figure else "")
        + f'<details><summary>Provenance</summary><dl class="meta">{prov}</dl></details></section>'
    )


def markdown_lite(text: str) -> Markup:
    """Our own docs to HTML: headings, paragraphs, lists, tables, `code`, **bold**. Escapes first."""

    def inline(s: str) -> str:
        s = esc(s, quote=False)
        s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
        return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)

    html: list[str] = []
    lines = text.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            html.append(f"<h{level + 1}>{inline(line.lstrip('#').strip())}</h{level + 1}>")
        elif line.startswith("|"):
            rows = []
            while k < len(lines) and lines[k].startswith("|"):
                cells = [c.strip() for c in lines[k].strip("|").split("|")]
                if not all(set(c) <= set("-: ") for c in cells):
                    rows.append(cells)
                k += 1
            k -= 1
            head, *body = rows
            html.append("<table><thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + "</tr></thead><tbody>")
            html.extend("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in body)
            html.append("</tbody></table>")
        elif re.match(r"^(\d+\.|-) ", line):
            tag = "ol" if line[0].isdigit() else "ul"
            items = []
            while k < len(lines) and (re.match(r"^(\d+\.|-) ", lines[k]) or lines[k].startswith("   ")):
                if lines[k].startswith("   "):
                    items[-1] += " " + lines[k].strip()
                else:
                    items.append(re.sub(r"^(\d+\.|-) ", "", lines[k]))
                k += 1
            k -= 1
            html.append(f"<{tag}>" + "".join(f"<li>{inline(i)}</li>" for i in items) + f"</{tag}>")
        elif line.strip():
            para = [line.strip()]
            while k + 1 < len(lines) and lines[k + 1].strip() and not re.match(r"^(#|\||-|\d+\.)", lines[k + 1]):
                k += 1
                para.append(lines[k].strip())
            html.append(f"<p>{inline(' '.join(para))}</p>")
        k += 1
    return Markup("\n".join(html))
