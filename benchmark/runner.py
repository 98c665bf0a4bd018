"""One run = one job, executed as a straight pipeline of small steps passing typed objects:

    prepare (pure; bad input -> one-line error) -> skip if complete -> open the model ->
    measure (fit or restore, accuracy pass, cost passes) -> write the record

The accuracy pass is never timed for latency; the cost passes replay the same model on the same
instances under the meters. A failure of the submission's code (crash, hang, bad output) becomes
a ``failed`` record; the harness itself never stops a batch because of one job.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark import progress
from benchmark.errors import UserError
from benchmark.metrics import score_eval_set
from benchmark.model import ModelHandle, open_model
from benchmark.predictor import PredictionError, PredictorContext, validate_predictions
from benchmark.prepare import PreparedJob, prepare
from benchmark.record import read_run
from benchmark.spec import JobRequest, RunOptions
from benchmark.writer import write_record
from tasks.base import Instance

logger = logging.getLogger("greenbench")
MAX_DIAGNOSTICS_BYTES = 64 * 1024


@dataclass(frozen=True)
class RunResult:
    """What became of one job: ``complete``, ``skipped`` (already complete) or ``failed``."""

    request: JobRequest
    run_dir: Path | None
    status: str
    message: str = ""
    key: str | None = None


@dataclass(frozen=True)
class Measurements:
    """Everything the measure step produced, ready to be written."""

    scores: dict[str, dict[str, Any]]
    rows: list[dict[str, Any]]
    metrics: dict[str, Any]


def log(message: str) -> None:
    """A step line on the ``greenbench`` logger (the CLI shows them on stderr; stdout carries only
    the record's folder, so scripts can read it)."""
    logger.info(message)


def setup_torch(job: PreparedJob) -> None:
    """Apply the profile's threads and seed; a clear error when the profile's device is absent."""
    import torch

    torch.set_num_threads(job.profile.threads)
    torch.manual_seed(job.spec.seed)
    if job.profile.device == "cuda" and not torch.cuda.is_available():
        raise UserError(f"profile {job.profile.name} needs a CUDA GPU and none is visible: use --profile cpu")


def completed(job: PreparedJob, options: RunOptions) -> bool:
    """Whether this job's complete record already exists (and --force was not given)."""
    if options.force or not (job.record_dir / "run.json").is_file():
        return False
    try:
        existing = read_run(job.record_dir, with_predictions=False)
    except UserError:
        log(f"redo: {job.record_dir} holds an unreadable record")
        return False
    if existing.status == "complete":
        log(f"skip: {job.record_dir} is already complete (use --force to redo it)")
        return True
    log(f"redo: {job.record_dir} holds a {existing.status} run")
    return False


def predict_all(
    model: ModelHandle,
    instances: Sequence[Instance],
    batch_size: int,
    n_labels: int,
    where: str,
    policy: str = "length",
) -> list[int]:
    """Batched predictions over label-free copies in the profile's batching policy, each batch's
    output checked before it is kept, returned in the instances' order (``benchmark.batching``)."""
    from benchmark import batching

    plan = batching.plan(instances, batch_size, policy)
    outputs = []
    with progress.bar(len(instances), f"{progress.ACCURACY} ({where})", "inst") as bar:
        for indices in plan:
            batch = [instances[i].without_label() for i in indices]
            outputs.append(validate_predictions(model.predict(batch), len(batch), n_labels, where))
            bar.update(len(batch))
    return batching.restore(plan, outputs, len(instances))


def metered_predict_all(model: ModelHandle, job: PreparedJob, meter: Any) -> tuple[list[int], Any]:
    """The first eval set's predictions from a metered pass: its windows are the throughput and
    energy figures when long enough (MLPerf measures power on the performance run), so the price
    tag needs no second pass over the same instances."""
    from benchmark import batching
    from benchmark.costs import metered_predict

    eval_set = job.eval_sets[0]
    where, n_labels = f"predict {eval_set.name}", len(job.data.info.label_names)
    with progress.bar(len(eval_set.instances), f"{progress.ACCURACY} ({where}, metered)", "inst") as bar:
        outputs, plan, windows = metered_predict(model, eval_set.instances, job.profile, meter, tick=bar.update)
    checked = [
        validate_predictions(out, len(indices), n_labels, where) for out, indices in zip(outputs, plan, strict=True)
    ]
    return batching.restore(plan, checked, len(eval_set.instances)), windows


def accuracy_pass(
    model: ModelHandle, job: PreparedJob, first: list[int] | None = None
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Predict every eval set (the first one's predictions may come from the metered pass) and
    score them against gold labels the model never saw."""
    info = job.data.info
    scores: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for number, eval_set in enumerate(job.eval_sets):
        preds = first if (number == 0 and first is not None) else predict_all(
            model,
            eval_set.instances,
            job.profile.batch_size,
            len(info.label_names),
            f"predict {eval_set.name}",
            job.profile.batching,
        )
        gold = [int(inst.label) for inst in eval_set.instances]  # type: ignore[arg-type]
        block = score_eval_set(gold, preds, len(info.label_names), info.positive_label, info.kind == "multiple_choice")
        scores[eval_set.name] = {"role": eval_set.role, **block}
        rows.extend(
            {"eval_set": eval_set.name, "id": inst.id, "prediction": p}
            for inst, p in zip(eval_set.instances, preds, strict=True)
        )
        log(f"      {eval_set.name}: accuracy {block['accuracy']:.4f} (n={block['n']})")
    return scores, rows


def fit_or_restore(
    model: ModelHandle, job: PreparedJob, meter: Any, idle: Any, steps: progress.StepProgress
) -> dict[str, Any] | None:
    """Train, or reload weights a job with the same training identity made. The harness decides,
    and a reuse carries the training price tag of the run that paid it, marked as shared."""
    from benchmark.costs import measure_training

    if not model.can_fit:
        log("[3/6] fit: the entry does not train, skipped")
        return None
    slot = job.weight_slot()
    cached = slot.cached_training() if model.can_restore else None
    if cached is not None:
        log(f"[3/6] restore: weights trained by job {str(cached['job_key'])[:12]} (its training cost is shared)")
        model.restore()
        return {**cached["training"], "from_cache": True, "shared_from": cached["job_key"]}
    log(f"[3/6] fit on {len(job.train)} training instances (metered: {meter.source})")
    slot.clear()
    with steps.showing():
        training = measure_training(model, job.train, job.data.dev, job.profile, meter, idle)
    training.update(from_cache=False, shared_from=None)
    if model.can_restore:
        slot.remember(training, job.key)
    return training


def collect_diagnostics(model: ModelHandle) -> dict[str, Any]:
    """What the entry reports about its own pass (an exit-layer histogram, say): untrusted, so it
    must be a small JSON object and is stored apart from the harness's measurements."""
    value = model.diagnostics()
    if not isinstance(value, dict):
        return {}
    text = json.dumps(value, default=str)
    if len(text) > MAX_DIAGNOSTICS_BYTES:
        return {"truncated": True}
    return json.loads(text)


def measure(model: ModelHandle, job: PreparedJob, steps: progress.StepProgress) -> Measurements:
    """Fit (metered), the accuracy pass, then the cost passes; one idle baseline serves both meters."""
    from benchmark.costs import idle_baseline, measure_costs
    from benchmark.meters import default_meter

    meter = default_meter(job.profile)
    needs_idle = job.spec.measure_costs or model.can_fit
    idle = idle_baseline(meter, job.profile.idle_seconds) if needs_idle else None
    training = fit_or_restore(model, job, meter, idle, steps)
    first, windows = None, None
    if job.spec.measure_costs:
        log("[4/6] accuracy pass (the first eval set metered: its windows give throughput and energy)")
        first, windows = metered_predict_all(model, job, meter)
    else:
        log("[4/6] accuracy pass")
    scores, rows = accuracy_pass(model, job, first)
    metrics: dict[str, Any] = {"eval_sets": scores, **({"training": training} if training else {})}
    if job.spec.measure_costs:
        log("[5/6] cost passes: FLOPs, latency (and a separate energy window if the pass was too short)")
        metrics.update(
            measure_costs(model, job.eval_sets[0].instances, job.profile, meter, idle, accuracy_windows=windows)
        )
    else:
        log("[5/6] cost passes: not measured (this job was asked for accuracy only)")
    diagnostics = collect_diagnostics(model)
    if diagnostics:
        metrics["diagnostics"] = diagnostics
    return Measurements(scores, rows, metrics)


def context(job: PreparedJob, weights_dir: Path, steps: progress.StepProgress) -> PredictorContext:
    return PredictorContext(
        job.data.info,
        job.profile.device,
        job.profile.precision,
        job.spec.seed,
        job.submission_dir,
        weights_dir,
        progress=steps.on_message,
    )


def execute(job: PreparedJob, options: RunOptions, request: JobRequest) -> RunResult:
    """Open the model, measure, write; a submission's failure becomes a failed record."""
    from benchmark.isolation import isolation_notice
    from benchmark.sandbox_types import SandboxFailure

    log(f"[2/6] submission {job.manifest.name} {job.manifest.version} ({job.manifest.kind}): isolation {job.spec.isolation}")
    notice = isolation_notice(job.spec.isolation)
    if notice:
        logger.warning(notice)
    setup_torch(job)
    model: ModelHandle | None = None
    steps = progress.StepProgress()
    try:
        model = open_model(
            job.manifest,
            job.submission_dir,
            context(job, job.weight_slot().dir, steps),
            job.spec.isolation,
            job.profile.threads,
            options.timeout_s,
            options.memory_gb,
            heartbeat=log if options.progress else None,
        )
        measured = measure(model, job, steps)
    except (SandboxFailure, PredictionError) as exc:
        failure = {
            "kind": getattr(exc, "kind", "prediction"),
            "reason": str(exc),
            "stderr_tail": getattr(exc, "stderr_tail", ""),
        }
        log(f"run failed ({failure['kind']}): {failure['reason']}")
        write_record(job, "failed", failure, [], {})
        return RunResult(request, job.record_dir, "failed", failure["reason"], job.key)
    finally:
        if model is not None:
            model.close()
    log("[6/6] writing the run record")
    write_record(job, "complete", None, measured.rows, measured.metrics)
    log(f"done: {job.record_dir}")
    return RunResult(request, job.record_dir, "complete", "", job.key)


def run_job(request: JobRequest, options: RunOptions | None = None) -> RunResult:
    """Execute one job end to end and write its record; skips a job whose record is complete."""
    options = options or RunOptions()
    log(f"[1/6] task {request.task}: loading data and checking the job")
    job = prepare(request, options)
    log(
        f"      source {job.data.source}; train {len(job.train)} of {len(job.data.train)}; "
        + ", ".join(f"{e.name} {len(e.instances)}" for e in job.eval_sets)
    )
    if completed(job, options):
        return RunResult(request, job.record_dir, "skipped", "already complete", job.key)
    return execute(job, options, request)
