"""Run a sweep's jobs: one after another here, or as Ray tasks on a cluster.

Whatever runs a job, the job itself is ``run_job`` unchanged: the submission still runs in its
sandboxed child, and the record is written atomically into the store (on a shared file system
when the job runs on another node). One job's failure, even a lost worker, is that job's
``failed`` outcome; the sweep goes on, and a rerun skips every job whose record is complete.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from benchmark.errors import UserError
from benchmark.spec import JobRequest, RunOptions

logger = logging.getLogger("greenbench")
CPU_NODE_RESOURCE = "greenbench_cpu_node"  # one per node: a cpu-profile job meters the whole machine


@dataclass(frozen=True)
class JobOutcome:
    """One job's end, small enough to ship from a Ray worker to the driver."""

    description: str
    status: str  # complete, skipped, failed, invalid (bad input: no record)
    key: str | None
    run_dir: str | None
    message: str
    seconds: float
    headline: dict[str, Any]


def _headline(run_dir: Path) -> dict[str, Any]:
    from benchmark.metric_table import value_of
    from benchmark.record import read_run

    try:
        record = read_run(run_dir, with_predictions=False)
    except UserError:
        return {}
    return {k: value_of(record, k) for k in ("accuracy", "inference_flops_per_instance", "energy_kwh_per_1k")}


def run_one(request: JobRequest, options: RunOptions) -> JobOutcome:
    """``run_job`` that never raises: bad input and harness bugs become this job's outcome."""
    from benchmark.runner import run_job
    from benchmark.sweep import describe

    started = time.perf_counter()
    try:
        result = run_job(request, options)
    except UserError as exc:
        return JobOutcome(describe(request), "invalid", None, None, str(exc), time.perf_counter() - started, {})
    except Exception as exc:  # noqa: BLE001 - a harness bug in one job must not end the sweep
        message = f"harness error {type(exc).__name__}: {exc}"
        return JobOutcome(describe(request), "failed", None, None, message, time.perf_counter() - started, {})
    run_dir = result.run_dir
    headline = _headline(run_dir) if run_dir is not None and result.status != "failed" else {}
    return JobOutcome(
        describe(request),
        result.status,
        result.key,
        str(run_dir) if run_dir else None,
        result.message,
        time.perf_counter() - started,
        headline,
    )


class Executor(Protocol):
    def run(
        self, jobs: Sequence[JobRequest], options: RunOptions, on_done: Callable[[JobOutcome], None]
    ) -> list[JobOutcome]: ...


class LocalExecutor:
    """One job at a time in this process: the default, needing nothing beyond the harness."""

    def run(
        self, jobs: Sequence[JobRequest], options: RunOptions, on_done: Callable[[JobOutcome], None]
    ) -> list[JobOutcome]:
        outcomes = []
        for job in jobs:
            outcome = run_one(job, options)
            on_done(outcome)
            outcomes.append(outcome)
        return outcomes


def _resources(request: JobRequest) -> dict[str, Any]:
    """A GPU profile's job gets one GPU (Ray sets CUDA_VISIBLE_DEVICES, so it sees and meters only
    that one); a cpu-profile job gets a whole node (its energy estimate is of the machine)."""
    from benchmark.profiles import load_profile

    profile = load_profile(request.profile)
    if profile.device == "cuda":
        return {"num_gpus": 1, "num_cpus": 1}
    return {"num_cpus": 1, "resources": {CPU_NODE_RESOURCE: 1}}


class RayExecutor:
    """Each job a Ray task. ``address`` None starts a local cluster; else joins that cluster, whose
    nodes must each offer one ``greenbench_cpu_node`` resource (see docs/operating.md)."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None, num_gpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise UserError("the ray executor needs Ray: pip install -e '.[ray]' (or use --executor local)") from None
        self.ray = ray
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=num_cpus,
                    num_gpus=num_gpus,
                    resources={CPU_NODE_RESOURCE: 1},
                    include_dashboard=False,
                    log_to_driver=False,
                )
        if not ray.cluster_resources().get(CPU_NODE_RESOURCE):
            raise UserError(
                f"the Ray cluster offers no {CPU_NODE_RESOURCE!r} resource: start each node with "
                f"--resources '{{\"{CPU_NODE_RESOURCE}\": 1}}' (docs/operating.md)"
            )

    def run(
        self, jobs: Sequence[JobRequest], options: RunOptions, on_done: Callable[[JobOutcome], None]
    ) -> list[JobOutcome]:
        from benchmark.sweep import describe

        ray = self.ray
        remote = ray.remote(max_retries=0)(run_one)
        quiet = replace(options, quiet=True)  # workers' step lines would interleave; the driver reports
        pending = {remote.options(**_resources(job)).remote(job, quiet): index for index, job in enumerate(jobs)}
        outcomes: list[JobOutcome | None] = [None] * len(jobs)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(done[0])
            try:
                outcome = ray.get(done[0])
            except Exception as exc:  # noqa: BLE001 - a dead worker or lost node: this job failed
                outcome = _lost(jobs[index], options, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
                logger.info(f"job lost: {describe(jobs[index])}: {outcome.message}")
            outcomes[index] = outcome
            on_done(outcome)
        return [o for o in outcomes if o is not None]


def _lost(request: JobRequest, options: RunOptions, reason: str) -> JobOutcome:
    """The worker died: write the job's ``failed`` record from the driver, so the store says so."""
    from benchmark.prepare import prepare
    from benchmark.sweep import describe
    from benchmark.writer import write_record

    failure = {"kind": "worker-lost", "reason": reason, "stderr_tail": ""}
    try:
        job = prepare(request, options)
        write_record(job, "failed", failure, [], {})
    except Exception as exc:  # noqa: BLE001 - still report the job, with why no record was written
        return JobOutcome(describe(request), "failed", None, None, f"{reason}; no record: {exc}", 0.0, {})
    return JobOutcome(describe(request), "failed", job.key, str(job.record_dir), reason, 0.0, {})
