"""The records store: where run records live, apart from the code that made them.

``<root>/<task>/<profile>/<entry>/<version>-<key12>/`` holds one record; ``<root>/index.jsonl``
lists them, one line each. Records used to sit inside the entries' folders, which dirtied the
code they describe and tied a record to its code by folder; a record now names its code by entry
name and code digest (``benchmark.codeindex`` finds it), and this module is the only one that
knows the layout.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmark.errors import RecordError
from benchmark.record import find_runs, read_run
from benchmark.spec import JobSpec

INDEX_NAME = "index.jsonl"
DEFAULT_STORE = Path("runs")
REFERENCE_STORE = Path("leaderboard") / "records"  # the committed board's store, in the repository


def _slug(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-.")
    return cleaned[:64] or "x"


def record_dir(root: Path, task: str, profile: str, entry: str, version: str, key: str) -> Path:
    return root / _slug(task) / _slug(profile) / _slug(entry) / f"{_slug(version)}-{key[:12]}"


def path_for(root: Path, spec: JobSpec) -> Path:
    return record_dir(root, spec.task, spec.profile_name, spec.submission, spec.submission_version, spec.key())


def index_row(root: Path, run_dir: Path) -> dict[str, Any]:
    """One index line: where the record is, what job it is, and its headline figures."""
    record = read_run(run_dir, with_predictions=False)
    run, metrics = record.run, record.metrics
    env = run.get("environment") or {}
    accuracy = {
        name: block.get("accuracy")
        for name, block in (metrics.get("eval_sets") or {}).items()
        if isinstance(block, dict)
    }
    energy = metrics.get("energy") if isinstance(metrics.get("energy"), dict) else {}
    flops = metrics.get("flops") if isinstance(metrics.get("flops"), dict) else {}
    return {
        "path": run_dir.relative_to(root).as_posix(),
        "task": (run.get("task") or {}).get("name"),
        "profile": (run.get("profile") or {}).get("name"),
        "entry": (run.get("submission") or {}).get("name"),
        "version": (run.get("submission") or {}).get("version"),
        "params": (run.get("submission") or {}).get("params"),
        "seed": (run.get("config") or {}).get("seed"),
        "code_sha256": env.get("submission_code_sha256"),
        "job_key": run.get("job_key"),
        "status": record.status,
        "accuracy": accuracy,
        "energy_kwh_per_1k": energy.get("energy_kwh_per_1k"),
        "energy_measured": energy.get("measured"),
        "flops_per_instance": flops.get("inference_flops_per_instance_mean"),
        "training_energy_kwh": (metrics.get("training") or {}).get("training_energy_kwh")
        if isinstance(metrics.get("training"), dict)
        else None,
    }


def iter_index(root: Path) -> Iterator[tuple[Path, dict[str, Any] | str]]:
    """Each record under ``root`` with its index row, or the one-line reason it could not be read."""
    for run_dir in find_runs(root):
        try:
            yield run_dir, index_row(root, run_dir)
        except (RecordError, OSError, ValueError) as exc:
            yield run_dir, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def write_index(root: Path) -> tuple[int, list[str]]:
    """Regenerate ``index.jsonl`` (atomically); returns the rows written and the records left out."""
    rows, problems = [], []
    for run_dir, row in iter_index(root):
        if isinstance(row, str):
            problems.append(f"{run_dir}: {row}")
        else:
            rows.append(row)
    rows.sort(key=lambda r: r["path"])
    tmp = root / f".{INDEX_NAME}.tmp"
    tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp, root / INDEX_NAME)
    return len(rows), problems


def read_index(root: Path) -> list[dict[str, Any]]:
    path = root / INDEX_NAME
    if not path.is_file():
        raise RecordError(f"no {INDEX_NAME} in {root}: run `python -m benchmark.store {root}` to build it")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmark.store ROOT``: rebuild a store's index."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else REFERENCE_STORE
    n, problems = write_index(root)
    for problem in problems:
        print(f"left out: {problem}", file=sys.stderr)
    print(f"{root / INDEX_NAME}: {n} records")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
