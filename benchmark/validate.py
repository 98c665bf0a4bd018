"""Validate run records: schema, digests, profile match, code digest, and a re-score of the stored
predictions against the task's own labels (records never carry them). The recorded metrics must
equal the re-scored ones, so an edited accuracy, a dropped or added prediction or a changed file
is caught."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

from benchmark.errors import RecordError, UserError
from benchmark.fingerprint import code_digest
from benchmark.metrics import score_eval_set
from benchmark.record import DIGESTED, file_sha256, find_runs, read_run
from tasks import get_task
from tasks.base import EvalSet, Instance, TaskData, resolve_data_dir, subsample

TOLERANCE = 1e-9


@functools.cache
def _task_data(task: str, data_dir: Path | None, train_config: str | None) -> TaskData:
    return get_task(task).load(data_dir, train_config)


def digest_problems(run_dir: Path) -> list[str]:
    path = run_dir / "digests.json"
    if not path.is_file():
        return ["digests.json is missing: the record cannot be checked for changes; rerun the job"]
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["sha256"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return ["digests.json is malformed; rerun the job"]
    problems = []
    for name in DIGESTED:
        if not (run_dir / name).is_file():
            problems.append(f"{name} is missing")
        elif recorded.get(name) != file_sha256(run_dir / name):
            problems.append(f"{name} was changed after the run (sha256 differs from digests.json)")
    return problems


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
    data = _task_data(run["task"]["name"], data_dir, run["task"].get("train_config"))
    config = run["config"]
    return data, [(s, subsample(s.instances, config.get("limit"), config.get("seed", 0))) for s in data.eval_sets]


def task_labels(record: Any, data_dir: Path | None) -> dict[str, dict[str, int]]:
    """eval set -> instance id -> label, from the task's data: what a record is scored against."""
    _, sets = _scored_sets(record.run, data_dir)
    return {s.name: {i.id: int(i.label) for i in expected} for s, expected in sets}  # type: ignore[arg-type]


def rescore_problems(record: Any, data_dir: Path | None) -> list[str]:
    """Predictions against the task's labels, and the recorded metrics against a re-score."""
    metrics = record.metrics
    data, sets = _scored_sets(record.run, data_dir)
    problems: list[str] = []
    by_set: dict[str, dict[str, int]] = {}
    for row in record.predictions:
        bucket = by_set.setdefault(row["eval_set"], {})
        if row["id"] in bucket:
            problems.append(f"predictions.jsonl: duplicate prediction for {row['eval_set']}/{row['id']}")
        bucket[row["id"]] = row["prediction"]
    n_labels = len(data.info.label_names)
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
        bad = [p for p in preds.values() if not isinstance(p, int) or not 0 <= p < n_labels]
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
        recorded = metrics.get("eval_sets", {}).get(eval_set.name)
        if recorded is None:
            problems.append(f"metrics.json has no block for eval set {eval_set.name}")
            continue
        for key, value in rescored.items():
            if not _close(recorded.get(key), value):
                problems.append(
                    f"metrics.json {eval_set.name}.{key} is {recorded.get(key)!r} but the predictions score {value!r}"
                )
    for name in by_set:
        problems.append(f"predictions.jsonl has predictions for an unknown eval set {name!r}")
    return problems


def validate_run(run_dir: Path, data_dir: Path | None, submission_dir: Path | None = None) -> list[str]:
    """Every problem with one record, one line each; an empty list means verified."""
    try:
        record = read_run(run_dir)
    except RecordError as exc:
        return [str(exc)]
    problems = digest_problems(run_dir)
    if record.status != "complete":
        return problems + [f"the run {record.status}: {record.run.get('failure', {}).get('reason', '')}"]
    match = record.run.get("profile_match", {})
    if not match.get("matched"):
        problems.append("hardware did not match the profile: " + "; ".join(match.get("reasons", [])))
    if submission_dir is not None and submission_dir.is_dir():
        recorded = record.run.get("environment", {}).get("submission_code_sha256")
        if recorded != code_digest(submission_dir):
            problems.append(f"the submission's code in {submission_dir} changed since the run (code sha256 differs)")
    try:
        problems += rescore_problems(record, data_dir)
    except UserError as exc:
        problems.append(f"could not re-score: {exc}")
    return problems


def validate_paths(paths: list[Path], data_dir: str | Path | None) -> dict[Path, list[str]]:
    """A run folder, a bundle or results folder, or ``submissions/``: every record found below."""
    root = resolve_data_dir(data_dir)
    out: dict[Path, list[str]] = {}
    for path in paths:
        if not path.exists():
            raise UserError(f"{path} does not exist: give a run folder, a results folder or submissions/")
        runs = find_runs(path)
        if not runs:
            raise UserError(f"no run records under {path}: run `greenbench run` or `greenbench submit` first")
        for run_dir in runs:
            out[run_dir] = validate_run(run_dir, root, _submission_of(run_dir))
    return out


def _submission_of(run_dir: Path) -> Path | None:
    """The submission folder a committed record belongs to (``submissions/<name>/results/...``)."""
    for parent in run_dir.parents:
        if parent.name == "results" and (parent.parent / "submission.yaml").is_file():
            return parent.parent
    return None
