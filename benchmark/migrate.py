"""Bring run records of schema 1 or 2 to schema 3, refusing any record whose digests do not match.

- 1 -> 2: drop the gold labels schema 1 stored in ``predictions.jsonl`` (a benchmark's labels
  belong to its data, not to records that get committed and published).
- 2 -> 3: the typed schema (``benchmark.schema``): FLOPs gain ``counted_by`` (``harness`` for
  ``kind: hf``, ``entry-process`` for a python entry, ``not-counted`` with null figures where the
  counter saw nothing), every null figure gains its reason, ``migrated`` becomes a list of notes.

No measured figure changes value, except that a FLOP count of 0 becomes null with a reason (0 was
never a measurement: nothing ran in PyTorch). A record whose digests do not match is refused, so
migrating cannot launder an edited record; the record is rewritten atomically and re-digested, and
a signature over the old digests does not carry over (run with ``$GREENBENCH_SIGNING_KEY`` set to re-sign).

    python -m benchmark.migrate leaderboard/records/ [more paths]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmark.errors import RecordError
from benchmark.record import SCHEMA_VERSION, digest_problems, find_runs, write_run

CHANGES = {
    1: "gold labels removed from predictions.jsonl; predictions and metrics unchanged",
    2: "schema 3: FLOPs provenance (counted_by) added, a FLOP count of 0 made null with a reason, "
    "reasons added for null figures; no measured value changed",
}


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: cannot read it ({exc}); rerun the job instead of migrating") from None


def migrate_run(run_dir: Path) -> bool:
    """Migrate one record in place (atomically); False when it is already at this schema."""
    run = _load(run_dir / "run.json")
    version = run.get("schema_version") if isinstance(run, dict) else None
    if version == SCHEMA_VERSION:
        return False
    if version not in CHANGES:
        raise RecordError(f"{run_dir}: schema_version {version!r} has no migration to {SCHEMA_VERSION}; rerun the job")
    if problems := digest_problems(run_dir):
        raise RecordError(f"{run_dir}: {'; '.join(problems)}; not migrated")
    rows = []
    for line in (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        row.pop("gold", None)
        rows.append(row)
    metrics = _load(run_dir / "metrics.json")
    at = datetime.now(UTC).isoformat(timespec="seconds")
    earlier = run.get("migrated")
    notes = earlier if isinstance(earlier, list) else [earlier] if isinstance(earlier, dict) else []
    notes += [{"from_schema": v, "at": at, "change": CHANGES[v]} for v in sorted(CHANGES) if v >= version]
    run.pop("schema_version")
    metrics.pop("schema_version", None)
    try:
        write_run(run_dir, {**run, "migrated": notes}, rows, metrics, replace=True)  # atomic, digests recomputed
    except RecordError as exc:
        raise RecordError(f"{run_dir}: {exc}; not migrated") from None
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
