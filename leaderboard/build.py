"""Build the static site: one page per task x profile, one per entry, and the methodology.

Everything from a record is data: jinja2 autoescapes it, links are kept only when http(s), and
file names come from slugs. Directions and units come from ``benchmark.metrics.METRICS``.
"""

from __future__ import annotations

import multiprocessing
import os
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
from leaderboard.charts import ChartPoint, histogram_svg, pareto_svg
from leaderboard.collect import BoardRun, collect_runs, default_roots, find_run_dirs, slug

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


def _mark(run: BoardRun) -> Markup:
    if run.energy_measured is False:
        return Markup('<span class="est">estimated ({})</span>').format(run.energy_source)
    return Markup('<span class="meas">measured ({})</span>').format(run.energy_source)


def price_tag_rows(run: BoardRun) -> list[tuple[str, Markup]]:
    """The entry page's price tag, built here rather than in the template: an entry page can hold
    hundreds of runs, and plain Python is several times faster than template attribute lookups."""
    rows: list[tuple[str, Markup]] = []
    for name, block in run.eval_sets.items():
        rows.append(
            (
                f"Accuracy · {name} ({block.get('role', 'id')})",
                Markup('{} <span class="ci">95% CI {}–{}, n={}</span>').format(
                    fmt(block.get("accuracy")),
                    fmt(block.get("accuracy_ci95_low")),
                    fmt(block.get("accuracy_ci95_high")),
                    block.get("n"),
                ),
            )
        )
        for key, label in (("macro_f1", "Macro-F1"), ("f1_positive", "F1 (positive)")):
            if key in block:
                rows.append((f"{label} · {name}", Markup("{}").format(fmt(block[key]))))
    for column in COLUMNS:
        value = run.values.get(column.key)
        shown = fmt(None if value is None else value * column.scale)
        cell = Markup("{} {}").format(shown, column.unit)
        if column.kind in ("energy", "carbon") and value is not None:
            cell += Markup(" ") + _mark(run)
        rows.append((column.label, cell))
    energy = run.metrics.get("energy") or {}
    carbon = energy.get("carbon_per_1k") or {}
    if carbon:
        rows.append(
            (
                "CO2e intensity",
                Markup("{}: {} g/kWh ({}, {}), PUE {}").format(
                    carbon.get("region"),
                    fmt(carbon.get("intensity_g_per_kwh")),
                    carbon.get("intensity_source"),
                    carbon.get("intensity_year") or "year n/a",
                    carbon.get("pue"),
                ),
            )
        )
        refs = " · ".join(
            f"{region} {fmt((ref.get('co2e_kg') or 0) * 1000)} g"
            for region, ref in (carbon.get("reference_regions") or {}).items()
        )
        rows.append(("CO2e / 1k at reference grids", Markup("{}").format(refs)))
    if energy.get("components_j_active"):
        parts = " · ".join(f"{k} {fmt(v)} J" for k, v in energy["components_j_active"].items())
        rows.append(
            (
                "Energy by component (active)",
                Markup("{} over {} s, {} instances").format(
                    parts, fmt(energy.get("window_s")), energy.get("n_instances")
                ),
            )
        )
    latency = run.metrics.get("latency") or {}
    if latency:
        rows.append(
            (
                "Latency spread",
                Markup("p90 {} ms · CV {} · n={} in {} repeats").format(
                    fmt(latency.get("latency_ms_p90")),
                    fmt(latency.get("latency_cv")),
                    latency.get("n_samples"),
                    latency.get("repeats"),
                ),
            )
        )
    return rows


def provenance_rows(run: BoardRun) -> list[tuple[str, Markup]]:
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
            f"train {config.get('n_train')}, eval {config.get('n_eval')}, limit {config.get('limit')}, seed {config.get('seed')}",
        ),
        ("Sandbox", run.sandbox),
        ("Finished", run.finished_at),
    ]
    return [(label, Markup("{}").format(value)) for label, value in rows]


def _diagnostic_figure(run: BoardRun) -> Markup:
    """The entry's own per-run figure from its diagnostics (the early-exit histogram)."""
    diagnostics = run.metrics.get("diagnostics") or {}
    hist = diagnostics.get("exit_layer_histogram")
    if not isinstance(hist, dict):
        return Markup("")
    threshold = diagnostics.get("threshold")
    title = f"Exit layer (threshold {threshold})" if isinstance(threshold, int | float) else "Exit layer"
    return histogram_svg(hist, title, "layer at which instances left")


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


PARALLEL_THRESHOLD = 2000  # below this many records, worker start-up costs more than it saves
_STATE: dict[str, Any] = {}  # what forked page renderers inherit (no pickling of the runs)


def _workers(n_items: int) -> int:
    if n_items < PARALLEL_THRESHOLD or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except AttributeError:
        return max(1, min(4, os.cpu_count() or 1))


def _collect_chunk(paths: list[Path]) -> tuple[list[BoardRun], list[str]]:
    return collect_runs(paths)


def _render_page(key: tuple[str, ...]) -> None:
    env, out = _STATE["env"], _STATE["out"]
    if key[0] == "task":
        task, profile = key[1], key[2]
        members = _STATE["boards"][(task, profile)]
        front = _front_summary(members)
        html = env.get_template("task.html.j2").render(
            task=task,
            profile=profile,
            rows=[_row(r) for r in members],
            columns=COLUMNS,
            charts=_charts(members),
            metrics=METRICS,
            front=front,
            front_ids={f["run"].run_id for f in front},
            has_ood=any(_primary_and_ood(r)[1] for r in members),
        )
        (out / _task_page(task, profile)).write_text(html, encoding="utf-8")
    else:
        members = _STATE["entries"][key[1]]
        sections = [
            {
                "run": r,
                "price_tag": price_tag_rows(r),
                "provenance": provenance_rows(r),
                "figure": _diagnostic_figure(r),
            }
            for r in members
        ]
        html = env.get_template("entry.html.j2").render(
            entry=members[0], sections=sections, figures=_STATE["figures"].get(key[1], [])
        )
        (out / f"entry-{key[1]}.html").write_text(html, encoding="utf-8")


def _task_page(task: str, profile: str) -> str:
    return f"task-{slug(task)}-{slug(profile)}.html"


def build_site(out: Path, extra_roots: list[Path] | None = None, committed: bool = True) -> dict[str, Any]:
    """Write the site into ``out`` from the committed records (unless ``committed`` is False) and
    ``extra_roots``; returns counts, problems and timing for the caller to report.

    Large boards are read and rendered by forked workers (one per core, up to 4): both steps are
    CPU-bound and each record and page is independent.
    """
    t0 = time.perf_counter()
    committed_roots = default_roots(REPO) if committed else []
    paths, problems = find_run_dirs([*committed_roots, *(extra_roots or [])])
    workers = _workers(len(paths))
    runs: list[BoardRun] = []
    if workers > 1:
        chunks = [paths[k::workers] for k in range(workers)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for chunk_runs, chunk_problems in pool.map(_collect_chunk, chunks):
                runs += chunk_runs
                problems += chunk_problems
    else:
        runs, more = collect_runs(paths)
        problems += more
    runs.sort(key=lambda r: str(r.path))
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(HERE / "static", out / "static", dirs_exist_ok=True)
    env = _environment()

    boards: dict[tuple[str, str], list[BoardRun]] = defaultdict(list)
    entries: dict[str, list[BoardRun]] = defaultdict(list)
    for run in runs:
        boards[(run.task, run.profile)].append(run)
        entries[run.entry_slug].append(run)
    for members in boards.values():
        members.sort(key=lambda r: -(r.values.get("accuracy") or 0.0))
    for members in entries.values():
        members.sort(key=lambda r: (r.task, r.profile, r.finished_at))
    _STATE.update(env=env, out=out, boards=boards, entries=entries, figures=_copy_figures(committed_roots, out))
    keys = [("task", t, p) for t, p in sorted(boards)] + [("entry", e) for e in sorted(entries)]
    try:
        if workers > 1:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                pool.map(_render_page, keys, chunksize=1)
        else:
            for key in keys:
                _render_page(key)
    finally:
        _STATE.clear()
    board_index = [
        {
            "task": task,
            "profile": profile,
            "page": _task_page(task, profile),
            "n": len(members),
            "entries": len({r.submission for r in members}),
            "estimated": sum(1 for r in members if r.energy_measured is False),
        }
        for (task, profile), members in sorted(boards.items())
    ]
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
        "workers": workers,
    }
