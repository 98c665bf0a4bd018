"""Build the static site: an index, one page per task x profile, one per entry, the methodology,
and each board's data as CSV/JSON plus ``runs.jsonl``.

The board knows nothing of the repository: the caller gives the record roots, the methodology
text and where entries keep their figures. Everything from a record is data (see ``safe``).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import shutil
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from leaderboard.collect import BoardRun, collect_runs, find_run_dirs
from leaderboard.downloads import point_row, run_line, write_board
from leaderboard.entry import entry_body, manifest_rows, run_body
from leaderboard.figures import copy_figures
from leaderboard.markdown import markdown_lite
from leaderboard.pages import summary, task_context
from leaderboard.points import Point, collapse
from leaderboard.safe import CSP, fmt, safe_url, slug

HERE = Path(__file__).resolve().parent
PARALLEL_THRESHOLD = 2000  # below this many records, worker start-up costs more than it saves
_STATE: dict[str, Any] = {}  # what forked page renderers inherit (no pickling of the runs)

__all__ = ["build_site", "markdown_lite", "safe_url"]


def _environment(footer: dict[str, str]) -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.globals.update(csp=CSP, footer=footer)
    return env


def _workers(n_items: int) -> int:
    if n_items < PARALLEL_THRESHOLD or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except AttributeError:
        return max(1, min(4, os.cpu_count() or 1))


def task_page(task: str, profile: str) -> str:
    return f"task-{slug(task)}-{slug(profile)}.html"


def _render_page(key: tuple[str, ...]) -> None:
    env, out = _STATE["env"], _STATE["out"]
    if key[0] == "task":
        task, profile = key[1], key[2]
        points = _STATE["points"][(task, profile)]
        context = task_context(task, profile, points)
        stem = task_page(task, profile)[:-5]
        html = env.get_template("task.html.j2").render(**context, stem=stem)
        (out / f"{stem}.html").write_text(html, encoding="utf-8")
        on_front = context["front_ids"]
        write_board(out, stem, task, profile, [point_row(p, id(p) in on_front) for p in points])
    else:
        runs: list[BoardRun] = _STATE["entries"][key[1]]
        mine = _STATE["by_entry"].get(key[1], {})
        html = env.get_template("entry.html.j2").render(
            entry=runs[-1],
            manifest=manifest_rows(runs[-1].manifest),
            body=entry_body(runs, {b: pts for b, pts in mine.items() if pts}),
            figures=_STATE["figures"].get(key[1], []),
        )
        (out / f"entry-{key[1]}.html").write_text(html, encoding="utf-8")


def _read_chunk(paths: list[Path]) -> tuple[list[BoardRun], list[str]]:
    """Read records and render what needs the whole record (entry section, runs.jsonl line) right
    here, then drop the bulky parts: a worker sends back strings, not every record's metrics."""
    runs, problems = collect_runs(paths)
    light = [
        replace(r, body=run_body(r), line=run_line(r), metrics={}, export=None, environment={}, diagnostics={})
        for r in runs
    ]
    return light, problems


def _read(paths: list[Path], workers: int) -> tuple[list[BoardRun], list[str]]:
    if workers == 1:
        return _read_chunk(paths)
    runs: list[BoardRun] = []
    problems: list[str] = []
    chunks = [paths[k::workers] for k in range(workers)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for chunk_runs, chunk_problems in pool.map(_read_chunk, chunks):
            runs += chunk_runs
            problems += chunk_problems
    return runs, problems


def _index_rows(points: dict[tuple[str, str], list[Point]]) -> list[dict[str, Any]]:
    rows = []
    for (task, profile), members in sorted(points.items()):
        context = summary(members)
        rows.append(
            {
                "task": task,
                "profile": profile,
                "page": task_page(task, profile),
                "points": len(members),
                "runs": sum(len(p.runs) for p in members),
                "entries": sorted({p.entry for p in members}),
                "headline": context["headline"],
                "best": context["best"],
                "banner": context["banner"],
                "estimated": sum(1 for p in members if not p.measured),
            }
        )
    return rows


def build_site(
    out: Path,
    roots: list[Path],
    methodology: str | None = None,
    strict: bool = False,
    figure_roots: list[Path] | None = None,
    commit: str | None = None,
    built_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Write the site into ``out`` from the records under ``roots``; returns counts, problems and
    timing. A record that cannot be shown is skipped and named in ``problems``; with ``strict``
    the report says ``failed`` when there is any (the CLI turns that into exit 1).

    ``figure_roots`` hold ``<entry>/figures/*`` (the submissions folder); ``commit`` and
    ``built_at`` (default: now) are printed in the footer and the citation, so two builds of the
    same records at the same ``built_at`` are byte-identical. Large boards are read and rendered by forked workers (one per core, up to 4).
    """
    t0 = time.perf_counter()
    paths, problems = find_run_dirs(roots)
    workers = _workers(len(paths))
    runs, more = _read(paths, workers)
    problems += more
    runs.sort(key=lambda r: str(r.path))
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(HERE / "static", out / "static", dirs_exist_ok=True)
    built = (built_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    env = _environment({"built": built, "commit": (commit or "unknown")[:40]})

    boards: dict[tuple[str, str], list[BoardRun]] = defaultdict(list)
    entries: dict[str, list[BoardRun]] = defaultdict(list)
    for run in runs:
        boards[(run.task, run.profile)].append(run)
        entries[run.entry_slug].append(run)
    points = {board: collapse(members) for board, members in boards.items()}
    for members in entries.values():
        members.sort(key=lambda r: (r.task, r.profile, r.finished_at))
    figures, figure_problems = copy_figures(figure_roots or [], out, set(entries))
    problems += figure_problems
    by_entry: dict[str, dict[tuple[str, str], list[Point]]] = defaultdict(lambda: defaultdict(list))
    for board, members in points.items():
        for point in members:
            by_entry[point.first.entry_slug][board].append(point)
    _STATE.update(env=env, out=out, points=points, entries=entries, figures=figures, by_entry=by_entry)
    keys = [("task", t, p) for t, p in sorted(boards)] + [("entry", e) for e in sorted(entries)]
    from benchmark.progress import track

    try:
        if workers > 1:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for _ in track(pool.imap_unordered(_render_page, keys), "render pages", len(keys), "page"):
                    pass
        else:
            for key in track(keys, "render pages", unit="page"):
                _render_page(key)
    finally:
        _STATE.clear()
    with (out / "runs.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines((r.line or run_line(r)) + "\n" for r in runs)
    body = markdown_lite(methodology) if methodology else None
    (out / "methodology.html").write_text(env.get_template("methodology.html.j2").render(body=body), encoding="utf-8")
    index = _index_rows(points)
    (out / "index.html").write_text(
        env.get_template("index.html.j2").render(boards=index, n_runs=len(runs), problems=problems), encoding="utf-8"
    )
    weight = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "runs": len(runs),
        "boards": len(index),
        "entries": len(entries),
        "problems": problems,
        "failed": bool(strict and problems),
        "seconds": time.perf_counter() - t0,
        "bytes": weight,
        "workers": workers,
    }
