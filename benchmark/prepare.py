"""Step one of a run: turn what the user asked for into a resolved ``JobSpec`` and its inputs.

Everything that can fail on bad input fails here, before a model is loaded, with one line: an
unknown task or region, a train config the task lacks, a manifest that does not list the task,
a sandbox level this machine cannot give. What comes out is plain data for the later steps.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmark import __version__, carbon
from benchmark.errors import UserError
from benchmark.fingerprint import code_digest
from benchmark.intensity import HourlyIntensity, load_for_region
from benchmark.manifest import Manifest, load_manifest
from benchmark.profiles import Profile, load_profile, override
from benchmark.spec import JobRequest, JobSpec, RunOptions
from benchmark.store import path_for
from benchmark.weights import WeightSlot, slot_for
from tasks import get_task
from tasks.base import EvalSet, Instance, TaskData, resolve_data_dir, subsample

logger = logging.getLogger("greenbench")


@dataclass(frozen=True)
class PreparedJob:
    """A job after its inputs are loaded and checked: what every later step reads."""

    spec: JobSpec
    profile: Profile
    manifest: Manifest
    submission_dir: Path
    data: TaskData
    train: tuple[Instance, ...]
    eval_sets: tuple[EvalSet, ...]
    record_dir: Path
    started: datetime
    intensity: HourlyIntensity | None = None  # CO2e over the run's hours (benchmark.intensity)

    @property
    def key(self) -> str:
        return self.spec.key()

    def weight_slot(self) -> WeightSlot:
        return slot_for(self.spec, self.train, self.manifest.eval_params)


def data_identity(data: TaskData) -> dict[str, Any]:
    """What of the data source can change a figure: the pinned files read, or the Hub revisions;
    never the local folder's path (a copy elsewhere is the same data)."""
    return dict(data.identity())


def resolve_isolation(requested: str) -> str:
    if requested == "none":
        return "none"
    from benchmark.isolation import resolve_isolation as resolve

    return resolve(requested)


def _manifest(request: JobRequest) -> tuple[Path, Manifest]:
    submission_dir = request.submission.resolve()
    manifest = load_manifest(submission_dir)
    if request.params:  # an operating point of the same entry (an early-exit threshold, say)
        unknown = [k for k, _ in request.params if k not in manifest.params]
        if unknown:
            raise UserError(
                f"--param {unknown[0]}: submission {manifest.name} has no param {unknown[0]!r} "
                f"(it has: {', '.join(manifest.params) or 'none'})"
            )
        manifest = manifest.model_copy(update={"params": {**manifest.params, **dict(request.params)}})
    if request.task not in manifest.tasks:
        raise UserError(
            f"submission {manifest.name} does not list task {request.task} (it lists {', '.join(manifest.tasks)}): "
            f"add it to 'tasks' in submission.yaml if the entry supports it"
        )
    return submission_dir, manifest


def _train_config(request: JobRequest) -> str | None:
    task = get_task(request.task)
    if request.train_config is not None and request.train_config not in task.train_configs:
        choices = ", ".join(task.train_configs) or "none (omit --train-config)"
        raise UserError(f"task {request.task} has no train config {request.train_config!r}: choose {choices}")
    return request.train_config or task.default_train_config


def prepare(request: JobRequest, options: RunOptions) -> PreparedJob:
    """Load and check everything the job needs; nothing here runs submission code."""
    started = datetime.now(UTC)
    profile = override(load_profile(request.profile), region=request.region, pue=request.pue)
    carbon.lookup(profile.region)  # an unknown region fails now, not after the model has run
    hourly = load_for_region(request.intensity_file, profile.region) if request.intensity_file else None
    train_config = _train_config(request)
    submission_dir, manifest = _manifest(request)
    isolation = resolve_isolation(request.sandbox)
    data = get_task(request.task).load(resolve_data_dir(request.data_dir), train_config)
    spec = JobSpec(
        task=request.task,
        train_config=train_config,
        data=data_identity(data),
        submission=manifest.name,
        submission_version=manifest.version,
        code_sha256=code_digest(submission_dir),
        kind=manifest.kind,
        params=dict(manifest.params),
        model_revision=getattr(manifest, "revision", None),
        profile=asdict(profile),
        limit=request.limit,
        train_limit=request.train_limit,
        seed=request.seed,
        isolation=isolation,
        measure_costs=request.measure_costs,
        harness_version=__version__,
        intensity=hourly.identity() if hourly else None,
    )
    eval_sets = tuple(
        EvalSet(e.name, tuple(subsample(e.instances, request.limit, request.seed)), e.role) for e in data.eval_sets
    )
    train = tuple(subsample(data.train, request.train_limit, request.seed))
    return PreparedJob(
        spec, profile, manifest, submission_dir, data, train, eval_sets, path_for(options.out, spec), started, hourly
    )
