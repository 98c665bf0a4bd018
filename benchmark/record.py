"""The run record: a folder of fixed files, written atomically, read back with strict validation.

Writing goes to a hidden temporary sibling folder which is renamed into place only once every
file is on disk, so a run killed at any point leaves either nothing or a hidden ``.tmp-*``
folder that readers ignore, never a complete-looking record.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from benchmark.errors import RecordError

# 2: predictions.jsonl no longer stores gold labels (v1 did; they belong to the task's data,
# not to committed records); readers score against the task's own labels.
SCHEMA_VERSION = 2
RUN_FILES = ("run.json", "predictions.jsonl", "metrics.json", "digests.json")
DIGESTED = ("run.json", "predictions.jsonl", "metrics.json")


def _clean(value: Any) -> Any:
    """JSON has no NaN: write null, so strict readers (browsers, jq) accept every record."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def dumps(obj: Any) -> str:
    return json.dumps(_clean(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_synced(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _move_into_place(tmp: Path, final_dir: Path, replace: bool, attempts: int = 20) -> None:
    """Rename ``tmp`` to ``final_dir``. Concurrent writers of the same job race here: each rename is
    atomic, a writer that finds the name taken (re)moves what is there and tries again, so the
    folder always holds one writer's complete record and nobody fails or leaves a mix."""
    for _ in range(attempts):
        if final_dir.exists():
            if not replace:
                raise RecordError(f"{final_dir} already exists: pass --force to replace it")
            trash = final_dir.parent / f".trash-{final_dir.name}-{uuid.uuid4().hex[:8]}"
            try:
                os.rename(final_dir, trash)
            except FileNotFoundError:
                pass  # another writer moved it first
            else:
                shutil.rmtree(trash, ignore_errors=True)
        try:
            os.rename(tmp, final_dir)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    raise RecordError(f"{final_dir}: gave up after {attempts} concurrent writers replaced it; rerun the job")


def write_run(
    final_dir: Path,
    run: Mapping[str, Any],
    predictions: Iterable[Mapping[str, Any]],
    metrics: Mapping[str, Any],
    replace: bool = False,
) -> Path:
    """Write the three files into a temporary sibling, then rename it to ``final_dir``."""
    parent = final_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".tmp-{final_dir.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _write_synced(
            tmp / "predictions.jsonl", "".join(json.dumps(_clean(p), sort_keys=True) + "\n" for p in predictions)
        )
        _write_synced(tmp / "metrics.json", dumps({"schema_version": SCHEMA_VERSION, **metrics}))
        _write_synced(
            tmp / "run.json", dumps({"schema_version": SCHEMA_VERSION, **run, "status": run.get("status", "complete")})
        )
        digests = {name: file_sha256(tmp / name) for name in DIGESTED}
        _write_synced(tmp / "digests.json", dumps({"schema_version": SCHEMA_VERSION, "sha256": digests}))
        _move_into_place(tmp, final_dir, replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final_dir


class _Run(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_version: int
    status: str
    job_key: str
    task: dict[str, Any]
    submission: dict[str, Any]
    profile: dict[str, Any]
    config: dict[str, Any]
    environment: dict[str, Any]
    started_at: str
    finished_at: str


class _Metrics(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_version: int
    eval_sets: dict[str, dict[str, Any]]


class _Prediction(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    eval_set: str
    id: str
    prediction: int


@dataclass(frozen=True)
class RunRecord:
    path: Path
    run: dict[str, Any]
    metrics: dict[str, Any]
    predictions: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return str(self.run.get("status"))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{path.parent} is not a complete run record: {path.name} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(
            f"{path} is not valid JSON ({exc}): the record is truncated or edited; rerun the job"
        ) from None


def read_run(run_dir: Path, with_predictions: bool = True) -> RunRecord:
    """Read and validate a run folder; one clear ``RecordError`` for anything malformed."""
    if not run_dir.is_dir():
        raise RecordError(f"{run_dir} is not a run folder: give a folder holding {', '.join(RUN_FILES)}")
    run = _read_json(run_dir / "run.json")
    if not isinstance(run, dict) or run.get("schema_version") != SCHEMA_VERSION:
        found = run.get("schema_version") if isinstance(run, dict) else None
        hint = "migrate it with `python -m benchmark.migrate DIR`" if found == 1 else "rerun the job"
        raise RecordError(
            f"{run_dir}/run.json has schema_version {found!r}, this harness reads {SCHEMA_VERSION}: {hint}"
        )
    try:
        _Run.model_validate(run)
    except ValidationError as exc:
        raise RecordError(f"{run_dir}/run.json does not follow the run schema: {_first(exc)}") from None
    if run.get("status") == "failed":
        return RunRecord(run_dir, run, {}, [])
    metrics = _read_json(run_dir / "metrics.json")
    try:
        _Metrics.model_validate(metrics)
    except ValidationError as exc:
        raise RecordError(f"{run_dir}/metrics.json does not follow the metrics schema: {_first(exc)}") from None
    predictions: list[dict[str, Any]] = []
    if with_predictions:
        path = run_dir / "predictions.jsonl"
        if not path.is_file():
            raise RecordError(f"{run_dir} is not a complete run record: predictions.jsonl is missing")
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                predictions.append(_Prediction.model_validate_json(line).model_dump())
            except ValidationError as exc:
                raise RecordError(f"{path} line {line_no}: not a prediction record ({_first(exc)})") from None
    return RunRecord(run_dir, run, metrics, predictions)


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"


def find_runs(root: Path) -> list[Path]:
    """Every complete-looking run folder below ``root``; hidden temporary folders are skipped.

    A folder holding ``run.json`` is a run and is not listed further: one stat per run folder
    rather than a directory listing keeps a 10,000-record board fast to find.
    """
    if root.name.startswith("."):
        return []
    out: list[Path] = []
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        if os.path.isfile(os.path.join(folder, "run.json")):
            out.append(Path(folder))
            continue
        try:
            with os.scandir(folder) as entries:
                stack.extend(e.path for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False))
        except OSError:
            continue
    return sorted(out)
