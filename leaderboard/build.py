"""Build the static site: one page per task x profile, one per entry, and the methodology.

Everything from a record is data: jinja2 autoescapes it, links are kept only when http(s), and
file names come from slugs. Directions and units come from ``benchmark.metrics.METRICS``.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from benchmark.metrics import METRICS
from leaderboard.charts import ChartPoint, histogram_svg, pareto_svg
from leaderboard.collect import BoardRun, collect_runs, default_roots, find_run_dirs, slug
from leaderboard.fragments import (
    COLUMNS,
    entry_href,
    fmt,
    markdown_lite,
    operating_points,
    primary_and_ood,
    run_section,
    safe_url,
    table_row,
)

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


def _diagnostic_figure(run: BoardRun) -> Markup:
    """The entry's own per-run figure from its diagnostics (the early-exit histogram)."""
    diagnostics = run.metrics.get("diagnostics") or {}
    hist = diagnostics.get("exit_layer_histogram")
    if not isinstance(hist, dict):
        return Markup("")
    threshold = diagnostics.get("threshold")
    title = f"Exit layer (threshold {threshold})" if isinstance(threshold, int | float) else "Exit layer"
    return histogram_svg(hist, title, "layer at which instances left")


def _charts(runs: list[BoardRun], labels: dict[str, str] | None = None) -> list[Markup]:
    charts = []
    for key, scale, unit in CHART_AXES:
        points = [
            ChartPoint(
                x=r.values.get(key),
                y=r.values.get("accuracy"),
                label=r.submission,
                series=r.submission,
                href=entry_href(r),
                hover=f"{r.submission} {r.version} {(labels or {}).get(r.run_id, '')}: accuracy {fmt(r.values.get('accuracy'))}, "
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
        points = operating_points(members)
        front = [f | {"point": points.get(f["run"].run_id, "")} for f in _front_summary(members)]
        front_ids = {f["run"].run_id for f in front}
        has_ood = any(primary_and_ood(r)[1] for r in members)
        html = env.get_template("task.html.j2").render(
            task=task,
            profile=profile,
            rows=[table_row(r, has_ood, r.run_id in front_ids, points.get(r.run_id, "")) for r in members],
            columns=COLUMNS,
            charts=_charts(members, points),
            metrics=METRICS,
            front=front,
            has_ood=has_ood,
        )
        (out / _task_page(task, profile)).write_text(html, encoding="utf-8")
    else:
        members = _STATE["entries"][key[1]]
        sections = [run_section(r, _diagnostic_figure(r)) for r in members]
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
