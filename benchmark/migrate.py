"""Bring schema-1 run records to schema 2: drop the gold labels schema 1 stored in predictions.jsonl.

Benchmark labels belong to the task's data, not to records that get committed and published, so
schema 2 stores predictions only and every reader scores them against the task's labels. The
migration changes nothing measured: predictions and metrics keep their values, ``run.json`` gains
a ``migrated`` note, and the digests are recomputed. A record whose digests do not match is
refused, so migrating cannot launder an edited record.

    python -m benchmark.migrate submissions/ [more paths]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from benchmark.errors import RecordError
from benchmark.record import SCHEMA_VERSION, find_runs, write_run
from benchmark.validate import digest_problems

FROM_VERSION = 1


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RecordError(f"{path}: cannot read it ({exc}); rerun the job instead of migrating") from None


def migrate_run(run_dir: Path) -> bool:
    """Migrate one record in place (atomically); False when it is already at this schema."""
    run = _load(run_dir / "run.json")
    version = run.get("schema_version")
    if version == SCHEMA_VERSION:
        return False
    if version != FROM_VERSION:
        raise RecordError(f"{run_dir}: schema_version {version!r} has no migration to {SCHEMA_VERSION}; rerun the job")
    if problems := digest_problems(run_dir):
        raise RecordError(f"{run_dir}: {'; '.join(problems)}; not migrated")
    rows = []
    for line in (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        row.pop("gold", None)
        rows.append(row)
    metrics = _load(run_dir / "metrics.json")
    note = {
        "from_schema": FROM_VERSION,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "change": "gold labels removed from predictions.jsonl; predictions and metrics unchanged",
    }
    run.pop("schema_version")
    metrics.pop("schema_version", None)
    write_run(run_dir, {**run, "migrated": note}, rows, metrics, replace=True)  # atomic, digests recomputed
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="run folders, or folders to search for them")
    args = parser.parse_args(argv)
    migrated = kept = failed = 0
    for path in map(Path, args.paths):
        for run_dir in find_runs(path):
            try:
                if migrate_run(run_dir):
                    migrated += 1
                    print(f"migrated {run_dir}")
                else:
                    kept += 1
            except RecordError as exc:
                failed += 1
                print(f"FAIL {exc}", file=sys.stderr)
    print(f"{migrated} migrated, {kept} already at schema {SCHEMA_VERSION}, {failed} refused")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
