"""Validate run records: schema, digests, signature, profile match, code digest, a re-score of the
stored predictions against the task's own labels (records never carry them), and every other
figure re-derived from the figures it depends on (``benchmark.consistency``).

Each record gets its own verdict: a malformed or hostile record is one FAIL line, never a crash
that hides the verdicts of the records after it.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.codeindex import DEFAULT_ROOTS, code_check
from benchmark.consistency import check_record
from benchmark.contamination import scan_for_task
from benchmark.errors import RecordError, UserError
from benchmark.fingerprint import code_digest
from benchmark.metrics import score_eval_set
from benchmark.record import digest_problems, find_runs, read_run
from benchmark.signing import check_signature
from tasks import get_task
from tasks.base import EvalSet, Instance, TaskData, resolve_data_dir, subsample

TOLERANCE = 1e-9
QUALITY_KEYS = ("accuracy", "accuracy_ci95_low", "accuracy_ci95_high", "macro_f1", "f1_positive")


@dataclass
class Verdict:
    """``problems`` fail the record; ``notes`` are what a reader must know about a valid one."""

    problems: list[str] = field(default_factory=list)
    trust: str = "self-reported"
    notes: list[str] = field(default_factory=list)


@functools.cache
def _task_data(task: str, data_dir: Path | None, train_config: str | None) -> TaskData:
    return get_task(task).load(data_dir, train_config)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=TOLERANCE)
    return a == b


def _scored_sets(
    run: dict[str, Any], data_dir: Path | None
) -> tuple[TaskData, list[tuple[EvalSet, tuple[Instance, ...]]]]:
    """The task's data and, per eval set, the instances this run was scored on (its limit and seed)."""
    task, train_config, config = run["task"]["name"], run["task"].get("train_config"), run["config"]
    return _task_data(task, data_dir, train_config), _subsets(
        task, data_dir, train_config, config["limit"], config["seed"]
    )


@functools.lru_cache(maxsize=256)
def _subsets(
    task: str, data_dir: Path | None, train_config: str | None, limit: int | None, seed: int
) -> list[tuple[EvalSet, tuple[Instance, ...]]]:
    """Many records share a task, limit and seed: draw their subsets once."""
    data = _task_data(task, data_dir, train_config)
    return [(s, subsample(s.instances, limit, seed)) for s in data.eval_sets]


def task_labels(record: Any, data_dir: Path | None) -> dict[str, dict[str, int]]:
    """eval set -> instance id -> label, from the task's data: what a record is scored against."""
    _, sets = _scored_sets(record.run, data_dir)
    return {s.name: {i.id: int(i.label) for i in expected} for s, expected in sets}  # type: ignore[arg-type]


def _by_set(predictions: list[dict[str, Any]], problems: list[str]) -> dict[str, dict[str, int]]:
    by_set: dict[str, dict[str, int]] = {}
    for row in predictions:
        bucket = by_set.setdefault(row["eval_set"], {})
        if row["id"] in bucket:
            problems.append(f"predictions.jsonl: duplicate prediction for {row['eval_set']}/{row['id']}")
        bucket[row["id"]] = row["prediction"]
    return by_set


def rescore_problems(record: Any, data_dir: Path | None) -> list[str]:
    """Predictions against the task's labels, and every recorded quality figure against a re-score:
    a figure the task does not define (an ``f1_positive`` on a four-class task) is a problem too."""
    metrics = record.metrics
    data, sets = _scored_sets(record.run, data_dir)
    problems: list[str] = []
    by_set = _by_set(record.predictions, problems)
    n_labels = len(data.info.label_names)
    if list(record.run["task"]["label_names"]) != list(data.info.label_names):
        problems.append("run.json task.label_names differ from the task's labels")
    for eval_set, expected in sets:
        preds = by_set.pop(eval_set.name, {})
        ids = {inst.id for inst in expected}
        missing = [i for i in ids if i not in preds]
        extra = [i for i in preds if i not in ids]
        if missing:
            problems.append(f"{eval_set.name}: {len(missing)} prediction(s) missing (e.g. {sorted(missing)[0]})")
        if extra:
            problems.append(
                f"{eval_set.name}: {len(extra)} prediction(s) for instances not in the eval set (e.g. {sorted(extra)[0]})"
            )
        bad = [p for p in preds.values() if not 0 <= p < n_labels]
        if bad:
            problems.append(f"{eval_set.name}: {len(bad)} prediction(s) outside the labels 0..{n_labels - 1}")
        if missing or extra or bad:
            continue
        gold = [int(i.label) for i in expected]  # type: ignore[arg-type]
        rescored = score_eval_set(
            gold,
            [preds[i.id] for i in expected],
            n_labels,
            data.info.positive_label,
            data.info.kind == "multiple_choice",
        )
        recorded = metrics["eval_sets"].get(eval_set.name)
        if recorded is None:
            problems.append(f"metrics.json has no block for eval set {eval_set.name}")
            continue
        if recorded.get("role", "id") != eval_set.role:
            problems.append(
                f"metrics.json {eval_set.name}.role is {recorded.get('role')!r}, the task says {eval_set.role!r}"
            )
        for key in ("n", *QUALITY_KEYS):
            value = rescored.get(key)
            if value is None and recorded.get(key) is not None:
                problems.append(
                    f"metrics.json {eval_set.name}.{key} is recorded but task {data.info.name} has no {key}"
                )
            elif not _close(recorded.get(key), value):
                problems.append(
                    f"metrics.json {eval_set.name}.{key} is {recorded.get(key)!r} but the predictions score {value!r}"
                )
    for name in by_set:
        problems.append(f"predictions.jsonl has predictions for an unknown eval set {name!r}")
    return problems


@functools.lru_cache(maxsize=4096)
def _code_check(
    entry: str, digest: str, scheme: int, roots: tuple[Path, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``codeindex.code_check`` once per entry and code digest: a store holds many records of one code."""
    run = {
        "submission": {"name": entry},
        "environment": {"submission_code_sha256": digest, "code_digest_scheme": scheme},
    }
    problems, notes = code_check(run, roots)
    return tuple(problems), tuple(notes)


def record_trust(run_dir: Path) -> str:
    """What the board shows: ``signed`` (a maintainers' runner made it and nothing changed since,
    digests included) or ``self-reported``."""
    trust, problem = check_signature(run_dir)
    return "signed" if trust == "signed" and problem is None and not digest_problems(run_dir) else "self-reported"


def verdict(
    run_dir: Path, data_dir: Path | None, submission_dir: Path | None = None, roots: tuple[Path, ...] = DEFAULT_ROOTS
) -> Verdict:
    """Every problem with one record, one line each, plus its trust and notes. Never raises: a bug
    in a check on a hostile record is reported as that record's failure. The record's code is
    ``submission_dir`` when given, else found by entry name and code digest under ``roots``."""
    try:
        return _verdict(run_dir, data_dir, submission_dir, roots)
    except Exception as exc:  # noqa: BLE001 - one bad record must not hide the verdicts of the others
        return Verdict(
            [f"could not be checked ({type(exc).__name__}: {str(exc)[:200]}); this is a bug, please report it"]
        )


def _verdict(run_dir: Path, data_dir: Path | None, submission_dir: Path | None, roots: tuple[Path, ...]) -> Verdict:
    try:
        record = read_run(run_dir)
    except RecordError as exc:
        return Verdict([str(exc)])
    out = Verdict(digest_problems(run_dir))
    trust, problem = check_signature(run_dir)
    out.trust = trust if not out.problems else "self-reported"
    if problem:
        out.problems.append(problem)
    if record.status != "complete":
        out.problems.append(f"the run {record.status}: {record.run['failure']['reason']}")
        return out
    match = record.run["profile_match"]
    if not match["matched"]:
        out.problems.append("hardware did not match the profile: " + "; ".join(match["reasons"]))
    if submission_dir is not None and submission_dir.is_dir():
        env = record.run["environment"]
        if env["submission_code_sha256"] != code_digest(submission_dir, env.get("code_digest_scheme") or 1):
            out.problems.append(
                f"the submission's code in {submission_dir} changed since the run (code sha256 differs)"
            )
        out.problems += scan_for_task(submission_dir, record.run["task"]["name"], data_dir)  # eval data in files
    else:
        env = record.run["environment"]
        code_problems, code_notes = _code_check(
            record.run["submission"]["name"], env["submission_code_sha256"], env.get("code_digest_scheme") or 1, roots
        )
        out.problems += code_problems
        out.notes += code_notes
    out.problems += check_record(record.run, record.metrics)
    try:
        out.problems += rescore_problems(record, data_dir)
    except UserError as exc:
        out.problems.append(f"could not re-score: {exc}")
    flops = record.metrics.get("flops") or {}
    if flops.get("counted_by") == "entry-process":
        out.notes.append("FLOPs counted in the entry's own process (its code could evade the counter)")
    elif flops.get("counted_by") == "not-counted":
        out.notes.append("FLOPs not counted (nothing ran in PyTorch)")
    return out


def validate_run(run_dir: Path, data_dir: Path | None, submission_dir: Path | None = None) -> list[str]:
    """Every problem with one record, one line each; an empty list means verified."""
    return verdict(run_dir, data_dir, submission_dir).problems


def verdict_paths(
    paths: list[Path], data_dir: str | Path | None, roots: tuple[Path, ...] = DEFAULT_ROOTS
) -> dict[Path, Verdict]:
    """A run folder, a records store, or ``submissions/``: a verdict for every record found below.
    A large store is checked by one worker process per available core."""
    root = resolve_data_dir(data_dir)
    runs: list[Path] = []
    for path in paths:
        if not path.exists():
            raise UserError(f"{path} does not exist: give a run folder, a results folder or submissions/")
        found = find_runs(path)
        if not found:
            raise UserError(f"no run records under {path}: run `greenbench run` or `greenbench submit` first")
        runs += found
    jobs = [(run_dir, root, roots) for run_dir in runs]
    workers = min(len(os.sched_getaffinity(0)), len(jobs) // PARALLEL_FROM)
    from benchmark import progress

    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            results = pool.map(_verdict_job, jobs, chunksize=64)
            verdicts = list(progress.track(results, "validate", total=len(jobs), unit="record"))
        return dict(zip(runs, verdicts, strict=True))
    return {
        run_dir: _verdict_job(job)
        for run_dir, job in zip(runs, progress.track(jobs, "validate", unit="record"), strict=True)
    }


PARALLEL_FROM = 400  # records per worker below which a second process costs more than it saves


def _verdict_job(job: tuple[Path, Path | None, tuple[Path, ...]]) -> Verdict:
    run_dir, root, roots = job
    return verdict(run_dir, root, None, roots)


def validate_paths(paths: list[Path], data_dir: str | Path | None) -> dict[Path, list[str]]:
    return {run_dir: v.problems for run_dir, v in verdict_paths(paths, data_dir).items()}
