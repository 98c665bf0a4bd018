"""The last step of a run: fingerprint the machine and write the record atomically into the store."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from benchmark import __version__
from benchmark.fingerprint import fingerprint, profile_match
from benchmark.prepare import PreparedJob
from benchmark.record import write_run

logger = logging.getLogger("greenbench")

# Isolation levels at which the harness enforces what a submission can see and do; a record made
# at a weaker level (or in-process) counts as self-run: reported by validate, marked on the board.
ENFORCED_LEVELS = ("bwrap",)


def run_block(job: PreparedJob, status: str, failure: dict[str, Any] | None) -> dict[str, Any]:
    """run.json: the job's identity (its spec, in full), what ran it, and when."""
    spec, data = job.spec, job.data
    env = fingerprint(job.submission_dir, spec.code_sha256)
    matched, reasons = profile_match(job.profile, env)
    return {
        "job_key": job.key,
        "spec": spec.identity(),
        "harness_version": __version__,
        "task": {
            "name": spec.task,
            "kind": data.info.kind,
            "label_names": list(data.info.label_names),
            "train_config": spec.train_config,
            "source": data.source,
            "files_sha256": dict(data.files),
        },
        "submission": job.manifest.model_dump(),
        "profile": asdict(job.profile),
        "profile_match": {"matched": matched, "reasons": reasons},
        "config": {
            "limit": spec.limit,
            "train_limit": spec.train_limit,
            "seed": spec.seed,
            "n_train": len(job.train),
            "n_dev": len(data.dev),
            "n_eval": {e.name: len(e.instances) for e in job.eval_sets},
            "region": job.profile.region,
            "pue": job.profile.pue,
            "measure_costs": spec.measure_costs,
        },
        "environment": env,
        "sandbox": spec.isolation,
        "self_run": spec.isolation not in ENFORCED_LEVELS,
        "status": status,
        **({"failure": failure} if failure else {}),
        "started_at": job.started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "wall_s": round(time.time() - job.started.timestamp(), 3),
    }


def write_record(
    job: PreparedJob, status: str, failure: dict[str, Any] | None, rows: list[dict[str, Any]], metrics: dict[str, Any]
) -> None:
    run = run_block(job, status, failure)
    if job.intensity is not None and status == "complete":
        from benchmark import intensity

        finished = datetime.fromisoformat(run["finished_at"])
        intensity.reprice(metrics, job.intensity, job.started, finished, job.profile.pue)
    write_run(job.record_dir, run, rows, metrics, replace=True)
