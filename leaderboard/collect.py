"""Read run records into board rows. Records are untrusted input: each is read by the record reader
and then checked field by field here; one that fails is left off the board with one warning line
naming it, never half-shown, and the rest of the board still builds."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import RecordError
from benchmark.metric_table import METRICS, PRIMARY, primary_eval_set
from benchmark.record import find_runs, read_run
from leaderboard.safe import num, slug

FIGURE_KEYS = tuple(m.key for m in METRICS)
FRACTIONS = {"accuracy", "macro_f1", "f1_positive", "accuracy_ci95_low", "accuracy_ci95_high"}
FLOOR_ENTRIES = frozenset({"majority-class", "chance", "random"})  # baselines that set a task's floor


@dataclass(frozen=True)
class BoardRun:
    path: Path
    run_id: str
    job_key: str
    task: str
    profile: str
    submission: str
    entry_slug: str
    version: str
    seed: int | None
    params: dict[str, Any]
    values: dict[str, float]  # metric key -> checked finite figure >= 0 in the metric's unit
    ci: tuple[float | None, float | None]  # 95% CI of the primary accuracy
    primary_set: str
    n_eval: int | None
    ood: tuple[str, float] | None
    energy_source: str
    energy_measured: bool
    region: str | None
    pue: float | None
    training_shared: bool  # weights reused: its training figures are the run that trained them
    profile_matched: bool
    mismatch_reasons: tuple[str, ...]
    manifest: dict[str, Any]
    environment: dict[str, Any]
    config: dict[str, Any]
    finished_at: str
    sandbox: str = "none"
    flops_counted_by: str | None = None
    diagnostics: dict[str, Any] = field(repr=False, default_factory=dict)
    metrics: dict[str, Any] = field(repr=False, default_factory=dict)
    export: dict[str, Any] | None = field(repr=False, default=None)  # benchmark.export's row: runs.jsonl
    body: str | None = field(repr=False, default=None)  # entry-page section body, rendered by the reader
    line: str | None = field(repr=False, default=None)  # its runs.jsonl line, likewise

    @property
    def is_floor(self) -> bool:
        return self.submission in FLOOR_ENTRIES

    @property
    def accuracy(self) -> float | None:
        return self.values.get("accuracy")


def _walk(root: Any, path: Iterable[str], primary: str) -> Any:
    node = root
    for part in path:
        part = primary if part == PRIMARY else part
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _figure(value: Any, where: str, fraction: bool = False) -> float | None:
    """A figure is absent (None) or a finite number >= 0 (<= 1 for fractions); anything else
    makes the whole record unusable, because a board that shows part of a lie still lies."""
    if value is None:
        return None
    figure = num(value)
    if figure is None or figure < 0 or (fraction and figure > 1):
        shown = type(value).__name__ if not isinstance(value, int | float) else repr(value)
        bound = "in [0, 1]" if fraction else ">= 0"
        raise RecordError(f"metrics.json {where}: expected a finite number {bound}, got {shown}")
    return figure


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"{where}: expected an object, got {type(value).__name__}")
    return dict(value)


def _text(value: Any, where: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise RecordError(f"{where}: expected text, got {type(value).__name__}")
    return str(value)


def _values(metrics: dict[str, Any], primary: str) -> tuple[dict[str, float], bool]:
    values: dict[str, float] = {}
    training = _mapping(metrics.get("training"), "metrics.json training")
    shared = bool(training.get("from_cache"))
    for m in METRICS:
        figure = _figure(
            _walk(metrics, m.path, primary), "/".join(m.path).replace(PRIMARY, primary), m.key in FRACTIONS
        )
        if figure is not None:
            values[m.key] = figure
    return values, shared


def _ood(sets: dict[str, Any]) -> tuple[str, float] | None:
    for name, block in sets.items():
        if isinstance(block, dict) and block.get("role") == "ood":
            figure = _figure(block.get("accuracy"), f"eval_sets/{name}/accuracy", True)
            return (str(name), figure) if figure is not None else None
    return None


def to_board_run(record: Any) -> BoardRun:
    """A checked board row, or RecordError naming the first field that is not what it claims."""
    run, metrics = record.run, record.metrics
    task = _text(_mapping(run.get("task"), "run.json task").get("name"), "run.json task.name", "unknown")
    profile = _text(_mapping(run.get("profile"), "run.json profile").get("name"), "run.json profile.name", "unknown")
    manifest = _mapping(run.get("submission"), "run.json submission")
    name = _text(manifest.get("name"), "run.json submission.name", "unknown")
    params = _mapping(manifest.get("params"), "run.json submission.params")
    config = _mapping(run.get("config"), "run.json config")
    sets = _mapping(metrics.get("eval_sets"), "metrics.json eval_sets")
    primary = primary_eval_set(metrics) or ""
    block = _mapping(sets.get(primary), f"metrics.json eval_sets/{primary}")
    values, shared = _values(metrics, primary)
    ci = (
        _figure(block.get("accuracy_ci95_low"), f"eval_sets/{primary}/accuracy_ci95_low", True),
        _figure(block.get("accuracy_ci95_high"), f"eval_sets/{primary}/accuracy_ci95_high", True),
    )
    energy = _mapping(metrics.get("energy"), "metrics.json energy")
    carbon = _mapping(energy.get("carbon_per_1k"), "metrics.json energy.carbon_per_1k")
    flops = _mapping(metrics.get("flops"), "metrics.json flops")
    match = _mapping(run.get("profile_match"), "run.json profile_match")
    seed = config.get("seed")
    n_eval = num(block.get("n"))
    job_key = _text(run.get("job_key"), "run.json job_key")
    return BoardRun(
        path=record.path,
        run_id=slug("r" + job_key[:12]) if job_key else slug(str(record.path))[-40:],  # short: thousands per page
        job_key=job_key,
        task=task,
        profile=profile,
        submission=name,
        entry_slug=slug(name),
        version=_text(manifest.get("version"), "run.json submission.version"),
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        params=params,
        values=values,
        ci=ci,
        primary_set=primary,
        n_eval=int(n_eval) if n_eval is not None else None,
        ood=_ood(sets),
        energy_source=_text(energy.get("energy_source"), "metrics.json energy.energy_source", "unknown"),
        energy_measured=energy.get("measured") is True,
        region=_text(carbon.get("region"), "metrics.json energy.carbon_per_1k.region") or None,
        pue=num(carbon.get("pue")),
        training_shared=shared,
        profile_matched=match.get("matched") is True,
        mismatch_reasons=tuple(str(r) for r in match.get("reasons") or () if isinstance(match.get("reasons"), list)),
        manifest=manifest,
        environment=_mapping(run.get("environment"), "run.json environment"),
        config=config,
        finished_at=_text(run.get("finished_at"), "run.json finished_at"),
        sandbox=_text(run.get("sandbox"), "run.json sandbox", "none"),
        flops_counted_by=_text(flops.get("counted_by"), "metrics.json flops.counted_by") or None,
        diagnostics=_mapping(metrics.get("diagnostics"), "metrics.json diagnostics"),
        metrics=metrics,
        export=_export_row(record),
    )


def _export_row(record: Any) -> dict[str, Any] | None:
    """The Hub export's row of the record (every field, with units, sources and flags), so the
    board's runs.jsonl and ``greenbench export`` agree; the path is cut to the store layout
    (task/profile/entry/version-key) so no build machine's folders are published."""
    try:
        from benchmark.export import record_row

        row = record_row(record)
    except Exception:  # noqa: BLE001 - the export is optional here: runs.jsonl falls back to the board's row
        return None
    row["path"] = "/".join(Path(str(row.get("path", ""))).parts[-4:])
    return row


def params_label(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


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
    """Board rows for the complete runs among ``paths``; each unusable record is one problem line.

    Besides RecordError, any exception a malformed record provokes in the reader is caught here:
    the reader belongs to another module and a record must never take the board down with it.
    """
    runs: list[BoardRun] = []
    problems: list[str] = []
    for run_dir in paths:
        try:
            record = read_run(run_dir, with_predictions=False)
            if record.status == "complete":
                runs.append(to_board_run(record))
        except RecordError as exc:
            message = str(exc).splitlines()[0][:400]
            problems.append(message if message.startswith(str(run_dir)) else f"{run_dir}: {message}")
        except (KeyError, TypeError, ValueError, AttributeError, AssertionError, RecursionError) as exc:
            problems.append(f"{run_dir}: malformed record ({type(exc).__name__}: {str(exc)[:200]})")
    return runs, problems


def collect(roots: Iterable[Path]) -> tuple[list[BoardRun], list[str]]:
    """Every complete run under ``roots``; problems come back as one line each."""
    paths, problems = find_run_dirs(roots)
    runs, more = collect_runs(paths)
    return runs, problems + more
