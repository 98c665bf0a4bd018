"""One run = one job (task x submission x profile), executed as a straight pipeline of small steps.

load task -> load submission -> fit (if the entry trains) -> accuracy pass -> cost passes ->
write the run record. The accuracy pass is never timed or metered; the cost passes replay the
same model on the same instances under the meters.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmark import __version__, carbon
from benchmark.errors import UserError
from benchmark.fingerprint import code_digest, fingerprint, profile_match
from benchmark.manifest import Manifest, load_manifest
from benchmark.metrics import score_eval_set
from benchmark.predictor import (
    PredictionError,
    Predictor,
    PredictorContext,
    can_fit,
    load_predictor,
    validate_predictions,
)
from benchmark.profiles import Profile, load_profile, override
from benchmark.record import read_run, write_run
from benchmark.sandbox import SandboxedPredictor, SandboxFailure, limits_from, resolve_isolation
from tasks import get_task
from tasks.base import EvalSet, Instance, TaskData, resolve_data_dir, subsample

CACHE_ENV = "GREENBENCH_CACHE"
SANDBOX_CHOICES = ("auto", "bwrap", "netns", "process", "none")


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a job. Two equal configs are the same job (same ``job_key``)."""

    task: str
    submission_dir: Path
    profile: str = "cpu"
    data_dir: Path | None = None
    limit: int | None = None
    train_limit: int | None = None
    train_config: str | None = None
    seed: int = 0
    out_dir: Path = Path("runs")
    region: str | None = None
    pue: float | None = None
    measure_costs: bool = True
    force: bool = False
    sandbox: str = "auto"  # auto (strongest available), bwrap, netns, process, or none (in this process)
    timeout_s: float | None = None  # wall-clock limit for the submission's child (default 3600 s)
    memory_gb: float | None = None  # address-space cap for the child (default: none)
    params: tuple[tuple[str, Any], ...] = ()  # overrides of the manifest's params (--param KEY=VALUE)

    def __post_init__(self) -> None:
        for key in ("limit", "train_limit"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise UserError(f"--{key.replace('_', '-')} must be a positive number of instances, got {value}")
        if self.pue is not None and self.pue < 1.0:
            raise UserError(f"--pue must be >= 1.0 (1.0 = no data-centre overhead), got {self.pue}")
        limits_from(self.timeout_s, self.memory_gb)  # validates both
        if self.sandbox not in SANDBOX_CHOICES:
            raise UserError(f"--sandbox must be one of {', '.join(SANDBOX_CHOICES)}, got {self.sandbox!r}")


@dataclass
class RunResult:
    config: RunConfig
    run_dir: Path | None
    status: str  # "complete", "skipped" (already complete), "failed"
    message: str = ""
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PreparedJob:
    """A job after its inputs are loaded and checked: what every later step reads."""

    config: RunConfig
    profile: Profile
    manifest: Manifest
    data: TaskData
    train: tuple[Instance, ...]
    eval_sets: tuple[EvalSet, ...]
    key: str
    final_dir: Path
    submission_dir: Path
    train_config: str | None
    started: datetime
    sandbox: str
    code_sha256: str


def log(message: str) -> None:
    print(f"[greenbench] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "greenbench")


def job_key(config: RunConfig, manifest: Manifest, profile: Profile, code_sha256: str) -> str:
    """Identity of a job: what it runs and how, not where its files go or whether to force."""
    identity = {
        "task": config.task,
        "train_config": config.train_config,
        "limit": config.limit,
        "train_limit": config.train_limit,
        "seed": config.seed,
        "submission": manifest.name,
        "submission_version": manifest.version,
        "params": manifest.params,
        "submission_code_sha256": code_sha256,
        "profile": asdict(profile),
        "measure_costs": config.measure_costs,
        "harness_version": __version__,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def run_dir_for(config: RunConfig, manifest: Manifest, profile: Profile, key: str) -> Path:
    return config.out_dir / config.task / manifest.name / f"{profile.name}-{key[:12]}"


def setup_torch(profile: Profile, seed: int) -> str:
    """Apply the profile's threads and seed; the device string, or a clear error if it is absent."""
    import torch

    torch.set_num_threads(profile.threads)
    torch.manual_seed(seed)
    if profile.device == "cuda" and not torch.cuda.is_available():
        raise UserError(f"profile {profile.name} needs a CUDA GPU and none is visible: use --profile cpu")
    return profile.device


def predict_all(
    predictor: Predictor,
    instances: Sequence[Instance],
    batch_size: int,
    n_labels: int,
    where: str,
    progress: bool = True,
) -> list[int]:
    """Batched prediction over label-free copies, with the output checked batch by batch."""
    from tqdm import tqdm

    out: list[int] = []
    starts = range(0, len(instances), batch_size)
    for start in tqdm(starts, desc=where, unit="batch", disable=None if progress else True, file=sys.stderr):
        batch = [inst.without_label() for inst in instances[start : start + batch_size]]
        out.extend(validate_predictions(predictor.predict(batch), len(batch), n_labels, where))
    return out


def accuracy_pass(
    predictor: Predictor, data: TaskData, eval_sets: Sequence[EvalSet], batch_size: int, progress: bool = True
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Predict every eval set and score it against gold labels the predictor never saw."""
    info = data.info
    scores: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for eval_set in eval_sets:
        preds = predict_all(
            predictor, eval_set.instances, batch_size, len(info.label_names), f"predict {eval_set.name}"
        )
        gold = [int(inst.label) for inst in eval_set.instances]  # type: ignore[arg-type]
        block = score_eval_set(gold, preds, len(info.label_names), info.positive_label, info.kind == "multiple_choice")
        scores[eval_set.name] = {"role": eval_set.role, **block}
        rows.extend(
            {"eval_set": eval_set.name, "id": inst.id, "prediction": p}
            for inst, p in zip(eval_set.instances, preds, strict=True)
        )
    return scores, rows


def run_job(config: RunConfig, progress: bool = True) -> RunResult:
    """Execute one job end to end and write its record; skips a job whose record is complete."""
    started = datetime.now(UTC)
    profile = override(load_profile(config.profile), region=config.region, pue=config.pue)
    carbon.lookup(profile.region)  # an unknown region fails now, not after the model has run
    task = get_task(config.task)
    if config.train_config is not None and config.train_config not in task.train_configs:
        choices = ", ".join(task.train_configs) or "none (omit --train-config)"
        raise UserError(f"task {config.task} has no train config {config.train_config!r}: choose {choices}")
    submission_dir = config.submission_dir.resolve()
    manifest = load_manifest(submission_dir)
    if config.params:  # an operating point of the same entry (an early-exit threshold, say)
        manifest = manifest.model_copy(update={"params": {**manifest.params, **dict(config.params)}})
    if config.task not in manifest.tasks:
        raise UserError(
            f"submission {manifest.name} does not list task {config.task} (it lists {', '.join(manifest.tasks)}): "
            f"add it to 'tasks' in submission.yaml if the entry supports it"
        )
    code_sha = code_digest(submission_dir)
    key = job_key(config, manifest, profile, code_sha)
    final_dir = run_dir_for(config, manifest, profile, key)
    if (final_dir / "run.json").is_file() and not config.force:
        existing = read_run(final_dir, with_predictions=False)
        if existing.status == "complete":
            log(f"skip: {final_dir} is already complete (use --force to redo it)")
            return RunResult(config, final_dir, "skipped", "already complete")
        log(f"redo: {final_dir} holds a {existing.status} run")

    log(f"[1/6] task {config.task}: loading data")
    data = task.load(resolve_data_dir(config.data_dir), config.train_config)
    eval_sets = [EvalSet(e.name, subsample(e.instances, config.limit, config.seed), e.role) for e in data.eval_sets]
    train = subsample(data.train, config.train_limit, config.seed)
    log(
        f"      source {data.source}; train {len(train)} of {len(data.train)}; "
        + ", ".join(f"{e.name} {len(e.instances)}" for e in eval_sets)
    )

    log(f"[2/6] submission {manifest.name} {manifest.version} ({manifest.kind}): loading on {profile.device}")
    device = setup_torch(profile, config.seed)
    ctx = PredictorContext(data.info, device, profile.precision, config.seed, submission_dir, cache_dir())
    predictor: Any
    if config.sandbox != "none":
        limits = limits_from(config.timeout_s, config.memory_gb)
        isolation = resolve_isolation(config.sandbox)
        predictor = SandboxedPredictor(
            manifest, submission_dir, limits, profile.threads, isolation, gpu=profile.device == "cuda"
        )
        predictor.heartbeat = log if progress else None
        predictor.start(ctx.cache_dir)
        sandbox = predictor.isolation
        log(
            f"      sandbox {sandbox}, time limit {limits.timeout_s:g} s, memory cap "
            + (f"{limits.memory_bytes / 1024**3:g} GiB" if limits.memory_bytes else "none")
        )
    else:
        predictor, sandbox = load_predictor(manifest, submission_dir), "none"
    job = PreparedJob(
        config,
        profile,
        manifest,
        data,
        tuple(train),
        tuple(eval_sets),
        key,
        final_dir,
        submission_dir,
        config.train_config or task.default_train_config,
        started,
        sandbox,
        code_sha,
    )
    try:
        predictor.load(ctx)
        training, scores, rows, costs = _passes(predictor, config, profile, data, train, eval_sets, progress)
    except (SandboxFailure, PredictionError) as exc:
        failure = {
            "kind": getattr(exc, "kind", "error"),
            "reason": str(exc),
            "stderr_tail": getattr(exc, "stderr_tail", ""),
        }
        log(f"run failed ({failure['kind']}): {failure['reason']}")
        write_record(job, "failed", failure, [], {})
        return RunResult(config, final_dir, "failed", failure["reason"])
    finally:
        if isinstance(predictor, SandboxedPredictor):
            predictor.close()
    metrics = {"eval_sets": scores, **({"training": training} if training else {}), **costs}
    write_record(job, "complete", None, rows, metrics)
    return RunResult(config, final_dir, "complete", summary=scores)


def _passes(
    predictor: Any,
    config: RunConfig,
    profile: Profile,
    data: TaskData,
    train: Sequence[Instance],
    eval_sets: list[EvalSet],
    progress: bool = True,
) -> tuple[dict[str, Any] | None, dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """Fit (metered), the accuracy pass, then the cost passes; one idle baseline serves both meters."""
    from benchmark.costs import idle_baseline, measure_costs, measure_training
    from benchmark.meters import default_meter

    meter = default_meter(profile)
    trains = can_fit(predictor)
    idle = idle_baseline(meter, profile.idle_seconds) if (config.measure_costs or trains) else None
    training: dict[str, Any] | None = None
    if trains:
        log(f"[3/6] fit on {len(train)} training instances (metered: {meter.source})")
        training = measure_training(predictor, train, data.dev, profile, meter, idle)
    else:
        log("[3/6] fit: the entry does not train, skipped")

    log("[4/6] accuracy pass (not timed, not metered)")
    scores, rows = accuracy_pass(predictor, data, eval_sets, profile.batch_size, progress)
    for name, block in scores.items():
        log(f"      {name}: accuracy {block['accuracy']:.4f} (n={block['n']})")
    diagnostics = collect_diagnostics(predictor)
    if training is not None and diagnostics.get("trained_from_cache"):
        training["from_cache"] = True  # the cost was paid (and recorded) by the run that trained it

    costs: dict[str, Any] = {}
    if config.measure_costs:
        log("[5/6] cost passes: FLOPs, latency, throughput, energy")
        costs = measure_costs(predictor, eval_sets[0].instances, profile, meter, idle)
    else:
        log("[5/6] cost passes skipped (--no-costs)")
    if diagnostics:
        costs["diagnostics"] = diagnostics
    return training, scores, rows, costs


MAX_DIAGNOSTICS_BYTES = 64 * 1024


def collect_diagnostics(predictor: Any) -> dict[str, Any]:
    """What the entry reports about its own accuracy pass (an exit-layer histogram, say): untrusted,
    so it must be a small JSON object and is stored apart from the harness's measurements."""
    method = getattr(predictor, "diagnostics", None)
    if not callable(method):
        return {}
    value = method()
    if not isinstance(value, dict):
        return {}
    text = json.dumps(value, default=str)
    if len(text) > MAX_DIAGNOSTICS_BYTES:
        return {"truncated": True}
    return json.loads(text)


def write_record(
    job: PreparedJob, status: str, failure: dict[str, Any] | None, rows: list[dict[str, Any]], metrics: dict[str, Any]
) -> None:
    """The last step: fingerprint the machine and write the record atomically."""
    config, profile, data = job.config, job.profile, job.data
    env = fingerprint(job.submission_dir, job.code_sha256)
    matched, reasons = profile_match(profile, env)
    run = {
        "job_key": job.key,
        "harness_version": __version__,
        "task": {
            "name": config.task,
            "kind": data.info.kind,
            "label_names": list(data.info.label_names),
            "train_config": job.train_config,
            "source": data.source,
            "files_sha256": dict(data.files),
        },
        "submission": {**job.manifest.model_dump(), "path": str(config.submission_dir)},
        "profile": asdict(profile),
        "profile_match": {"matched": matched, "reasons": reasons},
        "config": {
            "limit": config.limit,
            "train_limit": config.train_limit,
            "seed": config.seed,
            "n_train": len(job.train),
            "n_dev": len(data.dev),
            "n_eval": {e.name: len(e.instances) for e in job.eval_sets},
            "region": profile.region,
            "pue": profile.pue,
            "measure_costs": config.measure_costs,
        },
        "environment": env,
        "sandbox": job.sandbox,
        "status": status,
        **({"failure": failure} if failure else {}),
        "started_at": job.started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "wall_s": round(time.time() - job.started.timestamp(), 3),
    }
    log("[6/6] writing the run record")
    write_run(job.final_dir, run, rows, metrics, replace=True)
    log(f"done: {job.final_dir}")
