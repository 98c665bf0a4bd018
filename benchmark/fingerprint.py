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
    """GPU names and memory through NVML; an empty list (not an error) where there is none."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # pynvml.NVMLError, ImportError, missing driver library
        return [], None
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            gpus.append(
                {
                    "index": index,
                    "name": name.decode() if isinstance(name, bytes) else name,
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


def git_commit(path: Path) -> dict[str, Any]:
    """The commit holding ``path`` and whether its tree has uncommitted changes there."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        return {"commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def code_digest(folder: Path) -> str:
    """sha256 over the submission's files (names and bytes); results, figures, docs and caches excluded."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in SKIP_DIRS for part in rel.parts) or not path.is_file() or path.suffix in SKIP_SUFFIXES:
            continue
        digest.update(str(rel).encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


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
        "harness_git": git_commit(HARNESS_ROOT),
        "submission_git": git_commit(submission_dir),
        "submission_code_sha256": code_sha256 or code_digest(submission_dir),
    }


def profile_match(profile: Profile, env: dict[str, Any]) -> tuple[bool, list[str]]:
    """Whether this machine is the profile's hardware; the reasons when not."""
    reasons = []
    if profile.device == "cuda":
        names = [g["name"] for g in env.get("gpus", [])]
        if not names:
            reasons.append(f"profile {profile.name} needs a GPU matching {profile.device_model_pattern!r}; none found")
        elif not re.search(profile.device_model_pattern, names[0]):
            reasons.append(f"GPU {names[0]!r} does not match {profile.device_model_pattern!r}")
    elif not re.search(profile.device_model_pattern, env.get("cpu_model", "")):
        reasons.append(f"CPU {env.get('cpu_model')!r} does not match {profile.device_model_pattern!r}")
    if env.get("cpu_cores", 0) < profile.min_cpu_cores:
        reasons.append(f"{env.get('cpu_cores')} CPU cores available, profile needs {profile.min_cpu_cores}")
    if profile.threads > env.get("cpu_cores", 0) and profile.device == "cpu":
        reasons.append(f"profile runs {profile.threads} threads on {env.get('cpu_cores')} cores")
    return not reasons, reasons
