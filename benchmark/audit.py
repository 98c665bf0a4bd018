"""``greenbench audit``: re-run a random sample of records' jobs and compare what they claim.

Consistency checks catch a record that contradicts itself; a record scaled consistently, or made
by a runner that lied, is caught only by running the job again. Predictions must be identical
(the accuracy pass is deterministic for a fixed seed), harness-counted FLOPs identical (the count
follows the executed path), latency and energy within a tolerance (they are measurements).

The rerun is a function (``rerun(record_dir, out_dir) -> new record_dir``) so the comparison is
tested with a fake one; the default rebuilds the job from the record.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.errors import RecordError, UserError
from benchmark.record import RunRecord, find_runs, read_run

# TODO(issue 15): take the bands the measurement work calibrates from repeated runs; until then a
# rerun on a shared machine must land within +-50% (the between-run drift measured on main).
LATENCY_TOLERANCE = 0.5
ENERGY_TOLERANCE = 0.5
Rerun = Callable[[Path, Path], Path]


@dataclass(frozen=True)
class AuditRow:
    record: Path
    predictions: str
    flops: str
    latency: str
    energy: str
    ok: bool
    error: str | None = None


def choose(records: Sequence[Path], k: int, seed: int) -> list[Path]:
    """``k`` records drawn without replacement, the same for the same seed and set of records."""
    if k < 1:
        raise UserError(f"--sample must be at least 1, got {k}")
    ordered = sorted(records)
    return sorted(random.Random(seed).sample(ordered, min(k, len(ordered))))


def _relative(old: float | None, new: float | None, tolerance: float) -> tuple[str, bool]:
    if old is None or new is None:
        return ("n/a (not in both)", True) if old is None and new is None else ("missing in one", False)
    if old == 0:
        return (f"{old:.4g} -> {new:.4g}", new == 0)
    change = new / old - 1
    return (f"{change:+.1%} ({old:.4g} -> {new:.4g})", abs(change) <= tolerance)


def _energy(old: dict[str, Any], new: dict[str, Any], tolerance: float) -> tuple[str, bool]:
    """Energy figures compare only when the same method made them (a meter change is not drift)."""
    a, b = old.get("energy_source"), new.get("energy_source")
    if a and b and a != b:
        return (f"not comparable: {a} then, {b} now", True)
    return _relative(old.get("energy_kwh_per_1k"), new.get("energy_kwh_per_1k"), tolerance)


def _flops(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[str, bool]:
    if not old or not new:
        return ("n/a", old == new)
    a, b = old.get("inference_flops_per_instance_mean"), new.get("inference_flops_per_instance_mean")
    who = old.get("counted_by")
    if a == b:
        return (f"identical ({who})", True)
    if who == "harness":
        return (f"differ: {a} -> {b} (harness-counted: must be identical)", False)
    return (f"differ: {a} -> {b} ({who}: the entry's own count)", False)


def compare(
    old: RunRecord, new: RunRecord, latency_tol: float = LATENCY_TOLERANCE, energy_tol: float = ENERGY_TOLERANCE
) -> AuditRow:
    """One audit row: the record against its rerun."""
    key = lambda p: (p["eval_set"], p["id"])  # noqa: E731
    before = {key(p): p["prediction"] for p in old.predictions}
    after = {key(p): p["prediction"] for p in new.predictions}
    differ = sum(1 for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    preds = ("identical", True) if not differ else (f"{differ} of {len(before)} differ", False)
    flops = _flops(old.metrics.get("flops"), new.metrics.get("flops"))
    lat = _relative(
        (old.metrics.get("latency") or {}).get("latency_ms_p50"),
        (new.metrics.get("latency") or {}).get("latency_ms_p50"),
        latency_tol,
    )
    energy = _energy(old.metrics.get("energy") or {}, new.metrics.get("energy") or {}, energy_tol)
    return AuditRow(old.path, preds[0], flops[0], lat[0], energy[0], all(x[1] for x in (preds, flops, lat, energy)))


def audit(paths: Sequence[Path], sample: int, seed: int, rerun: Rerun, out: Path | None = None) -> list[AuditRow]:
    """Re-run ``sample`` complete records chosen at random under ``paths`` and compare each."""
    records = [r for p in paths for r in _complete_runs(p)]
    if not records:
        raise UserError(f"no complete run records under {', '.join(map(str, paths))}: nothing to audit")
    rows = []
    with tempfile.TemporaryDirectory(prefix="greenbench-audit-") as tmp:
        for run_dir in choose(records, sample, seed):
            try:
                old = read_run(run_dir)
                new = read_run(rerun(run_dir, out or Path(tmp)))
                rows.append(compare(old, new))
            except (UserError, OSError) as exc:
                rows.append(
                    AuditRow(run_dir, "-", "-", "-", "-", False, str(exc).splitlines()[0] if str(exc) else repr(exc))
                )
    return rows


def _complete_runs(path: Path) -> list[Path]:
    if not path.exists():
        raise UserError(f"{path} does not exist: give record folders or a records store")
    out = []
    for run_dir in find_runs(path):
        try:
            if json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("status") == "complete":
                out.append(run_dir)
        except (OSError, ValueError, AttributeError):
            continue  # a malformed record is validate's to report, not an audit candidate
    return out


def table(rows: Sequence[AuditRow]) -> str:
    head = ("record", "predictions", "FLOPs", "latency p50", "energy/1k", "verdict")
    body = [
        (
            str(r.record),
            r.predictions,
            r.flops,
            r.latency,
            r.energy,
            "ok" if r.ok else f"FAIL{': ' + r.error if r.error else ''}",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)).rstrip() for b in body]
    return "\n".join(lines)


def default_rerun(data_dir: Path | None = None, roots: tuple[Path, ...] = (Path("submissions"),)) -> Rerun:
    """Re-run a record's job with today's runner.

    TODO(issue 12): once ``run_job`` takes the ``JobSpec`` recorded in ``run.json`` (``spec``),
    rebuild it from there instead of from the record's fields.
    """

    def rerun(run_dir: Path, out: Path) -> Path:
        import yaml

        from benchmark.codeindex import find_code
        from benchmark.runner import run_job
        from benchmark.spec import JobRequest, RunOptions

        run = read_run(run_dir, with_predictions=False).run
        env, sub = run["environment"], run["submission"]
        where = find_code(sub["name"], env["submission_code_sha256"], env.get("code_digest_scheme") or 1, roots)
        if where is None:
            raise RecordError(
                f"{run_dir}: the code that made it is nowhere under {', '.join(map(str, roots))} or their git history; "
                f"audit needs that exact code"
            )
        folder = where.materialize(out)  # a stale record re-runs the commit that made it
        profile = out / f"profile-{run['job_key'][:12]}.yaml"
        profile.parent.mkdir(parents=True, exist_ok=True)
        profile.write_text(yaml.safe_dump(run["profile"]), encoding="utf-8")
        request = JobRequest(
            task=run["task"]["name"],
            submission=folder,
            profile=str(profile),
            data_dir=data_dir,
            limit=run["config"]["limit"],
            train_limit=run["config"]["train_limit"],
            train_config=run["task"]["train_config"],
            seed=run["config"]["seed"],
            measure_costs=run["config"]["measure_costs"],
            sandbox=run["sandbox"],
            params=tuple(sorted(sub["params"].items())),
        )
        result = run_job(request, RunOptions(out=out / "store", force=True, quiet=True))
        if result.status != "complete" or result.run_dir is None:
            raise RecordError(f"{run_dir}: the rerun {result.status}: {result.message}")
        return result.run_dir

    return rerun
