"""Sweep files: many entries x tasks x operating points x seeds x profiles, as one list of jobs.

A sweep file is untrusted-ish input written by hand, so it is parsed strictly (unknown keys are
errors naming the key) and expanded into ``JobRequest``s before anything runs. Which jobs are
already complete is decided by the job key in the records store, so a sweep killed halfway and
started again redoes nothing that finished.

    out: leaderboard/records          # the records store (default: runs/)
    data_dir: ../shared/data          # optional; else $GREENBENCH_DATA_DIR, else the Hub
    groups:
      - submissions: [submissions/early-exit]    # folders or globs, relative to the sweep file
        tasks: [ag_news]
        grid: {threshold: [1.01, 0.8, 0.6]}      # every combination is one operating point
        seeds: [0, 1]
        profiles: [cpu]
        limit: 2000
        train_limit: 3000
"""

from __future__ import annotations

import glob
import itertools
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from benchmark.errors import UserError
from benchmark.spec import JobRequest

MAX_SWEEP_BYTES = 256 * 1024
MAX_JOBS = 100_000


class Group(BaseModel):
    """One block of the cross product."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    submissions: list[str] = Field(min_length=1)
    tasks: list[str] = Field(min_length=1)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    profiles: list[str] = Field(default_factory=lambda: ["cpu"], min_length=1)
    limit: int | None = Field(default=None, ge=1)
    train_limit: int | None = Field(default=None, ge=1)
    train_config: str | None = None
    region: str | None = None
    pue: float | None = Field(default=None, ge=1.0)
    intensity_file: str | None = None  # hourly intensities (relative to the sweep file), as run --intensity-file
    measure_costs: bool = True
    sandbox: str = "auto"


class SweepFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    out: str | None = None
    data_dir: str | None = None
    groups: list[Group] = Field(min_length=1)


def _problems(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{where}: {message}")
    return f"sweep file {path}: " + "; ".join(lines[:8]) + (f" (and {len(lines) - 8} more)" if len(lines) > 8 else "")


def load_sweep(path: Path) -> SweepFile:
    """Parse and check a sweep file; every problem in one line that names the key."""
    if not path.is_file():
        raise UserError(f"sweep file {path} does not exist: give the path of a YAML sweep file")
    raw = path.read_bytes()
    if len(raw) > MAX_SWEEP_BYTES:
        raise UserError(f"sweep file {path} is {len(raw)} bytes, over {MAX_SWEEP_BYTES}: split it")
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise UserError(f"sweep file {path} is not valid UTF-8 YAML ({first}): fix the syntax") from None
    if not isinstance(data, dict):
        raise UserError(f"sweep file {path} must be a mapping with a 'groups' list, got {type(data).__name__}")
    try:
        return SweepFile.model_validate(data)
    except ValidationError as exc:
        raise UserError(_problems(path, exc)) from None


def _folders(patterns: list[str], base: Path) -> list[Path]:
    out: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(str(base / pattern))) if any(c in pattern for c in "*?[") else [str(base / pattern)]
        folders = [Path(m) for m in matches if (Path(m) / "submission.yaml").is_file()]
        if not folders:
            raise UserError(f"sweep: submissions entry {pattern!r} matches no folder holding submission.yaml")
        out += [f for f in folders if f not in out]
    return out


def expand(sweep: SweepFile, base: Path) -> list[JobRequest]:
    """Every job of the sweep, in a stable order (group, submission, task, point, seed, profile)."""
    data_dir = (base / sweep.data_dir) if sweep.data_dir else None
    jobs: list[JobRequest] = []
    for group in sweep.groups:
        names = sorted(group.grid)
        points = [tuple(zip(names, values, strict=True)) for values in itertools.product(*(group.grid[n] for n in names))]
        for folder, task, point, seed, profile in itertools.product(
            _folders(group.submissions, base), group.tasks, points, group.seeds, group.profiles
        ):
            profile_ref = str(base / profile) if profile.endswith((".yaml", ".yml")) else profile
            jobs.append(
                JobRequest(
                    task=task,
                    submission=folder,
                    profile=profile_ref,
                    data_dir=data_dir,
                    limit=group.limit,
                    train_limit=group.train_limit,
                    train_config=group.train_config,
                    seed=seed,
                    region=group.region,
                    pue=group.pue,
                    intensity_file=(base / group.intensity_file) if group.intensity_file else None,
                    measure_costs=group.measure_costs,
                    sandbox=group.sandbox,
                    params=point,
                )
            )
            if len(jobs) > MAX_JOBS:
                raise UserError(f"sweep expands to more than {MAX_JOBS} jobs: split it into several files")
    return jobs


def describe(request: JobRequest) -> str:
    point = ", ".join(f"{k}={v}" for k, v in request.params)
    profile = Path(request.profile).stem if request.profile.endswith((".yaml", ".yml")) else request.profile
    return f"{request.submission.name} x {request.task} x {profile} seed {request.seed}" + (
        f" [{point}]" if point else ""
    )
