"""Hardware profiles: small declarative YAML files, one per fixed measurement setting."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from benchmark.errors import UserError

PROFILE_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Profile:
    """How a run is measured. A run on hardware that does not match is written but never verified."""

    name: str
    description: str
    device: Literal["cpu", "cuda"]
    device_model_pattern: str  # regex searched in the GPU name (cuda) or CPU model (cpu)
    min_cpu_cores: int
    precision: Literal["float32", "bfloat16", "float16"]
    threads: int
    batch_size: int
    latency_samples: int
    warmup: int
    max_repeats: int
    latency_cv_target: float
    idle_seconds: float
    region: str
    pue: float
    energy_min_seconds: float  # the metered pass repeats until it lasts at least this long
    flops_sample_instances: int | None  # FLOPs counted at batch 1 on this many eval instances; None: all
    declared_power_w: dict[str, float] = field(default_factory=dict)
    batching: Literal["length", "arrival"] = "length"  # batched passes: length-sorted batches, or arrival order

    def __post_init__(self) -> None:
        problems = []
        for key in ("threads", "batch_size", "latency_samples", "max_repeats", "min_cpu_cores"):
            if getattr(self, key) < 1:
                problems.append(f"{key} must be >= 1")
        if self.warmup < 0 or self.idle_seconds < 0 or self.energy_min_seconds < 0:
            problems.append("warmup and idle_seconds must be >= 0")
        if self.pue < 1.0:
            problems.append("pue must be >= 1.0")
        if self.device not in ("cpu", "cuda"):
            problems.append("device must be cpu or cuda")
        if self.batching not in ("length", "arrival"):
            problems.append("batching must be length or arrival")
        if self.precision not in ("float32", "bfloat16", "float16"):
            problems.append("precision must be float32, bfloat16 or float16")
        if problems:
            raise UserError(f"profile {self.name}: " + "; ".join(problems))


def available_profiles() -> dict[str, Path]:
    return {p.stem: p for p in sorted(PROFILE_DIR.glob("*.yaml"))}


def load_profile(name_or_path: str) -> Profile:
    """A shipped profile by name, or a YAML file by path (for private hardware)."""
    known = available_profiles()
    path = known.get(name_or_path) or Path(name_or_path)
    if not path.is_file():
        raise UserError(
            f"unknown profile {name_or_path!r}: choose one of {', '.join(known)} (see `greenbench profiles`) "
            f"or give the path of a profile YAML file"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Profile(**data)
    except (yaml.YAMLError, TypeError, UnicodeDecodeError) as exc:
        raise UserError(
            f"profile file {path} is invalid ({str(exc).splitlines()[0]}): compare it with cpu.yaml"
        ) from exc


def override(profile: Profile, **changes: object) -> Profile:
    """A copy with CLI overrides (region, pue, ...) applied; None means keep."""
    from dataclasses import replace

    return replace(profile, **{k: v for k, v in changes.items() if v is not None})
