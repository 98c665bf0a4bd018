"""Move run records out of the entries' folders into the records store (one-off, issue 12).

Records were written to ``submissions/<entry>/results/<task>/<entry>/<profile>-<key12>/``; the
store keeps them at ``leaderboard/records/<task>/<profile>/<entry>/<version>-<key12>/``. A move
renames folders only: no file is rewritten, so every digest still matches.

    python tools/move_records.py [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from benchmark.record import find_runs
from benchmark.store import REFERENCE_STORE, record_dir


def plan(repo: Path) -> list[tuple[Path, Path]]:
    moves = []
    for results in sorted(repo.glob("submissions/*/results")):
        for run_dir in find_runs(results):
            run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
            target = record_dir(
                repo / REFERENCE_STORE,
                run["task"]["name"],
                run["profile"]["name"],
                run["submission"]["name"],
                run["submission"]["version"],
                run["job_key"],
            )
            moves.append((run_dir, target))
    return moves


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--repo", default=".", type=Path)
    args = parser.parse_args()
    moves = plan(args.repo)
    targets = [t for _, t in moves]
    if len(set(targets)) != len(targets):
        raise SystemExit("two records map to one folder: refusing to move")
    for source, target in moves:
        print(f"{source} -> {target}")
        if not args.dry_run:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(source, target)
    if not args.dry_run:
        for results in args.repo.glob("submissions/*/results"):
            for folder in sorted(results.rglob("*"), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
            if not any(results.iterdir()):
                results.rmdir()
    print(f"{len(moves)} records {'would move' if args.dry_run else 'moved'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
