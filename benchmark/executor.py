"""A sweep is a list of jobs handed to an executor; a distributed engine can take its place.

The local executor runs jobs one after another in this process. A job that fails on bad input is
recorded as failed and the sweep goes on: one broken entry must not stop the board.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from benchmark.errors import UserError
from benchmark.runner import RunConfig, RunResult, log, run_job


class Executor(Protocol):
    def map(self, jobs: Sequence[RunConfig]) -> list[RunResult]: ...


class LocalExecutor:
    def __init__(self, progress: bool = True, stop_on_error: bool = False) -> None:
        self.progress = progress
        self.stop_on_error = stop_on_error

    def map(self, jobs: Sequence[RunConfig]) -> list[RunResult]:
        results = []
        for number, job in enumerate(jobs, start=1):
            if len(jobs) > 1:
                log(f"job {number}/{len(jobs)}: {job.task} x {job.submission_dir} x {job.profile}")
            try:
                results.append(run_job(job, progress=self.progress))
            except UserError as exc:
                if self.stop_on_error:
                    raise
                log(f"job failed: {exc}")
                results.append(RunResult(job, None, "failed", str(exc)))
        return results


def sweep(tasks: Iterable[str], submissions: Iterable[str], base: RunConfig) -> list[RunConfig]:
    """The cross product of tasks and submission folders with everything else from ``base``."""
    from dataclasses import replace
    from pathlib import Path

    return [replace(base, task=t, submission_dir=Path(s)) for s in submissions for t in tasks]
