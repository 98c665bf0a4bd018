"""The board as data: each board's operating points as CSV and JSON, and every run as one line of
``runs.jsonl``. Only checked figures and record text are written; CSV cells cannot start a
spreadsheet formula."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from benchmark.metric_table import METRICS
from leaderboard.collect import BoardRun
from leaderboard.points import Point
from leaderboard.safe import csv_cell

FIELDS = ("entry", "version", "operating_point", "n_seeds", "seeds", "energy_measured", "region", "on_front", "floor")


def point_row(point: Point, on_front: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "entry": point.entry,
        "version": point.first.version,
        "operating_point": point.label,
        "n_seeds": len(point.runs),
        "seeds": [s for s in point.seeds if s is not None],
        "energy_measured": point.measured,
        "region": point.first.region,
        "on_front": on_front,
        "floor": point.is_floor,
        "accuracy_ci95_low": point.ci[0],
        "accuracy_ci95_high": point.ci[1],
        "run_ids": [r.run_id for r in point.runs],
    }
    for m in METRICS:
        row[m.key] = point.values.get(m.key)
        if m.key in point.spread and len(point.runs) > 1:
            row[f"{m.key}_min"], row[f"{m.key}_max"] = point.spread[m.key]
    return row


def write_board(out: Path, stem: str, task: str, profile: str, rows: list[dict[str, Any]]) -> None:
    units = {m.key: m.unit for m in METRICS}
    (out / f"{stem}.json").write_text(
        json.dumps({"task": task, "profile": profile, "units": units, "points": rows}, allow_nan=False),
        encoding="utf-8",
    )
    columns = [*FIELDS, "accuracy_ci95_low", "accuracy_ci95_high", *(m.key for m in METRICS)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [csv_cell(";".join(map(str, row[c])) if isinstance(row.get(c), list) else row.get(c)) for c in columns]
        )
    (out / f"{stem}.csv").write_text(buffer.getvalue(), encoding="utf-8")


def run_line(run: BoardRun) -> str:
    """Every field of one run: the export's row (``greenbench export``), else the board's own."""
    if run.export is not None:
        try:
            return json.dumps({"run_id": run.run_id, **run.export}, sort_keys=True, default=str, allow_nan=False)
        except ValueError:
            pass  # a non-finite number slipped into the export row: the board's checked row instead
    return json.dumps(
        {
            "run_id": run.run_id,
            "job_key": run.job_key,
            "task": run.task,
            "profile": run.profile,
            "entry": run.submission,
            "version": run.version,
            "seed": run.seed,
            "params": run.params,
            "figures": run.values,
            "accuracy_ci95": list(run.ci),
            "eval_set": run.primary_set,
            "n_eval": run.n_eval,
            "ood": list(run.ood) if run.ood else None,
            "energy_source": run.energy_source,
            "energy_measured": run.energy_measured,
            "region": run.region,
            "training_shared": run.training_shared,
            "flops_counted_by": run.flops_counted_by,
            "profile_matched": run.profile_matched,
            "sandbox": run.sandbox,
            "finished_at": run.finished_at,
        },
        sort_keys=True,
        default=str,
        allow_nan=False,
    )
