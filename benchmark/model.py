"""One handle on a submission's model, however it runs: in this process or in the sandboxed child.

The pipeline and the cost passes talk to a ``ModelHandle`` and never ask which kind it is. Each
call can return its FLOPs; the in-process handle counts them here, the sandboxed one in the child.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from benchmark.manifest import Manifest
from benchmark.predictor import Predictor, PredictorContext, can_fit, can_restore
from tasks.base import Instance


class ModelHandle(Protocol):
    """What the harness can ask of a loaded submission."""

    isolation: str  # the level its code runs at: bwrap, netns, process or none
    can_fit: bool
    can_restore: bool

    def fit_with_flops(self, train: Sequence[Instance], dev: Sequence[Instance], count: bool = True) -> int | None:
        """Train; the FLOPs when ``count`` (None otherwise)."""
        ...

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        """Train without the FLOP counter (its overhead must not reach the metered time)."""
        ...

    def restore(self) -> None:
        """Reload weights a previous job with the same training identity left in ``weights_dir``."""
        ...

    def fresh(self) -> None:
        """Back to the state right after loading, before any fit: the counted sample fit runs
        first, and the real fit must start where a job without the counter would, not from the
        sample's trained weights. Sandboxed, a new child (nothing of the old one survives)."""
        ...

    def prepare(self, batches: Sequence[Sequence[Instance]]) -> None:
        """Input preparation before a timed window: tokenising, for the harness's ``kind: hf``
        loader only (an entry's own code never sees the eval set outside a timed, metered call)."""
        ...

    def predict(self, batch: Sequence[Instance]) -> list[Any]: ...

    def predict_timed(self, batch: Sequence[Instance]) -> tuple[list[Any], float]:
        """Predictions and the seconds the model took, clocked as close to the model as the
        harness can hold the clock itself: in-process around ``predict`` (GPU synchronised);
        sandboxed from the request's send to its reply, so the round trip through the pipe counts
        but the harness's own checks between requests (background work, reply validation) do not.
        The entry's code never holds this clock."""
        ...

    def predict_with_flops(self, batch: Sequence[Instance], count: bool = True) -> tuple[list[Any], int | None]: ...

    def diagnostics(self) -> Any: ...

    def close(self) -> None: ...


class InProcessModel:
    """``--sandbox none``: the entry runs in the harness's own process (a self-run, never verified)."""

    isolation = "none"

    def __init__(self, make: Callable[[], Predictor], ctx: PredictorContext) -> None:
        self.make, self.ctx = make, ctx
        self.predictor: Any = make()
        self.device = ctx.device
        self.predictor.load(ctx)
        self.can_fit = can_fit(self.predictor)
        self.can_restore = can_restore(self.predictor)

    def fresh(self) -> None:
        """A new predictor, the entry's module imported afresh by ``load_predictor``, loaded again."""
        self.predictor = self.make()
        self.predictor.load(self.ctx)

    def fit_with_flops(self, train: Sequence[Instance], dev: Sequence[Instance], count: bool = True) -> int | None:
        from benchmark.flops import count_flops

        if count:
            return count_flops(lambda: self.predictor.fit(train, dev))
        self.predictor.fit(train, dev)
        return None

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        self.predictor.fit(train, dev)

    def restore(self) -> None:
        self.predictor.restore()

    def prepare(self, batches: Sequence[Sequence[Instance]]) -> None:
        from benchmark.hf_predictor import HFPredictor

        if isinstance(self.predictor, HFPredictor):
            self.predictor.prepare(batches)

    def predict(self, batch: Sequence[Instance]) -> list[Any]:
        return list(self.predictor.predict(batch))

    def predict_timed(self, batch: Sequence[Instance]) -> tuple[list[Any], float]:
        import time

        t0 = time.perf_counter()
        predictions = self.predictor.predict(batch)
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
        took = time.perf_counter() - t0
        return list(predictions), took

    def predict_with_flops(self, batch: Sequence[Instance], count: bool = True) -> tuple[list[Any], int | None]:
        from benchmark.flops import count_flops

        if not count:
            return self.predict(batch), None
        box: dict[str, Any] = {}
        flops = count_flops(lambda: box.setdefault("p", self.predictor.predict(batch)))
        return list(box["p"]), flops

    def diagnostics(self) -> Any:
        method = getattr(self.predictor, "diagnostics", None)
        return method() if callable(method) else None

    def close(self) -> None:
        pass


class SandboxedModel:
    """The entry runs in a child process under ``benchmark.sandbox``; this adapts its client."""

    def __init__(self, client: Any, ctx: PredictorContext) -> None:
        self.client = client
        self.isolation = client.isolation
        self.ctx = ctx
        client.start(ctx.weights_dir)
        client.load(ctx)
        self.can_fit = bool(client.can_fit)
        self.can_restore = bool(getattr(client, "can_restore", False))

    def fresh(self) -> None:
        self.client.restart()
        self.client.load(self.ctx)

    def fit_with_flops(self, train: Sequence[Instance], dev: Sequence[Instance], count: bool = True) -> int | None:
        return self.client.fit_with_flops(train, dev, count)

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        self.client.fit_with_flops(train, dev, False)

    def restore(self) -> None:
        self.client.restore()

    def prepare(self, batches: Sequence[Sequence[Instance]]) -> None:
        self.client.prepare(batches)

    def predict(self, batch: Sequence[Instance]) -> list[Any]:
        return list(self.client.predict_with_flops(batch, False)[0])

    def predict_timed(self, batch: Sequence[Instance]) -> tuple[list[Any], float]:
        predictions = list(self.client.predict_with_flops(batch, False)[0])
        return predictions, self.client.last_round_trip_s

    def predict_with_flops(self, batch: Sequence[Instance], count: bool = True) -> tuple[list[Any], int | None]:
        predictions, flops = self.client.predict_with_flops(batch, count)
        return list(predictions), flops

    def diagnostics(self) -> Any:
        return self.client.diagnostics()

    def close(self) -> None:
        self.client.close()


def pinned_model_folders(manifest: Manifest, submission_dir: Path) -> tuple[Path, ...]:
    """A ``kind: hf`` entry's pinned Hub snapshot, fetched here (the child has no network) and shown
    to the child read-only: only that model's cache folder, never the rest of the Hub cache."""
    if manifest.kind != "hf":
        return ()
    from benchmark.hub.models import resolve_model

    resolved = resolve_model(manifest, submission_dir)
    if resolved.repo_id is None:
        return ()  # a folder inside the submission: the child sees it already
    return (resolved.path.parent.parent,)  # models--org--name/ (snapshots link into its blobs/)


def open_model(
    manifest: Manifest,
    submission_dir: Path,
    ctx: PredictorContext,
    isolation: str,
    threads: int,
    timeout_s: float | None,
    memory_gb: float | None,
    heartbeat: Callable[[str], None] | None = None,
) -> ModelHandle:
    """Load the entry at ``isolation``: ``none`` in this process, anything else in a sandboxed child."""
    if isolation == "none":
        from benchmark.loading import load_predictor

        return InProcessModel(lambda: load_predictor(manifest, submission_dir), ctx)
    from benchmark.sandbox import SandboxedPredictor
    from benchmark.sandbox_types import limits_from

    client = SandboxedPredictor(
        manifest,
        submission_dir,
        limits_from(timeout_s, memory_gb),
        threads,
        isolation,
        gpu=ctx.device == "cuda",
        readable=pinned_model_folders(manifest, submission_dir),
    )
    client.heartbeat = heartbeat
    if ctx.progress is not None and hasattr(client, "on_progress"):
        client.on_progress = ctx.progress
    try:
        return SandboxedModel(client, ctx)
    except BaseException:
        client.close()
        raise
