"""Isolation levels, and the command line that runs the worker at each.

``bwrap`` (the isolated level) builds the child's filesystem from nothing: the Python installation
it runs on (wherever it lives, /tmp included), the harness's own packages, the submission
read-only, the job's weights folder, a size-capped tmpfs as /tmp, and nothing else: no data, no
Hub caches, no repository, no $HOME. The child gets its own user namespace mapped to uid 65534
with every capability dropped (so mount, umount and remount fail), its own pid namespace and
session (the harness is not even nameable), no network, and dies with the harness.

``netns`` (a network namespace via ``unshare``) and ``process`` remain for machines without
bubblewrap or user namespaces; there the entry can read every file the harness can, so a record
made at them counts as self-run.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.errors import UserError

ISOLATION_ORDER = ("bwrap", "netns", "process")
VERIFIED_LEVEL = "bwrap"
SANDBOX_UID = 65534
INSIDE = Path("/run/greenbench")
INSIDE_HARNESS = INSIDE / "harness"
INSIDE_SUBMISSION = INSIDE / "submission"
INSIDE_WEIGHTS = INSIDE / "weights"
INSIDE_SCRATCH = Path("/tmp")
HARNESS_PACKAGES = ("benchmark", "tasks")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "ssl",
    "ca-certificates",
    "localtime",
    "passwd",
    "group",
    "nsswitch.conf",
)
ENV_ALLOW = (
    "PATH",
    "LANG",
    "LC_ALL",
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "TOKENIZERS_PARALLELISM",
    "OMP_NUM_THREADS",
    "GOMP_SPINCOUNT",  # overrides RUNTIME_ENV's
    "MKL_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "CUDA_VISIBLE_DEVICES",
    "PYTHONHASHSEED",
    "GREENBENCH_CACHE",  # where a pinned Hub model's folder is (bound read-only at the same path)
)
INSTALL_HINT = (
    "for the isolated level (bwrap) install bubblewrap (apt-get install bubblewrap) on a kernel that allows "
    "user namespaces; records made below it count as self-run"
)


@dataclass(frozen=True)
class Mounts:
    """What the child may see, as host paths. ``readable`` are extra read-only folders (a pinned model)."""

    submission: Path
    weights: Path
    scratch: Path  # a parent-made folder: the child's cwd and $HOME below the isolated level
    scratch_bytes: int
    readable: Sequence[Path] = field(default_factory=tuple)


def harness_root() -> Path:
    return Path(__file__).resolve().parent.parent


def python_paths() -> list[Path]:
    """The interpreter, standard library and site-packages, wherever they live (a venv in /tmp too).

    Only sys.path entries inside a prefix or named site-/dist-packages: the current folder and the
    repository root (pytest and ``python -m`` put them there) stay hidden.
    """
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    found = set(prefixes) | {Path(sys.executable).resolve().parent}
    for entry in sys.path:
        if not entry or not Path(entry).is_dir():
            continue
        path = Path(entry).resolve()
        if path.name in ("site-packages", "dist-packages") or any(path.is_relative_to(p) for p in prefixes):
            found.add(path)
    roots = sorted(found, key=lambda p: len(p.parts))
    return [p for i, p in enumerate(roots) if not any(p.is_relative_to(q) for q in roots[:i])]


def _system_args(gpu: bool) -> list[str]:
    args: list[str] = []
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    for name in ETC_FILES:
        if os.path.lexists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    args += ["--proc", "/proc"]
    args += ["--dev-bind", "/dev", "/dev", "--ro-bind", "/sys", "/sys"] if gpu else ["--dev", "/dev"]
    return args


def bwrap_command(cmd: list[str], mounts: Mounts, gpu: bool) -> list[str]:
    args = [
        "bwrap",
        "--unshare-user",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--cap-drop",
        "ALL",
        "--unshare-pid",
        "--as-pid-1",  # the worker is pid 1: no bwrap command line (host paths) inside, and all die with it
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--unshare-net",
        "--die-with-parent",
        "--new-session",
        *_system_args(gpu),
        "--size",  # applies to the next --tmpfs only
        str(mounts.scratch_bytes),
        "--tmpfs",
        str(INSIDE_SCRATCH),
    ]
    for path in python_paths():  # after the tmpfs, so an interpreter under /tmp stays visible
        args += ["--ro-bind", str(path), str(path)]
    root = harness_root()
    for package in HARNESS_PACKAGES:
        args += ["--ro-bind", str(root / package), str(INSIDE_HARNESS / package)]
    args += ["--ro-bind", str(mounts.submission), str(INSIDE_SUBMISSION)]
    args += ["--bind", str(mounts.weights), str(INSIDE_WEIGHTS)]
    for path in mounts.readable:
        args += ["--ro-bind", str(path), str(path)]
    args += ["--remount-ro", "/", "--chdir", str(INSIDE_SCRATCH)]
    return [*args, "--", *cmd]


# The model's runtime, the same for every entry. GNU OpenMP (torch's CPU thread pool) spins a
# finished thread at each barrier for up to 300,000 iterations by default; beside another job on
# a shared machine the sibling it waits for is descheduled, and the spinning is charged to the job
# as CPU time (hence energy): 1.6x the CPU time per batch of 32 MiniLM calls beside one busy core.
# A spin of 10,000 iterations then sleeps: the same latency on a quiet machine, and CPU time
# beside a neighbour within 7% (tools/bench_energy_noise.py measures the job's energy).
RUNTIME_ENV = {"GOMP_SPINCOUNT": "10000"}


def child_env(home: Path, isolation: str = "process") -> dict[str, str]:
    """Only the allow-listed variables: tokens and cloud keys never reach submission code."""
    env = {**RUNTIME_ENV, **{k: v for k, v in os.environ.items() if k in ENV_ALLOW}}
    if isolation == "bwrap":  # the host's PATH names its folders; inside only these exist
        pythonpath = str(INSIDE_HARNESS)
        env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"))
    else:
        pythonpath = os.pathsep.join(p for p in (str(harness_root()), os.environ.get("PYTHONPATH")) if p)
    env.update(
        HOME=str(home), TMPDIR=str(home), PYTHONPATH=pythonpath, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1"
    )
    return env


def worker_command(isolation: str, mounts: Mounts, gpu: bool) -> tuple[list[str], dict[str, str], Path]:
    """The argv, environment and cwd (host side) of the worker at ``isolation``."""
    cmd = [sys.executable, "-s", "-m", "benchmark.worker"]
    if isolation == "bwrap":
        return bwrap_command(cmd, mounts, gpu), child_env(INSIDE_SCRATCH, "bwrap"), mounts.scratch
    if isolation == "netns":
        return ["unshare", "-rn", "--", *cmd], child_env(mounts.scratch, isolation), mounts.scratch
    return cmd, child_env(mounts.scratch, isolation), mounts.scratch


def inside_paths(isolation: str, mounts: Mounts) -> tuple[Path, Path]:
    """The submission and weights folders as the child sees them."""
    if isolation == "bwrap":
        return INSIDE_SUBMISSION, INSIDE_WEIGHTS
    return mounts.submission, mounts.weights


def _probe(cmd: list[str], env: dict[str, str] | None = None) -> str | None:
    """None when ``cmd`` runs; otherwise its last stderr line."""
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=60, env=env)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if done.returncode == 0:
        return None
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit code {done.returncode}"


@functools.cache
def probe_bwrap() -> str | None:
    """Why the isolated level cannot run here (None: it can), checked by starting the interpreter in it."""
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not installed"
    with tempfile.TemporaryDirectory(prefix="greenbench-probe-") as tmp:
        mounts = Mounts(Path(tmp), Path(tmp), Path(tmp), 1 << 20)
        cmd = bwrap_command([sys.executable, "-s", "-c", "import benchmark.protocol"], mounts, gpu=False)
        return _probe(cmd, child_env(INSIDE_SCRATCH, "bwrap"))


@functools.cache
def available_isolation() -> str:
    """The strongest isolation this machine supports, checked by running it once."""
    if probe_bwrap() is None:
        return "bwrap"
    if shutil.which("unshare") and _probe([sys.executable, "-c", "pass"]) is None:
        if _probe(["unshare", "-rn", "true"]) is None:
            return "netns"
    return "process"


def resolve_isolation(requested: str) -> str:
    """``auto`` means the strongest available; a named level must be available here."""
    best = available_isolation()
    if requested == "auto":
        return best
    if requested not in ISOLATION_ORDER:
        raise UserError(f"sandbox level {requested!r} is unknown: choose one of auto, {', '.join(ISOLATION_ORDER)}")
    if ISOLATION_ORDER.index(requested) < ISOLATION_ORDER.index(best):
        why = probe_bwrap() if requested == "bwrap" else "unshare -rn fails"
        raise UserError(
            f"sandbox {requested} is not available on this machine ({why}; best here: {best}): {INSTALL_HINT}, "
            f"or choose --sandbox {best}"
        )
    return requested


def isolation_notice(level: str) -> str | None:
    """One line for ``greenbench run`` when a job ran below the isolated level, else None."""
    if level == VERIFIED_LEVEL:
        return None
    why = probe_bwrap() if level != "none" else None
    return (
        f"sandbox {level}: the entry can read this machine's files, gold labels included, so the record counts "
        f"as self-run" + (f" (bwrap: {why})" if why else "") + f"; {INSTALL_HINT}"
    )


def strip_links(folder: Path) -> list[Path]:
    """Remove symlinks and special files the child left in its weights folder: the harness reads that
    folder later as root, and must not follow a link into another entry's cache or block on a fifo."""
    removed = []
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root) / name
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed
