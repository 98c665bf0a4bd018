"""The environment fingerprint of a run, and whether it matches the profile it claims.

A figure without the machine it came from cannot be compared, so every record carries what was
really there: CPU, GPU, memory, driver, library versions and the code commits.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

from benchmark.profiles import Profile

HARNESS_ROOT = Path(__file__).resolve().parent.parent
# Results, figures and prose are written after a run; only what can change predictions is digested.
SKIP_DIRS = {"results", "figures", "__pycache__", ".git", ".pytest_cache"}
SKIP_SUFFIXES = {".pyc", ".md"}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _gpus() -> tuple[list[dict[str, Any]], str | None]:
    """The job's visible GPUs (CUDA_VISIBLE_DEVICES, as the NVML meter reads them): name, memory,
    UUID; an empty list (not an error) where there is none."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # pynvml.NVMLError, ImportError, missing driver library
        return [], None
    try:
        from benchmark.meters.nvml import visible_indices

        driver = pynvml.nvmlSystemGetDriverVersion()
        gpus = []
        for index in visible_indices(pynvml):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name, uuid = pynvml.nvmlDeviceGetName(handle), pynvml.nvmlDeviceGetUUID(handle)
            gpus.append(
                {
                    "index": index,
                    "name": name.decode() if isinstance(name, bytes) else name,
                    "uuid": uuid.decode() if isinstance(uuid, bytes) else uuid,
                    "memory_bytes": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
                }
            )
        return gpus, driver.decode() if isinstance(driver, bytes) else driver
    except Exception:
        return [], None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


HARNESS_CODE = ("benchmark", "tasks", "pyproject.toml")  # what "dirty" means for the harness


def git_commit(path: Path, only: tuple[str, ...] = (".",)) -> dict[str, Any]:
    """The commit holding ``path`` and whether the paths ``only`` (relative to it) have uncommitted
    changes. The harness asks about its code alone: a record store or a draft README inside the
    same checkout is not a change to the code that measured."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--", *only],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        return {"commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


CODE_DIGEST_SCHEME = 2
GENERATED_BEGIN = "<!-- greenbench:results -->"
GENERATED_END = "<!-- /greenbench:results -->"


def _digest_v1(folder: Path) -> str:
    """Scheme 1 (records before issue 12): results, figures, docs and caches were left out."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in SKIP_DIRS for part in rel.parts) or not path.is_file() or path.suffix in SKIP_SUFFIXES:
            continue
        digest.update(str(rel).encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _without_generated(data: bytes) -> bytes:
    """A README's generated results block is made from records after runs; the rest is digested."""
    text = data.decode("utf-8", errors="surrogateescape")
    start, end = text.find(GENERATED_BEGIN), text.find(GENERATED_END)
    if start == -1 or end < start:
        return data
    return (text[:start] + text[end + len(GENERATED_END) :]).encode("utf-8", errors="surrogateescape")


def _digest_v2(folder: Path) -> str:
    """Scheme 2: every file is code (a .md or an image can be read and run), except byte-code caches
    (the child ignores them: PYTHONPYCACHEPREFIX) and the generated block of the top README; a
    symlink is refused, since what it points at can change after the digest."""
    from benchmark.errors import ManifestError

    root = folder.resolve()
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", ".git"))
        for name in sorted(dirnames + filenames):
            path = base / name
            if path.is_symlink():
                raise ManifestError(
                    f"{path} is a symbolic link: a submission folder must hold its files itself; replace the link "
                    f"with a copy of what it points at"
                )
        for name in sorted(filenames):
            path = base / name
            rel = path.relative_to(root).as_posix()
            data = path.read_bytes()
            if rel == "README.md":
                data = _without_generated(data)
            digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def code_digest(folder: Path, scheme: int = CODE_DIGEST_SCHEME) -> str:
    """sha256 of a submission's code under a digest scheme (records name the scheme they used)."""
    return _digest_v1(folder) if scheme == 1 else _digest_v2(folder)


def fingerprint(submission_dir: Path, code_sha256: str | None = None) -> dict[str, Any]:
    """The machine and code a run used; ``code_sha256`` saves re-hashing a submission already hashed."""
    import torch
    import transformers

    gpus, driver = _gpus()
    cuda = torch.version.cuda if torch.cuda.is_available() else None
    return {
        "cpu_model": _cpu_model(),
        "cpu_cores": _cpu_cores(),
        "memory_bytes": _memory_bytes(),
        "gpus": gpus,
        "gpu_driver": driver,
        "cuda": cuda,
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "harness_git": git_commit(HARNESS_ROOT, HARNESS_CODE),
        "submission_git": git_commit(submission_dir),
        "submission_code_sha256": code_sha256 or code_digest(submission_dir),
        "code_digest_scheme": CODE_DIGEST_SCHEME,
    }


def profile_match(profile: Profile, env: dict[str, Any]) -> tuple[bool, list[str]]:
    """Whether this machine is the profile's hardware; the reasons when not."""
    reasons = []
    if profile.device == "cuda":
        names = [g["name"] for g in env.get("gpus", [])]
        if not names:
            reasons.append(f"profile {profile.name} needs a GPU matching {profile.device_model_pattern!r}; none found")
        for name in names:  # every visible GPU: a job sees (and is charged for) all of them
            if not re.search(profile.device_model_pattern, name):
                reasons.append(f"GPU {name!r} does not match {profile.device_model_pattern!r}")
    elif not re.search(profile.device_model_pattern, env.get("cpu_model", "")):
        reasons.append(f"CPU {env.get('cpu_model')!r} does not match {profile.device_model_pattern!r}")
    if env.get("cpu_cores", 0) < profile.min_cpu_cores:
        reasons.append(f"{env.get('cpu_cores')} CPU cores available, profile needs {profile.min_cpu_cores}")
    if profile.threads > env.get("cpu_cores", 0) and profile.device == "cpu":
        reasons.append(f"profile runs {profile.threads} threads on {env.get('cpu_cores')} cores")
    return not reasons, reasons
