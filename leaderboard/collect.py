"""Read run records into board rows. Records are untrusted input: each is validated by the
record reader, and one that fails is reported and left off the board, never half-shown."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import RecordError
from benchmark.record import find_runs, read_run
from benchmark.report import headline


def slug(text: str) -> str:
    """A file-name-safe id: whatever a record claims its name is, it cannot escape the site folder."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", str(text).lower()).strip("-.")
    return cleaned[:80] or "entry"


@dataclass(frozen=True)
class BoardRun:
    path: Path
    run_id: str
    task: str
    profile: str
    submission: str
    entry_slug: str
    version: str
    values: dict[str, Any]  # metric key -> value, keys from benchmark.metrics.METRICS
    eval_sets: dict[str, dict[str, Any]]
    energy_source: str | None
    energy_measured: bool | None
    region: str | None
    profile_matched: bool
    mismatch_reasons: tuple[str, ...]
    manifest: dict[str, Any]
    environment: dict[str, Any]
    config: dict[str, Any]
    finished_at: str
    sandbox: str = "none"
    metrics: dict[str, Any] = field(repr=False, default_factory=dict)


def to_board_run(record: Any) -> BoardRun:
    run, metrics = record.run, record.metrics
    energy = metrics.get("energy") or {}
    manifest = dict(run.get("submission") or {})
    match = run.get("profile_match") or {}
    name = str(manifest.get("name", "unknown"))
    return BoardRun(
        path=record.path,
        run_id=slug(f"{run['task'].get('name')}-{run['profile'].get('name')}-{str(run.get('job_key', ''))[:12]}"),
        task=str(run["task"].get("name")),
        profile=str(run["profile"].get("name")),
        submission=name,
        entry_slug=slug(name),
        version=str(manifest.get("version", "")),
        values=headline(metrics),
        eval_sets=dict(metrics.get("eval_sets") or {}),
        energy_source=energy.get("energy_source"),
        energy_measured=energy.get("measured"),
        region=(energy.get("carbon_per_1k") or {}).get("region"),
        profile_matched=bool(match.get("matched")),
        mismatch_reasons=tuple(str(r) for r in match.get("reasons") or ()),
        manifest=manifest,
        environment=dict(run.get("environment") or {}),
        config=dict(run.get("config") or {}),
        finished_at=str(run.get("finished_at", "")),
        sandbox=str(run.get("sandbox", "none")),
        metrics=metrics,
    )


def find_run_dirs(roots: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Every run folder under ``roots`` once; a root that is not a folder is a problem line."""
    paths: list[Path] = []
    problems: list[str] = []
    seen: set[Path] = set()
    for root in roots:
        if not root.is_dir():
            problems.append(f"{root}: not a folder, skipped")
            continue
        for run_dir in find_runs(root):
            key = run_dir.absolute()
            if key not in seen:
                seen.add(key)
                paths.append(run_dir)
    return paths, problems


def collect_runs(paths: Iterable[Path]) -> tuple[list[BoardRun], list[str]]:
    """Board rows for the complete runs among ``paths``; each unreadable record is one problem line."""
    runs: list[BoardRun] = []
    problems: list[str] = []
    for run_dir in paths:
        try:
            record = read_run(run_dir, with_predictions=False)
            if record.status == "complete":
                runs.append(to_board_run(record))
        except (RecordError, KeyError, TypeError, AttributeError, AssertionError) as exc:
            problems.append(f"{run_dir}: {exc}")
    return runs, problems


def collect(roots: Iterable[Path]) -> tuple[list[BoardRun], list[str]]:
    """Every complete run under ``roots``; problems come back as one line each."""
    paths, problems = find_run_dirs(roots)
    runs, more = collect_runs(paths)
    return runs, problems + more


def default_roots(repo: Path) -> list[Path]:
    """The committed records: ``submissions/*/results``."""
    return sorted(p for p in (repo / "submissions").glob("*/results") if p.is_dir())
