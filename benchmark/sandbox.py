"""Run submission code in a child process, under limits, and talk to it over protocol v2.

The harness assumes a submission can crash, hang, eat memory, read the labels, reach for the
network, start daemons or lie on the protocol pipe. So its code runs only in a child at the best
isolation the machine allows (benchmark/isolation.py), inside a per-job cgroup (benchmark/proctree.py)
that caps processes and memory (tmpfs included), meters the CPU time of everything it starts and
kills all of it when the job ends (benchmark/sandbox_process.py). Every message from the child is
parsed as hostile input (benchmark/protocol.py); any violation is a failed run of kind
``protocol``, never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from benchmark.isolation import (  # noqa: F401 (re-exported for the runner)
    ISOLATION_ORDER,
    VERIFIED_LEVEL,
    Mounts,
    available_isolation,
    child_env,
    inside_paths,
    isolation_notice,
    resolve_isolation,
    strip_links,
    worker_command,
)
from benchmark.predictor import PredictorContext
from benchmark.sandbox_process import SandboxProcess
from benchmark.sandbox_types import Limits, SandboxFailure, SandboxStartError, limits_from  # noqa: F401
from tasks.base import Instance


class SandboxedPredictor(SandboxProcess):
    """The predictor protocol, answered by a worker in a sandboxed child process."""

    # -- the predictor protocol -----------------------------------------------------------
    def load(self, ctx: PredictorContext) -> None:
        info = ctx.task
        submission, weights = inside_paths(self.isolation, self.mounts)
        result = self._request(
            "load",
            {
                "manifest": self.manifest.model_dump(),
                "submission_dir": str(submission),
                "task": {
                    **asdict(info),
                    "input_fields": list(info.input_fields),
                    "label_names": list(info.label_names),
                    "choice_fields": list(info.choice_fields),
                },
                "device": ctx.device,
                "dtype": ctx.dtype,
                "seed": ctx.seed,
                "weights_dir": str(weights),
                "threads": self.threads,
            },
        )
        self.can_fit, self.can_restore = result["can_fit"], result["can_restore"]
        self.check_quiet("load")

    def predict(self, batch: Sequence[Instance]) -> list[Any]:
        return self.predict_with_flops(batch, count=False)[0]

    def predict_with_flops(self, batch: Sequence[Instance], count: bool = True) -> tuple[list[Any], int | None]:
        rows = self.ids.rows(batch, False)
        result = self._request("predict", {"batch": rows, "count_flops": count}, batch=len(rows))
        return result["predictions"], result["flops"]

    def prepare(self, batches: Sequence[Sequence[Instance]]) -> None:
        """``kind: hf``: tokenise these batches in the child now, outside any timed window."""
        if self.manifest.kind == "hf":
            self._request("prepare", {"batches": [self.ids.rows(batch, False) for batch in batches]})

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        self.fit_with_flops(train, dev, count=False)

    def fit_with_flops(self, train: Sequence[Instance], dev: Sequence[Instance], count: bool = True) -> int | None:
        body = {
            "train": self.ids.rows(train, True),
            "dev": self.ids.rows(dev, True),
            "count_flops": count,
        }
        flops = self._request("fit", body)["flops"]
        self.check_quiet("fit")
        return flops

    def restore(self) -> None:
        self.restore_with_flops(count=False)

    def restore_with_flops(self, count: bool = True) -> int | None:
        flops = self._request("restore", {"count_flops": count})["flops"]
        self.check_quiet("restore")
        return flops

    def diagnostics(self) -> Any:
        """The entry's diagnostics; asked last in a job, so first the end-of-job check for work left running."""
        self.check_quiet("the last request")
        return self._request("diagnostics", {})
