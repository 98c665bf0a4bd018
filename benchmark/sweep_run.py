"""``greenbench sweep``: list a sweep's jobs, run them with progress and an ETA, summarise them."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from benchmark.errors import UserError
from benchmark.executors import Executor, JobOutcome, LocalExecutor, RayExecutor
from benchmark.spec import JobRequest, RunOptions
from benchmark.sweep import describe, expand, load_sweep

logger = logging.getLogger("greenbench")


def load_jobs(path: Path, options: RunOptions, out_given: bool) -> tuple[list[JobRequest], RunOptions]:
    """The sweep's jobs, and the options with the sweep file's store unless ``--out`` was given."""
    path = path.resolve()  # jobs may run on other nodes or in other folders: absolute paths only
    sweep = load_sweep(path)
    jobs = expand(sweep, path.parent)
    if sweep.out and not out_given:
        options = replace(options, out=path.parent / sweep.out)
    return jobs, options


def list_jobs(jobs: Sequence[JobRequest], options: RunOptions) -> list[tuple[str, str, str]]:
    """(job, key, state) per job: ``complete`` if its record is in the store, else ``to run``."""
    from benchmark.prepare import prepare
    from benchmark.runner import completed

    quiet = logger.level
    logger.setLevel(logging.WARNING)
    rows = []
    try:
        for job in jobs:
            try:
                prepared = prepare(job, options)
            except UserError as exc:
                rows.append((describe(job), "-", f"invalid: {exc}"))
                continue
            state = "complete" if completed(prepared, replace(options, force=False)) else "to run"
            rows.append((describe(job), prepared.key[:12], state))
    finally:
        logger.setLevel(quiet)
    return rows


class Progress:
    """Jobs done / total, the running counts and an ETA from the jobs that actually ran."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()
        self.counts: dict[str, int] = {}
        self.ran_seconds: list[float] = []

    def __call__(self, outcome: JobOutcome) -> None:
        self.done += 1
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        if outcome.status in ("complete", "failed"):
            self.ran_seconds.append(outcome.seconds)
        left = self.total - self.done
        eta = ""
        if left and self.ran_seconds:
            elapsed = time.monotonic() - self.started
            eta = f", ETA {_duration(elapsed / self.done * left)}"
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items()))
        print(f"[sweep] {self.done}/{self.total} ({counts}{eta}) {outcome.status}: {outcome.description}",
              file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def executor_for(name: str, address: str | None) -> Executor:
    if name == "local":
        if address:
            raise UserError("--ray-address goes with --executor ray")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address)
    raise UserError(f"--executor must be local or ray, got {name!r}")


def summary_table(outcomes: Sequence[JobOutcome]) -> str:
    from benchmark.metric_table import format_value, metric

    keys = ("accuracy", "inference_flops_per_instance", "energy_kwh_per_1k")
    heads = ["job", "status"] + [f"{metric(k).label} ({metric(k).display_unit})" for k in keys] + ["record / reason"]
    lines = ["\t".join(heads)]
    for o in outcomes:
        figures = [format_value(o.headline.get(k), metric(k)) if o.headline.get(k) is not None else "—" for k in keys]
        where = o.run_dir if o.status in ("complete", "skipped") else (o.message.splitlines() or [""])[0][:160]
        lines.append("\t".join([o.description, o.status, *figures, where or ""]))
    widths = [max(len(line.split("\t")[i]) for line in lines) for i in range(len(heads))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line.split("\t"), widths, strict=True)).rstrip() for line in lines)


def run_sweep(jobs: Sequence[JobRequest], options: RunOptions, executor: Executor) -> list[JobOutcome]:
    return executor.run(jobs, replace(options, out=options.out.resolve()), Progress(len(jobs)))
