"""The data behind the board, as a table: one row per record, every headline figure with its unit,
its source and its flags (``greenbench export``, and ``records_frame`` for notebooks).

Columns come from ``benchmark.metric_table`` so the export names, locates and qualifies a figure
exactly as the board does. A figure the record lacks is empty with the reason in its ``_flags``
column, never 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from benchmark import metric_table as mt
from benchmark.errors import RecordError, UserError
from benchmark.record import RunRecord, find_runs, read_run

FORMATS = ("csv", "parquet", "jsonl")
RECORD_COLUMNS = (
    "path",
    "job_key",
    "task",
    "profile",
    "entry",
    "version",
    "status",
    "params",
    "seed",
    "limit",
    "model",
    "model_revision",
    "primary_eval_set",
    "n_eval",
    "profile_matched",
    "region",
    "energy_measured",
    "code_sha256",
    "finished_at",
    "flags",
)
FIGURE_SUFFIXES = ("", "_unit", "_source", "_flags")


def columns() -> list[str]:
    """Every column, in order: the record's identity, then four per figure of the metric table."""
    return list(RECORD_COLUMNS) + [f"{m.key}{s}" for m in mt.METRICS for s in FIGURE_SUFFIXES]


def _block(metrics: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = metrics.get(name)
    return value if isinstance(value, Mapping) else {}


def _energy_source(energy: Mapping[str, Any]) -> str:
    source = str(energy.get("energy_source") or "unknown")
    return source if energy.get("measured") else f"ESTIMATED ({source})"


def figure_source(metrics: Mapping[str, Any], m: mt.Metric) -> str | None:
    """Where a figure comes from, in words a reader can check: which eval set, counter or meter."""
    if m.section == "quality":
        return f"re-scorable predictions, eval set {mt.primary_eval_set(metrics)}"
    if m.block == "flops":
        return _block(metrics, "flops").get("method")
    if m.block == "latency":
        return f"measured: wall clock, batch 1, n={_block(metrics, 'latency').get('n_samples')}"
    if m.block == "throughput":
        return f"measured: batch {_block(metrics, 'throughput').get('batch_size')}"
    if m.key == "energy_kwh_per_1k":
        return _energy_source(_block(metrics, "energy"))
    if m.key == "co2e_kg_per_1k":
        carbon = _block(_block(metrics, "energy"), "carbon_per_1k")
        return (
            f"{_energy_source(_block(metrics, 'energy'))} x {carbon.get('intensity_g_per_kwh')} g/kWh "
            f"({carbon.get('region')}, {carbon.get('intensity_source')}) x PUE {carbon.get('pue')}"
        )
    training = _block(metrics, "training")
    if m.key == "training_flops":
        return "; ".join(str(n) for n in training.get("notes") or []) or "counted by the harness"
    return _energy_source(_block(training, "energy"))


def _estimated(metrics: Mapping[str, Any], m: mt.Metric) -> bool:
    if m.key in ("energy_kwh_per_1k", "co2e_kg_per_1k"):
        return _block(metrics, "energy").get("measured") is False
    if m.key in ("training_energy_kwh", "training_co2e_kg"):
        return _block(_block(metrics, "training"), "energy").get("measured") is False
    return False


def _figure_cells(record: RunRecord, m: mt.Metric) -> dict[str, Any]:
    value = mt.value_of(record, m.key)
    if not (isinstance(value, int | float) and not isinstance(value, bool)):
        value = None  # a hostile or damaged record cannot put text into a numeric column
    flags = []
    if value is None:
        flags.append(f"missing: {mt.missing_reason(record, m.key) or 'not recorded'}")
    else:
        flags += ["estimated, not measured"] if _estimated(record.metrics, m) else []
        flags += mt.figure_warnings(record, m.key)
    return {
        m.key: value,
        f"{m.key}_unit": m.unit,
        f"{m.key}_source": figure_source(record.metrics, m) if value is not None else None,
        f"{m.key}_flags": "; ".join(flags),
    }


def record_row(record: RunRecord) -> dict[str, Any]:
    """The export row of one record (the record-level columns, then every figure)."""
    run, metrics = record.run, record.metrics
    submission, config = _block(run, "submission"), _block(run, "config")
    primary = mt.primary_eval_set(metrics)
    match = _block(run, "profile_match")
    flags = []
    if record.status != "complete":
        flags.append(f"run {record.status}: {str(_block(run, 'failure').get('reason', ''))[:200]}")
    if not match.get("matched"):
        flags.append("hardware did not match the profile: " + "; ".join(map(str, match.get("reasons") or [])))
    if config.get("limit"):
        flags.append(f"evaluated on a seeded subset of {config['limit']} instances per eval set")
    energy = _block(metrics, "energy")
    row = {
        "path": str(record.path),
        "job_key": run.get("job_key"),
        "task": _block(run, "task").get("name"),
        "profile": _block(run, "profile").get("name"),
        "entry": submission.get("name"),
        "version": submission.get("version"),
        "status": record.status,
        "params": json.dumps(submission.get("params") or {}, sort_keys=True),
        "seed": config.get("seed"),
        "limit": config.get("limit"),
        "model": submission.get("model"),
        "model_revision": submission.get("revision"),
        "primary_eval_set": primary,
        "n_eval": _block(_block(metrics, "eval_sets"), primary or "").get("n"),
        "profile_matched": bool(match.get("matched")),
        "region": _block(energy, "carbon_per_1k").get("region") or config.get("region"),
        "energy_measured": energy.get("measured") if energy else None,
        "code_sha256": _block(run, "environment").get("submission_code_sha256"),
        "finished_at": run.get("finished_at"),
        "flags": "; ".join(flags),
    }
    for m in mt.METRICS:
        row.update(_figure_cells(record, m))
    return row


def collect_rows(paths: Iterable[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for every record below ``paths``, and one line per record that could not be read."""
    rows, problems = [], []
    for path in paths:
        if not Path(path).exists():
            raise UserError(f"{path} does not exist: give record folders or a records store (leaderboard/records)")
        for run_dir in find_runs(Path(path)):
            try:
                rows.append(record_row(read_run(run_dir, with_predictions=False)))
            except RecordError as exc:
                problems.append(str(exc).splitlines()[0])
    rows.sort(key=lambda r: r["path"])
    return rows, problems


def records_frame(paths: Iterable[Path | str]) -> Any:
    """The export table as a ``pandas.DataFrame`` for notebooks; unreadable records are left out and
    listed in ``frame.attrs["problems"]``."""
    import pandas as pd

    rows, problems = collect_rows(Path(p) for p in paths)
    frame = pd.DataFrame(rows, columns=columns())
    frame.attrs["problems"] = problems
    return frame


def _csv_safe(value: Any) -> Any:
    """A record's text (a version, a model path) must not run as a spreadsheet formula when the CSV
    is opened: a leading = + - @ or control character is quoted, as the board's own CSVs do."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_frame(frame: Any, fmt: str, out: Path) -> Path:
    """Write ``frame`` as csv, parquet or jsonl; missing figures are empty (csv) or null."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.map(_csv_safe).to_csv(out, index=False)
    elif fmt == "jsonl":
        frame.to_json(out, orient="records", lines=True)
    else:
        try:
            frame.to_parquet(out, index=False)
        except ImportError:
            raise UserError("parquet needs pyarrow, which is not installed: pip install pyarrow, or use --format csv") from None
    return out
