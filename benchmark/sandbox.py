"""Run submission code in a child process, under limits, and talk to it over protocol v1.

The harness assumes a submission can crash, hang, eat memory, reach for the network or read
secrets. So its code runs only in a child: the best isolation the OS allows (``bwrap``: read-only
root, private /tmp and $HOME, a writable scratch folder, no network; else ``netns``: a network
namespace via ``unshare``; else ``process``), with a wall-clock deadline, an address-space cap
and an environment cleared of everything but a short allow-list. The parent keeps the gold
labels, validates every reply and never unpickles anything the child sends.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmark.errors import ManifestError, UserError
from benchmark.manifest import Manifest
from benchmark.predictor import PredictorContext
from benchmark.worker import PROTOCOL_VERSION
from tasks.base import Instance

ENV_ALLOW = (
    "PATH",
    "LANG",
    "LC_ALL",
    "PYTHONPATH",
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "TOKENIZERS_PARALLELISM",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "CUDA_VISIBLE_DEVICES",
    "PYTHONHASHSEED",
)
SECRET_DIRS = (".ssh", ".aws", ".azure", ".config/gcloud", ".docker", ".kube", ".gnupg", ".huggingface")
SECRET_FILES = (".netrc", ".git-credentials", ".pypirc", ".cache/huggingface/token", ".cache/huggingface/stored_tokens")
MAX_REPLY_BYTES = 64 * 1024 * 1024
STDERR_TAIL_LINES = 20


@dataclass(frozen=True)
class Limits:
    timeout_s: float
    memory_bytes: int | None


class SandboxFailure(Exception):
    """The child crashed, hung, ran out of memory or raised: the run is recorded as failed."""

    def __init__(self, kind: str, reason: str, stderr_tail: str = "") -> None:
        super().__init__(reason)
        self.kind = kind  # "timeout", "oom", "crash", "error", "protocol"
        self.reason = reason
        self.stderr_tail = stderr_tail


def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.cache
def available_isolation() -> str:
    """The strongest isolation this machine supports, checked by running it once."""
    if shutil.which("bwrap") and _works(
        [
            "bwrap",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--unshare-net",
            "--die-with-parent",
            "true",
        ]
    ):
        return "bwrap"
    if shutil.which("unshare") and _works(["unshare", "-rn", "true"]):
        return "netns"
    return "process"


ISOLATION_ORDER = ("bwrap", "netns", "process")


def resolve_isolation(requested: str) -> str:
    """``auto`` means the strongest available; a named level must be available here."""
    best = available_isolation()
    if requested == "auto":
        return best
    if ISOLATION_ORDER.index(requested) < ISOLATION_ORDER.index(best):
        raise UserError(
            f"sandbox {requested} is not available on this machine (best: {best}): install bubblewrap "
            f"(apt-get install bubblewrap) or choose --sandbox {best}"
        )
    return requested


def child_env(home: Path) -> dict[str, str]:
    """Only the allow-listed variables: tokens and cloud keys never reach submission code."""
    env = {k: v for k, v in os.environ.items() if k in ENV_ALLOW}
    env.update(HOME=str(home), TMPDIR=str(home), PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def wrap_command(
    cmd: list[str], isolation: str, scratch: Path, writable: Sequence[Path], gpu: bool, readable: Sequence[Path] = ()
) -> list[str]:
    """The child's command line under ``isolation``. With bwrap, /tmp is private, so folders the
    child must read that live there (the submission, the harness in a temporary clone) are bound."""
    if isolation == "bwrap":
        home = Path.home()
        args = ["bwrap", "--ro-bind", "/", "/", "--proc", "/proc", "--tmpfs", "/tmp"]
        args += ["--dev-bind", "/dev", "/dev"] if gpu else ["--dev", "/dev"]
        # The interpreter may live under $HOME (pyenv), so $HOME stays readable; the usual
        # credential stores in it are masked instead.
        for rel in SECRET_DIRS:
            if (home / rel).is_dir():
                args += ["--tmpfs", str(home / rel)]
        for rel in SECRET_FILES:
            if (home / rel).is_file():
                args += ["--ro-bind", "/dev/null", str(home / rel)]
        for path in readable:
            args += ["--ro-bind", str(path), str(path)]
        for path in (scratch, *writable):
            args += ["--bind", str(path), str(path)]
        args += [
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-pid",
            "--die-with-parent",
            "--new-session",
            "--chdir",
            str(scratch),
        ]
        return [*args, "--", *cmd]
    if isolation == "netns":
        return ["unshare", "-rn", "--", *cmd]
    return cmd


def _instance_json(inst: Instance, with_label: bool) -> dict[str, Any]:
    return {"id": inst.id, "inputs": dict(inst.inputs), "label": inst.label if with_label else None}


class SandboxedPredictor:
    """The predictor protocol, answered by a worker in a sandboxed child process."""

    heartbeat_s = 60.0

    def __init__(
        self,
        manifest: Manifest,
        submission_dir: Path,
        limits: Limits,
        threads: int,
        isolation: str | None = None,
        gpu: bool = False,
    ) -> None:
        self.manifest = manifest
        self.threads = threads
        self.submission_dir = submission_dir
        self.limits = limits
        self.isolation = isolation or available_isolation()
        self.gpu = gpu
        self.can_fit = False
        self.proc: subprocess.Popen[bytes] | None = None
        self._deadline = 0.0
        self._buffer = b""
        # Called every ``heartbeat_s`` while a request is outstanding, so an hour-long ``fit`` is
        # not a silent hour; it relays the submission's last stderr line (its own progress, if any).
        self.heartbeat: Callable[[str], None] | None = None

    # -- process management -------------------------------------------------------------
    def start(self, cache_dir: Path) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="greenbench-scratch-"))
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = self.scratch / "stderr.log"
        self._stderr = self.stderr_path.open("wb")
        harness_root = Path(__file__).resolve().parent.parent
        cmd = wrap_command(
            [sys.executable, "-m", "benchmark.worker"],
            self.isolation,
            self.scratch,
            [cache_dir],
            self.gpu,
            readable=[harness_root, self.submission_dir.resolve()],
        )
        memory = self.limits.memory_bytes

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if memory:
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

        env = child_env(self.scratch)
        env["PYTHONPATH"] = str(harness_root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._deadline = time.monotonic() + self.limits.timeout_s
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=self.scratch,
            preexec_fn=limit,
            start_new_session=True,
        )
        os.set_blocking(self.proc.stdout.fileno(), False)  # type: ignore[union-attr]

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self._send({"op": "shutdown"}, deadline=time.monotonic() + 5)
            except SandboxFailure:
                pass
            self._kill()
        if getattr(self, "_stderr", None) is not None:
            self._stderr.close()
        if getattr(self, "scratch", None) is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _kill(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()

    def stderr_tail(self) -> str:
        try:
            self._stderr.flush()
            lines = self.stderr_path.read_text(errors="replace").splitlines()
        except (OSError, AttributeError):
            return ""
        return "\n".join(lines[-STDERR_TAIL_LINES:])

    def _heartbeat_message(self, op: str, elapsed_s: float) -> str:
        took = f"{elapsed_s:.0f} s" if elapsed_s < 120 else f"{elapsed_s / 60:.0f} min"
        message = f"      {op} still running: {took}"
        last = self.stderr_tail().splitlines()
        if last:
            message += f"; submission's last stderr line: {last[-1].strip()[:160]}"
        return message

    def __enter__(self) -> SandboxedPredictor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- protocol -----------------------------------------------------------------------
    def _send(self, request: dict[str, Any], deadline: float | None = None) -> Any:
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        deadline = deadline or self._deadline
        try:
            self.proc.stdin.write((json.dumps({"v": PROTOCOL_VERSION, **request}) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died() from None
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        started = last_beat = time.monotonic()
        while b"\n" not in self._buffer:
            now = time.monotonic()
            if self.heartbeat is not None and now - last_beat >= self.heartbeat_s:
                last_beat = now
                self.heartbeat(self._heartbeat_message(request["op"], now - started))
            remaining = deadline - now
            if remaining <= 0:
                self._kill()
                raise SandboxFailure(
                    "timeout",
                    f"submission exceeded the {self.limits.timeout_s:g} s time limit (during {request['op']})",
                    self.stderr_tail(),
                )
            if not selector.select(timeout=min(remaining, 1.0)):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                raise self._died()
            self._buffer += chunk
            if len(self._buffer) > MAX_REPLY_BYTES:
                self._kill()
                raise SandboxFailure("protocol", f"reply over {MAX_REPLY_BYTES} bytes", self.stderr_tail())
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            reply = json.loads(line)
        except json.JSONDecodeError:
            self._kill()
            raise SandboxFailure("protocol", "the worker sent a malformed reply", self.stderr_tail()) from None
        if not reply.get("ok"):
            kind = "oom" if reply.get("type") == "MemoryError" else "error"
            message = f"{reply.get('type')}: {reply.get('error')}"
            if request["op"] == "load" and reply.get("user_error"):
                raise ManifestError(message)
            raise SandboxFailure(kind, f"submission raised {message} (during {request['op']})", self.stderr_tail())
        return reply.get("result")

    def _died(self) -> SandboxFailure:
        assert self.proc is not None
        code = self.proc.wait()
        if code == -signal.SIGKILL:
            return SandboxFailure(
                "oom", "the child was killed (SIGKILL), most likely out of memory", self.stderr_tail()
            )
        return SandboxFailure("crash", f"the child exited with code {code} mid-request", self.stderr_tail())

    # -- the predictor protocol -----------------------------------------------------------
    def load(self, ctx: PredictorContext) -> None:
        info = ctx.task
        result = self._send(
            {
                "op": "load",
                "manifest": self.manifest.model_dump(),
                "submission_dir": str(ctx.submission_dir),
                "task": {
                    **asdict(info),
                    "input_fields": list(info.input_fields),
                    "label_names": list(info.label_names),
                    "choice_fields": list(info.choice_fields),
                },
                "device": ctx.device,
                "dtype": ctx.dtype,
                "seed": ctx.seed,
                "cache_dir": str(ctx.cache_dir),
                "threads": self.threads,
            }
        )
        self.can_fit = bool(result["can_fit"])

    def predict(self, batch: Sequence[Instance]) -> list[Any]:
        return self.predict_with_flops(batch, count=False)[0]

    def predict_with_flops(self, batch: Sequence[Instance], count: bool = True) -> tuple[list[Any], int | None]:
        result = self._send({"op": "predict", "batch": [_instance_json(i, False) for i in batch], "count_flops": count})
        return result["predictions"], result["flops"]

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        self.fit_with_flops(train, dev, count=False)

    def diagnostics(self) -> Any:
        return self._send({"op": "diagnostics"})

    def fit_with_flops(self, train: Sequence[Instance], dev: Sequence[Instance], count: bool = True) -> int | None:
        result = self._send(
            {
                "op": "fit",
                "train": [_instance_json(i, True) for i in train],
                "dev": [_instance_json(i, True) for i in dev],
                "count_flops": count,
            }
        )
        return result["flops"]


def limits_from(timeout_s: float | None, memory_gb: float | None) -> Limits:
    if timeout_s is not None and timeout_s <= 0:
        raise UserError(f"--timeout must be a positive number of seconds, got {timeout_s:g}")
    if memory_gb is not None and memory_gb <= 0:
        raise UserError(f"--memory-gb must be a positive number, got {memory_gb:g}")
    return Limits(float(timeout_s or 3600.0), int(memory_gb * 1024**3) if memory_gb else None)
