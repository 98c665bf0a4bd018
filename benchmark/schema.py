"""The one typed schema of a run record's ``run.json`` and ``metrics.json`` (schema version 3).

``write_run`` validates through these models before a byte is written and ``read_run`` validates
through them on every read, so the record's shape is declared once. Every model is frozen, strict
(a string is never coerced to a number) and forbids unknown keys: a typo or an injected field is an
error, not a silently carried value. Every figure is a finite number >= 0 in the unit its name
says, or null with a reason in its block's ``null_reasons`` (never 0 for "not measured").

Cross-field arithmetic (throughput = n / seconds and the like) is not checked here but in
``benchmark.consistency``, which needs the harness's carbon table and reports one line per
contradiction instead of stopping at the first.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from benchmark.manifest import Manifest

SCHEMA_VERSION = 3

Figure = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, Field(max_length=4000)]
CountedBy = Literal["harness", "entry-process", "not-counted"]

# Fields other helpers added while schema 3 was written, accepted as optional so their records keep
# writing; the lead reconciles them (type ``spec`` as the JobSpec, drop what is never written).
PENDING_FIELDS = (
    "run.spec (lead: JobSpec identity, free JSON here)",
    "run.isolation (lead: not written yet; run.sandbox carries the level)",
    "run.self_run (lead)",
    "run.environment.code_digest_scheme (lead)",
    "metrics.training.shared_from (lead: not written yet)",
    "metrics.training.training_flops_method / training_flops_sample (measurement; checked)",
    "metrics.{latency,throughput,energy}.unstable / unstable_reason, throughput.throughput_cv (measurement)",
    "metrics.throughput.batching / window_source (measurement, batching)",
    "metrics.energy.cpu_seconds / power_samples / meter_flags (measurement)",
    "metrics.energy.carbon_per_1k_hourly, training.training_carbon_hourly, carbon_per_1k.resolution (measurement)",
    "metrics.energy.n_instances_windows (suggested to measurement: per-window counts; checked when present)",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Block(Strict):
    """A block whose figures may be null, each null explained in ``null_reasons``."""

    NULLABLE: ClassVar[tuple[str, ...]] = ()
    null_reasons: dict[str, Text] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _nulls_have_reasons(self) -> Block:
        for name in self.NULLABLE:
            given = name in self.model_fields_set  # an optional figure left out needs no reason
            if given and getattr(self, name) is None and not self.null_reasons.get(name):
                raise ValueError(f"{name} is null without a reason: add null_reasons.{name}")
        for name in self.null_reasons:
            if name not in self.NULLABLE or getattr(self, name) is not None:
                raise ValueError(f"null_reasons.{name} explains a figure that is not null")
        return self


# ---------------------------------------------------------------- metrics.json


class EvalScores(Strict):
    role: Literal["id", "ood"] = "id"
    n: Positive
    accuracy: Fraction
    accuracy_ci95_low: Fraction
    accuracy_ci95_high: Fraction
    macro_f1: Fraction | None = None
    f1_positive: Fraction | None = None  # the re-score checks each figure (and the interval) exactly


class FlopsBlock(Block):
    NULLABLE = (
        "inference_flops_per_instance_mean",
        "inference_flops_per_instance_std",
        "inference_flops_per_instance_sem",
        "inference_flops_total_estimate",
    )
    counted_by: CountedBy
    inference_flops_per_instance_mean: Figure | None
    inference_flops_per_instance_std: Figure | None
    inference_flops_per_instance_sem: Figure | None
    inference_flops_total_estimate: Figure | None
    n_counted: Count
    n_eval: Positive
    counted_at_batch_size: Positive = 1
    method: Text

    @model_validator(mode="after")
    def _provenance(self) -> FlopsBlock:
        counted = self.inference_flops_per_instance_mean is not None
        if self.counted_by == "not-counted" and counted:
            raise ValueError("counted_by is not-counted but a FLOP figure is recorded")
        if self.counted_by != "not-counted" and not self.inference_flops_per_instance_mean:
            raise ValueError(f"counted_by is {self.counted_by} but no FLOPs were counted: record not-counted and null")
        return self


class LatencyBlock(Block):
    NULLABLE = ("latency_median_cv",)
    latency_ms_p50: Figure
    latency_ms_p90: Figure
    latency_ms_p99: Figure
    latency_ms_mean: Figure
    latency_cv: Figure
    latency_median_cv: Figure | None
    n_samples: Positive
    repeats: Positive
    warmup: Count
    cv_target_met: bool
    unstable: bool | None = None
    unstable_reason: Text | None = None

    @model_validator(mode="after")
    def _ordered(self) -> LatencyBlock:
        if not 0 < self.latency_ms_p50 <= self.latency_ms_p90 <= self.latency_ms_p99:
            raise ValueError("latency percentiles must satisfy 0 < p50 <= p90 <= p99")
        return self


class ThroughputBlock(Strict):
    throughput_instances_per_s: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    batch_size: Positive
    n_instances: Positive
    seconds: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    batching: Literal["length", "arrival"] | None = None
    window_source: Literal["accuracy-pass", "accuracy-pass+top-up", "separate-window"] | None = None
    throughput_cv: Figure | None = None
    unstable: bool | None = None
    unstable_reason: Text | None = None


class ReferenceCarbon(Strict):
    intensity_g_per_kwh: Figure
    co2e_kg: Figure | None


class CarbonBlock(Block):
    NULLABLE = ("co2e_kg",)
    region: Annotated[str, Field(min_length=1, max_length=64)]
    pue: Annotated[float, Field(ge=1, allow_inf_nan=False)]
    intensity_g_per_kwh: Figure
    intensity_source: Text
    intensity_year: int | None
    resolution: Literal["annual-average"] | None = None
    co2e_kg: Figure | None
    reference_regions: dict[str, ReferenceCarbon]


class HourlyCarbon(Strict):
    """CO2e over the hours the run took, from an hourly intensity file (``benchmark.intensity``)."""

    resolution: Literal["hourly"]
    region: Annotated[str, Field(min_length=1, max_length=64)]
    intensity_source: Text
    intensity_file: Text
    intensity_file_sha256: Sha256
    span_utc: list[str] = Field(min_length=2, max_length=2)
    hours: Count
    average_g_per_kwh: Figure | None
    marginal_g_per_kwh: Figure | None
    reason: Text | None
    pue: Annotated[float, Field(ge=1, allow_inf_nan=False)]
    co2e_kg_average: Figure | None
    co2e_kg_marginal: Figure | None

    @model_validator(mode="after")
    def _nulls_have_reasons(self) -> HourlyCarbon:
        if (self.average_g_per_kwh is None or self.marginal_g_per_kwh is None) and not self.reason:
            raise ValueError("an hourly intensity is null without a reason")
        return self


class EnergyBlock(Block):
    NULLABLE = ("energy_kwh_per_1k", "energy_kwh_total_per_1k", "energy_per_1k_cv")
    energy_source: Annotated[str, Field(min_length=1, max_length=200)]
    measured: bool
    notes: list[Text]
    window_s: Figure
    n_instances: Count
    energy_kwh_total: Figure
    energy_kwh_active: Figure
    energy_kwh_per_1k: Figure | None
    energy_kwh_total_per_1k: Figure | None
    components_j_total: dict[str, Figure]
    components_j_active: dict[str, Figure]
    idle_power_w: dict[str, Figure]
    idle_baseline_s: Figure
    carbon_per_1k: CarbonBlock
    energy_kwh_per_1k_windows: list[Figure] | None = None  # inference only: the metered windows
    energy_per_1k_cv: Figure | None = None
    unstable: bool | None = None
    unstable_reason: Text | None = None
    n_instances_windows: list[Count] | None = None  # suggested: per-window instance counts
    cpu_seconds: Figure | None = None
    power_samples: Count | None = None
    meter_flags: list[Text] | None = None
    carbon_per_1k_hourly: HourlyCarbon | None = None

    @model_validator(mode="after")
    def _components_match(self) -> EnergyBlock:
        if set(self.components_j_active) != set(self.components_j_total):
            raise ValueError("components_j_active and components_j_total name different components")
        return self


class TrainingFlopsSample(Strict):
    """``benchmark.training_flops.TrainingFlops``: a counted fit on a sample, scaled up."""

    estimate: Figure
    counted: Count
    n_counted: Count
    n_train: Count
    scale: Figure
    method: Text


class TrainingBlock(Block):
    NULLABLE = ("training_flops", "training_co2e_kg")
    n_train: Count
    n_dev: Count
    wall_s: Figure
    training_flops: Figure | None
    counted_by: CountedBy
    training_energy_kwh: Figure
    training_co2e_kg: Figure | None
    energy: EnergyBlock
    notes: list[Text]
    from_cache: bool | None = None
    shared_from: Text | None = None  # pending: the lead's link to the record that trained the weights
    training_flops_method: Text | None = None
    training_flops_sample: TrainingFlopsSample | None = None
    training_carbon_hourly: HourlyCarbon | None = None

    @model_validator(mode="after")
    def _provenance(self) -> TrainingBlock:
        if (self.counted_by == "not-counted") != (self.training_flops is None):
            raise ValueError("training_flops must be null exactly when counted_by is not-counted")
        if self.training_flops == 0:
            raise ValueError("training_flops is 0: a count of nothing is not-counted with null, never 0")
        return self


class Metrics(Strict):
    schema_version: Literal[3]
    eval_sets: dict[str, EvalScores] = Field(default_factory=dict)
    flops: FlopsBlock | None = None
    latency: LatencyBlock | None = None
    throughput: ThroughputBlock | None = None
    energy: EnergyBlock | None = None
    training: TrainingBlock | None = None
    diagnostics: dict[str, Any] | None = None  # the entry's own, untrusted, never a figure


# ---------------------------------------------------------------- run.json


class TaskInfo(Strict):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Literal["classification", "multiple_choice"]
    label_names: list[Text] = Field(min_length=2)
    train_config: str | None
    source: Text
    files_sha256: dict[str, Sha256]


class SubmissionInfo(Manifest):
    """The manifest as run (``--param`` overrides merged), plus where it was."""

    path: Text | None = None  # records before the store (issue 12) named the submission folder


class ProfileInfo(Strict):
    """``benchmark.profiles.Profile`` as recorded (a test keeps the two in step)."""

    name: str
    description: Text
    device: Literal["cpu", "cuda"]
    device_model_pattern: str
    min_cpu_cores: Positive
    precision: Literal["float32", "bfloat16", "float16"]
    threads: Positive
    batch_size: Positive
    latency_samples: Positive
    warmup: Count
    max_repeats: Positive
    latency_cv_target: Figure
    idle_seconds: Figure
    region: str
    pue: Annotated[float, Field(ge=1, allow_inf_nan=False)]
    energy_min_seconds: Figure
    flops_sample_instances: Positive | None
    declared_power_w: dict[str, Figure] = Field(default_factory=dict)
    batching: Literal["length", "arrival"] = "length"


class ProfileMatch(Strict):
    matched: bool
    reasons: list[Text]


class ConfigInfo(Strict):
    limit: Positive | None
    train_limit: Positive | None
    seed: int
    n_train: Count
    n_dev: Count
    n_eval: dict[str, Count]
    region: str
    pue: Annotated[float, Field(ge=1, allow_inf_nan=False)]
    measure_costs: bool


class GitState(Strict):
    commit: str | None
    dirty: bool | None


class Environment(Strict):
    cpu_model: Text
    cpu_cores: Count
    memory_bytes: Count | None
    gpus: list[dict[str, Any]]
    gpu_driver: str | None
    cuda: str | None
    os: Text
    python: str
    torch: str | None
    transformers: str | None
    harness_git: GitState
    submission_git: GitState
    submission_code_sha256: Sha256
    code_digest_scheme: int | None = None


class Failure(Strict):
    kind: Literal["error", "timeout", "oom", "crash", "protocol"]
    reason: Text
    stderr_tail: Annotated[str, Field(max_length=64_000)] = ""


class MigrationNote(Strict):
    from_schema: int
    at: str
    change: Text


class Run(Strict):
    schema_version: Literal[3]
    status: Literal["complete", "failed"]
    job_key: Sha256
    harness_version: str
    task: TaskInfo
    submission: SubmissionInfo
    profile: ProfileInfo
    profile_match: ProfileMatch
    config: ConfigInfo
    environment: Environment
    sandbox: str
    failure: Failure | None = None
    started_at: str
    finished_at: str
    wall_s: Figure
    migrated: list[MigrationNote] | None = None
    synthetic: bool | None = None  # generated records for tests and benchmarks; never on the board
    spec: dict[str, Any] | None = None  # pending: the lead's JobSpec
    isolation: str | None = None  # pending: the lead's sandbox level
    self_run: bool | None = None  # pending: the lead's flag for a weaker isolation level

    @model_validator(mode="after")
    def _failure_iff_failed(self) -> Run:
        if (self.status == "failed") != (self.failure is not None):
            raise ValueError("a failed run needs a failure block, and only a failed run has one")
        return self


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a field's type refers to (inside Optional, list and dict values)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    args = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is dict:
        args = args[1:]
    return [m for a in args for m in models_in(a)]
