"""What a job is (``JobSpec``), what the user asked for (``JobRequest``) and how to run it (``RunOptions``).

The split is the point: everything that can change a figure is in ``JobSpec`` and hashed into its
key, which names the record folder; everything that cannot (where records go, whether to redo a
complete job, time and memory limits, progress output) is in ``RunOptions`` and never in the key.
``JobRequest`` is the user's side of the spec before the harness resolves it (a profile name, a
data folder, ``--sandbox auto``); ``benchmark.prepare`` turns it into a ``JobSpec``.

Each command-line option is declared once, as a field with ``metadata["cli"]``; the parser and the
``from_args`` constructors are generated from the fields (lm-evaluation-harness's EvaluatorConfig).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from benchmark.errors import UserError

SANDBOX_CHOICES = ("auto", "bwrap", "netns", "process", "none")


def cli(help: str, *, flag: str | None = None, **argparse_kwargs: Any) -> dict[str, Any]:
    """Field metadata for a command-line option: its help text and any argparse settings."""
    return {"cli": {"help": help, "flag": flag, **argparse_kwargs}}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return value


def parse_param(text: str) -> tuple[str, Any]:
    """KEY=VALUE with VALUE read as a YAML scalar (0.9 -> float, true -> bool, text -> str)."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--param {text!r} is not KEY=VALUE (e.g. --param threshold=0.9)")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        raise UserError(f"--param {text!r}: the value is not a YAML scalar; quote it") from None
    if isinstance(parsed, dict | list):
        raise UserError(f"--param {text!r}: give a single value (number, true/false or text), not a list or map")
    return key.strip(), parsed


@dataclass(frozen=True)
class JobRequest:
    """A job as the user states it. Every field can change a figure once resolved."""

    task: str = field(metadata=cli("task name (see `greenbench tasks`)", required=True))
    submission: Path = field(
        default=Path("."), metadata=cli("submission folder holding submission.yaml", required=True, type=Path)
    )
    profile: str = field(default="cpu", metadata=cli("hardware profile name or YAML path (default: cpu)"))
    data_dir: Path | None = field(
        default=None,
        metadata=cli("local folder with the task data (default: $GREENBENCH_DATA_DIR, else the Hub)", type=Path),
    )
    limit: int | None = field(
        default=None, metadata=cli("evaluate a seeded random subset of N instances per eval set", type=_positive_int)
    )
    train_limit: int | None = field(
        default=None, metadata=cli("train on a seeded random subset of N instances", type=_positive_int)
    )
    train_config: str | None = field(
        default=None, metadata=cli("task train config (WinoGrande: xs, s, m, l, xl; default: the task's)")
    )
    seed: int = field(default=0, metadata=cli("random seed for subsets and training (default 0)", type=int))
    region: str | None = field(
        default=None, metadata=cli("grid region for CO2e (default: the profile's), e.g. USA, FRA, USA/CA, SE3")
    )
    pue: float | None = field(default=None, metadata=cli("data-centre PUE (default: the profile's)", type=float))
    intensity_file: Path | None = field(
        default=None,
        metadata=cli(
            "hourly grid intensities for the region (CSV, see docs/methodology.md): CO2e over the hours "
            "the run took, average and marginal (default: the region's yearly average)",
            type=Path,
            metavar="CSV",
        ),
    )
    measure_costs: bool = field(
        default=True,
        metadata=cli(
            "accuracy only: skip FLOPs, latency and energy", flag="--no-costs", action="store_false"
        ),
    )
    sandbox: str = field(
        default="auto",
        metadata=cli(
            "isolation for the submission's code (default: the strongest available; none: in-process)",
            choices=SANDBOX_CHOICES,
        ),
    )
    params: tuple[tuple[str, Any], ...] = field(
        default=(),
        metadata=cli(
            "override a manifest param for this run, e.g. an operating point (repeatable)",
            flag="--param",
            action="append",
            metavar="KEY=VALUE",
            convert=lambda values: tuple(parse_param(v) for v in values or ()),
        ),
    )

    def __post_init__(self) -> None:
        for key in ("limit", "train_limit"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise UserError(f"--{key.replace('_', '-')} must be a positive number of instances, got {value}")
        if self.pue is not None and self.pue < 1.0:
            raise UserError(f"--pue must be >= 1.0 (1.0 = no data-centre overhead), got {self.pue}")
        if self.sandbox not in SANDBOX_CHOICES:
            raise UserError(f"--sandbox must be one of {', '.join(SANDBOX_CHOICES)}, got {self.sandbox!r}")


@dataclass(frozen=True)
class RunOptions:
    """How to run a job. Nothing here can change a figure, so nothing here is in the job key."""

    out: Path = field(
        default=Path("runs"), metadata=cli("records store to write into (default: runs/)", type=Path)
    )
    force: bool = field(
        default=False, metadata=cli("redo the job even if a complete record exists", action="store_true")
    )
    timeout_s: float | None = field(
        default=None,
        metadata=cli("wall-clock limit in seconds for the submission (default 3600)", flag="--timeout", type=float, metavar="SECONDS"),
    )
    memory_gb: float | None = field(
        default=None, metadata=cli("memory cap for the submission's processes, in GiB", type=float, metavar="GIB")
    )
    quiet: bool = field(default=False, metadata=cli("no progress bars or step lines", action="store_true"))

    def __post_init__(self) -> None:
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise UserError(f"--timeout must be a positive number of seconds, got {self.timeout_s:g}")
        if self.memory_gb is not None and self.memory_gb <= 0:
            raise UserError(f"--memory-gb must be a positive number, got {self.memory_gb:g}")

    @property
    def progress(self) -> bool:
        return not self.quiet


def _flag(f: Any) -> str:
    return f.metadata["cli"].get("flag") or "--" + f.name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """One argparse option per field of ``cls`` that declares ``metadata["cli"]``."""
    for f in fields(cls):
        spec = f.metadata.get("cli")
        if spec is None or f.name in skip:
            continue
        kwargs = {k: v for k, v in spec.items() if k not in ("flag", "convert")}
        if "action" not in kwargs and f.default is not MISSING and not kwargs.get("required"):
            kwargs["default"] = None  # None = "not given": the dataclass default applies
        elif kwargs.get("action") in ("store_true", "store_false"):
            kwargs["default"] = f.default
        parser.add_argument(_flag(f), dest=f.name, **kwargs)


def from_args(cls: type, args: argparse.Namespace, **overrides: Any) -> Any:
    """Build ``cls`` from parsed arguments; options the user did not give keep the field default."""
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in overrides:
            values[f.name] = overrides[f.name]
            continue
        if f.metadata.get("cli") is None or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        convert = f.metadata["cli"].get("convert")
        if convert is not None:
            value = convert(value)
        if value is not None:
            values[f.name] = value
    return cls(**values)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, paths and tuples as JSON: one text per value, so one hash per job."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class JobSpec:
    """Everything that can change a figure, resolved: its key is the job's identity."""

    task: str
    train_config: str | None  # the task's default filled in: None only for tasks without configs
    data: dict[str, Any]  # {"kind": "local"|"hub", ...source identity, "files": {relpath: sha256}}
    submission: str
    submission_version: str
    code_sha256: str
    kind: str  # "python" or "hf"
    params: dict[str, Any]
    model_revision: str | None  # kind hf with a Hub id: the pinned commit
    profile: dict[str, Any]  # the resolved profile, region and PUE overrides applied
    limit: int | None
    train_limit: int | None
    seed: int
    isolation: str  # the level that will run: bwrap, netns, process or none
    measure_costs: bool
    harness_version: str
    intensity: dict[str, Any] | None = None  # an hourly intensity file: {file, sha256, region, source}

    def identity(self) -> dict[str, Any]:
        """The hashed fields; ``intensity`` only when a file was given, so jobs priced at the
        yearly average keep the keys they had before the option existed."""
        from dataclasses import asdict

        identity = asdict(self)
        if identity["intensity"] is None:
            del identity["intensity"]
        return identity

    def key(self) -> str:
        return hashlib.sha256(canonical_json(self.identity()).encode()).hexdigest()

    @property
    def profile_name(self) -> str:
        return str(self.profile["name"])
