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

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from benchmark import schema
from benchmark.errors import RecordError

# 2: predictions.jsonl no longer stores gold labels (v1 did; they belong to the task's data,
# not to committed records); readers score against the task's own labels.
# 3: one typed schema (benchmark.schema): strict types, no unknown keys, FLOPs provenance
# (counted_by), nulls with reasons instead of 0 or NaN, migration notes as a list.
SCHEMA_VERSION = schema.SCHEMA_VERSION
RUN_FILES = ("run.json", "predictions.jsonl", "metrics.json", "digests.json")
DIGESTED = ("run.json", "predictions.jsonl", "metrics.json")
SIGNING_KEY_ENV = "GREENBENCH_SIGNING_KEY"


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


def _provenance(kind: Any, count: Any) -> str:
    """Who counted a FLOP figure. For ``kind: hf`` the harness's own loader runs the model with no
    entry code, so the count can be trusted; a python entry's count is made where its own code runs;
    a count of nothing means nothing ran in PyTorch (a numpy model), which is not-counted, never 0."""
    if not count:
        return "not-counted"
    return "harness" if kind == "hf" else "entry-process"


NOT_COUNTED = "nothing was dispatched to PyTorch's FLOP counter (e.g. a numpy model): not counted"


def complete_blocks(run: Mapping[str, Any], metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Bring cost blocks written in the schema-2 shape (``benchmark.costs`` today) to schema 3:
    FLOPs provenance, and a reason for every null. Fills only what is absent; a value already
    there is kept, so the schema still rejects anything wrong."""
    out: dict[str, Any] = _clean(dict(metrics))
    kind = (run.get("submission") or {}).get("kind") if isinstance(run.get("submission"), Mapping) else None
    flops = out.get("flops")
    if isinstance(flops, dict) and "counted_by" not in flops:
        mean = flops.get("inference_flops_per_instance_mean")
        if mean is None or (isinstance(mean, int | float) and not isinstance(mean, bool)):
            flops["counted_by"] = _provenance(kind, mean)
            if flops["counted_by"] == "not-counted":
                for key in schema.FlopsBlock.NULLABLE:
                    flops[key] = None
                    flops.setdefault("null_reasons", {})[key] = NOT_COUNTED
    training = out.get("training")
    if isinstance(training, dict) and "counted_by" not in training:
        count = training.get("training_flops")
        if count is None or (isinstance(count, int | float) and not isinstance(count, bool)):
            training["counted_by"] = _provenance(kind, count)
            if training["counted_by"] == "not-counted":
                training["training_flops"] = None
                training.setdefault("null_reasons", {})["training_flops"] = NOT_COUNTED
    _explain(out.get("latency"), {"latency_median_cv": "one repeat: no spread of per-repeat medians"})
    for block in (out.get("energy"), (training or {}).get("energy") if isinstance(training, dict) else None):
        if isinstance(block, dict):
            empty = "no instances in the metered window"
            _explain(block, {"energy_kwh_per_1k": empty, "energy_kwh_total_per_1k": empty})
            _explain(block, {"energy_per_1k_cv": block.get("unstable_reason") or "no spread: the windows' mean is 0"})
            _explain(block.get("carbon_per_1k"), {"co2e_kg": "no energy figure to price"})
    if isinstance(training, dict):
        _explain(training, {"training_co2e_kg": "no training energy figure to price"})
    return out


def _explain(block: Any, reasons: Mapping[str, str]) -> None:
    if not isinstance(block, dict):
        return
    for key, reason in reasons.items():
        if key in block and block[key] is None and key not in block.get("null_reasons", {}):
            block.setdefault("null_reasons", {})[key] = reason


def check_schema(run: Mapping[str, Any], metrics: Mapping[str, Any] | None) -> None:
    """One ``RecordError`` naming the file and the first few fields that break the schema."""
    try:
        schema.Run.model_validate(run)
    except ValidationError as exc:
        raise RecordError(f"run.json does not follow the run schema: {_errors(exc)}") from None
    if metrics is not None:
        try:
            schema.Metrics.model_validate(metrics)
        except ValidationError as exc:
            raise RecordError(f"metrics.json does not follow the metrics schema: {_errors(exc)}") from None


def write_run(
    final_dir: Path,
    run: Mapping[str, Any],
    predictions: Iterable[Mapping[str, Any]],
    metrics: Mapping[str, Any],
    replace: bool = False,
) -> Path:
    """Check both files against the schema, write them into a temporary sibling, sign it when this
    is a maintainers' runner (``$GREENBENCH_SIGNING_KEY``), then rename it to ``final_dir``."""
    run_doc = _clean({"schema_version": SCHEMA_VERSION, **run, "status": run.get("status", "complete")})
    metrics_doc = complete_blocks(run_doc, {"schema_version": SCHEMA_VERSION, **metrics})
    check_schema(run_doc, metrics_doc)
    parent = final_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".tmp-{final_dir.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        _write_synced(
            tmp / "predictions.jsonl", "".join(json.dumps(_clean(p), sort_keys=True) + "\n" for p in predictions)
        )
        _write_synced(tmp / "metrics.json", dumps(metrics_doc))
        _write_synced(tmp / "run.json", dumps(run_doc))
        digests = {name: file_sha256(tmp / name) for name in DIGESTED}
        _write_synced(tmp / "digests.json", dumps({"schema_version": SCHEMA_VERSION, "sha256": digests}))
        if key_path := os.environ.get(SIGNING_KEY_ENV):
            from benchmark.signing import load_private_key, sign_run

            sign_run(tmp, load_private_key(Path(key_path)))
        _move_into_place(tmp, final_dir, replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final_dir


class _Prediction(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    eval_set: str
    id: str
    prediction: int


_PREDICTIONS = TypeAdapter(list[_Prediction])


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
    """Read and validate a run folder against the schema; one clear ``RecordError`` for anything malformed."""
    if not run_dir.is_dir():
        raise RecordError(f"{run_dir} is not a run folder: give a folder holding {', '.join(RUN_FILES)}")
    run = _read_json(run_dir / "run.json")
    if not isinstance(run, dict) or run.get("schema_version") != SCHEMA_VERSION:
        found = run.get("schema_version") if isinstance(run, dict) else None
        known = isinstance(found, int) and not isinstance(found, bool) and 1 <= found < SCHEMA_VERSION
        hint = "migrate it with `python -m benchmark.migrate DIR`" if known else "rerun the job"
        raise RecordError(
            f"{run_dir}/run.json has schema_version {found!r}, this harness reads {SCHEMA_VERSION}: {hint}"
        )
    failed = run.get("status") == "failed"
    metrics = {} if failed else _read_json(run_dir / "metrics.json")
    if not isinstance(metrics, dict):
        raise RecordError(f"{run_dir}/metrics.json does not follow the metrics schema: (root): not an object")
    try:
        check_schema(run, None if failed else metrics)
    except RecordError as exc:
        raise RecordError(f"{run_dir}/{exc}") from None
    if not failed and not metrics.get("eval_sets"):
        raise RecordError(f"{run_dir}/metrics.json of a complete run has no eval_sets: rerun the job")
    predictions: list[dict[str, Any]] = []
    if with_predictions and not failed:
        predictions = read_predictions(run_dir / "predictions.jsonl")
    return RunRecord(run_dir, run, metrics, predictions)


def read_predictions(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise RecordError(f"{path.parent} is not a complete run record: predictions.jsonl is missing")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise RecordError(f"{path} is not UTF-8 text: the record is damaged; rerun the job") from None
    try:  # one call for the whole file (10,000-record stores are read in seconds) ...
        return [p.model_dump() for p in _PREDICTIONS.validate_json("[" + ",".join(lines) + "]")]
    except ValidationError:
        pass
    for line_no, line in enumerate(lines, start=1):  # ... and line by line only to name the bad line
        try:
            _Prediction.model_validate_json(line)
        except ValidationError as exc:
            raise RecordError(f"{path} line {line_no}: not a prediction record ({_first(exc)})") from None
    raise RecordError(f"{path} is not one prediction record per line: the record is damaged; rerun the job")


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"


def _errors(exc: ValidationError, most: int = 3) -> str:
    """The first few problems on one line; the field path names what is wrong, the message how."""
    errs = exc.errors()
    text = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}".replace("\n", " ") for e in errs[:most]
    )
    return text + (f" (and {len(errs) - most} more)" if len(errs) > most else "")


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


def digest_problems(run_dir: Path) -> list[str]:
    path = run_dir / "digests.json"
    if not path.is_file():
        return ["digests.json is missing: the record cannot be checked for changes; rerun the job"]
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["sha256"]
        if not isinstance(recorded, dict):
            raise TypeError
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        return ["digests.json is malformed; rerun the job"]
    problems = []
    for name in DIGESTED:
        if not (run_dir / name).is_file():
            problems.append(f"{name} is missing")
        elif recorded.get(name) != file_sha256(run_dir / name):
            problems.append(f"{name} was changed after the run (sha256 differs from digests.json)")
    return problems
