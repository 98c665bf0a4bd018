"""Build the static site: one page per task x profile, one per entry, and the methodology.

Everything from a record is data: jinja2 autoescapes it, links are kept only when http(s), and
file names come from slugs. Directions and units come from ``benchmark.metrics.METRICS``.
"""

from __future__ import annotations

import re
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from benchmark.metrics import METRICS
from leaderboard.charts import ChartPoint, pareto_svg
from leaderboard.collect import BoardRun, collect, default_roots, slug

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FIGURE_SUFFIXES = {".svg", ".png", ".jpg", ".jpeg"}

# The cost axes of the Pareto charts, each with the display scale of its tick labels.
CHART_AXES = (
    ("inference_flops_per_instance", 1e-9, "GFLOP"),
    ("latency_ms_p50", 1.0, "ms"),
    ("energy_kwh_per_1k", 1000.0, "Wh"),
    ("co2e_kg_per_1k", 1000.0, "g"),
    ("training_energy_kwh", 1000.0, "Wh"),
)


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


def markdown_lite(text: str) -> Markup:
    """Our own docs to HTML: headings, paragraphs, lists, tables, `code`, **bold**. Escapes first."""

    def inline(s: str) -> str:
        s = str(escape(s))
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


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.globals["safe_url"] = safe_url
    return env


def _primary_and_ood(run: BoardRun) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    primary = next((b | {"name": n} for n, b in run.eval_sets.items() if b.get("role", "id") == "id"), None)
    ood = next((b | {"name": n} for n, b in run.eval_sets.items() if b.get("role") == "ood"), None)
    return primary, ood


def _row(run: BoardRun) -> dict[str, Any]:
    primary, ood = _primary_and_ood(run)
    return {
        "run": run,
        "primary": primary,
        "ood": ood,
        "cells": [
            {
                "value": run.values.get(c.key),
                "display": fmt(None if run.values.get(c.key) is None else run.values[c.key] * c.scale),
                "kind": c.kind,
            }
            for c in COLUMNS
        ],
        "href": f"entry-{run.entry_slug}.html#{run.run_id}",
    }


def _charts(runs: list[BoardRun]) -> list[Markup]:
    charts = []
    for key, scale, unit in CHART_AXES:
        points = [
            ChartPoint(
                x=r.values.get(key),
                y=r.values.get("accuracy"),
                label=r.submission,
                series=r.submission,
                href=f"entry-{r.entry_slug}.html#{r.run_id}",
                hover=f"{r.submission} {r.version}: accuracy {fmt(r.values.get('accuracy'))}, "
                f"{METRICS[key].label} {fmt(None if r.values.get(key) is None else r.values[key] * scale)} {unit}",
            )
            for r in runs
        ]
        charts.append(pareto_svg(points, key, "accuracy", x_display=scale, x_unit=unit))
    return charts


def _front_summary(runs: list[BoardRun]) -> list[dict[str, Any]]:
    """The entries on the accuracy-vs-energy front, cheapest first: the board in one sentence."""
    from leaderboard.pareto import pareto_front

    usable = [r for r in runs if r.values.get("energy_kwh_per_1k") is not None and r.values.get("accuracy") is not None]
    front = pareto_front([(r.values["energy_kwh_per_1k"], r.values["accuracy"]) for r in usable], (False, True))
    members = sorted((usable[i] for i in front), key=lambda r: r.values["energy_kwh_per_1k"])
    return [
        {"run": r, "accuracy": r.values["accuracy"], "wh_per_1k": r.values["energy_kwh_per_1k"] * 1000} for r in members
    ]


def _copy_figures(submission_roots: list[Path], out: Path) -> dict[str, list[str]]:
    """Each entry's own figures (``submissions/<name>/figures/*``), copied beside the pages."""
    figures: dict[str, list[str]] = defaultdict(list)
    for results in submission_roots:
        folder = results.parent / "figures"
        if not folder.is_dir():
            continue
        entry = slug(results.parent.name)
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in FIGURE_SUFFIXES and path.is_file():
                target = out / "figures" / entry / slug(path.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                figures[entry].append(f"figures/{entry}/{target.name}")
    return figures


def build_site(out: Path, extra_roots: list[Path] | None = None, committed: bool = True) -> dict[str, Any]:
    """Write the site into ``out`` from the committed records (unless ``committed`` is False) and
    ``extra_roots``; returns counts, problems and timing for the caller to report."""
    t0 = time.perf_counter()
    committed_roots = default_roots(REPO) if committed else []
    runs, problems = collect([*committed_roots, *(extra_roots or [])])
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(HERE / "static", out / "static", dirs_exist_ok=True)
    env = _environment()
    figures = _copy_figures(committed_roots, out)

    boards: dict[tuple[str, str], list[BoardRun]] = defaultdict(list)
    entries: dict[str, list[BoardRun]] = defaultdict(list)
    for run in runs:
        boards[(run.task, run.profile)].append(run)
        entries[run.entry_slug].append(run)
    board_index = []
    for (task, profile), members in sorted(boards.items()):
        members.sort(key=lambda r: -(r.values.get("accuracy") or 0.0))
        page = f"task-{slug(task)}-{slug(profile)}.html"
        board_index.append(
            {
                "task": task,
                "profile": profile,
                "page": page,
                "n": len(members),
                "entries": len({r.submission for r in members}),
                "estimated": sum(1 for r in members if r.energy_measured is False),
            }
        )
        html = env.get_template("task.html.j2").render(
            task=task,
            profile=profile,
            rows=[_row(r) for r in members],
            columns=COLUMNS,
            charts=_charts(members),
            metrics=METRICS,
            front=_front_summary(members),
            has_ood=any(_primary_and_ood(r)[1] for r in members),
        )
        (out / page).write_text(html, encoding="utf-8")
    for entry_slug, members in sorted(entries.items()):
        members.sort(key=lambda r: (r.task, r.profile, r.finished_at))
        html = env.get_template("entry.html.j2").render(
            entry=members[0],
            runs=[_row(r) for r in members],
            columns=COLUMNS,
            figures=figures.get(entry_slug, []),
        )
        (out / f"entry-{entry_slug}.html").write_text(html, encoding="utf-8")
    methodology = (REPO / "docs" / "methodology.md").read_text(encoding="utf-8")
    (out / "methodology.html").write_text(
        env.get_template("methodology.html.j2").render(body=markdown_lite(methodology)), encoding="utf-8"
    )
    (out / "index.html").write_text(
        env.get_template("index.html.j2").render(boards=board_index, n_runs=len(runs), problems=problems),
        encoding="utf-8",
    )
    weight = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "runs": len(runs),
        "boards": len(board_index),
        "entries": len(entries),
        "problems": problems,
        "seconds": time.perf_counter() - t0,
        "bytes": weight,
    }
