"""The trusted worker that runs inside the sandboxed child process.

It loads the submission and answers the parent's requests over protocol v2 (benchmark/protocol.py):
one JSON object per line on the protocol pipe (the child's original stdout; the submission's own
prints go to stderr). The submission shares this process, so it can write to the pipe too: the
parent treats every line as hostile input. Gold labels never arrive here for prediction; only
``fit`` receives the labelled train and dev splits the rules allow, under opaque ids.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

from benchmark.protocol import PROTOCOL_VERSION, encode


def _instances(rows: list[dict[str, Any]]) -> list[Any]:
    from tasks.base import Instance

    return [Instance(str(r["id"]), dict(r["inputs"]), r.get("label")) for r in rows]


class Worker:
    def __init__(self, protocol: TextIO) -> None:
        self.predictor: Any = None
        self.protocol = protocol
        self.seq = 0

    def send(self, kind: str, **body: Any) -> None:
        try:
            line = encode(self.seq, kind, **body)
        except (TypeError, ValueError) as exc:
            if kind != "reply":
                raise ValueError(f"progress must be numbers and text: {exc}") from None
            line = encode(self.seq, "reply", ok=False, type="ProtocolError", error=f"reply is not JSON: {exc}")
        self.protocol.write(line)
        self.protocol.flush()

    def progress(self, report: Any = None, total: Any = None, loss: Any = None, note: Any = "") -> None:
        """Handed to the entry as ``ctx.progress``: a heartbeat the parent shows instead of stderr.

        Takes the dict ``PredictorContext.report_progress`` builds, or ``(step, total, loss, note)``."""
        if isinstance(report, dict):
            report, total, loss, note = (report.get(k) for k in ("step", "total", "loss", "note"))
        self.send("progress", step=report, total=total, loss=loss, note=str(note or "")[:500])

    def _context(self, req: dict[str, Any], task: Any, submission_dir: Path) -> Any:
        from benchmark.predictor import PredictorContext

        return PredictorContext(
            task,
            req["device"],
            req["dtype"],
            int(req["seed"]),
            submission_dir,
            Path(req["weights_dir"]),
            progress=self.progress,
        )

    def load(self, req: dict[str, Any]) -> dict[str, Any]:
        import torch

        from benchmark.flops import register_cpu_sdpa_formulas
        from benchmark.loading import load_predictor
        from benchmark.manifest import Manifest
        from benchmark.predictor import can_fit
        from tasks.base import TaskInfo

        torch.set_num_threads(int(req["threads"]))
        torch.manual_seed(int(req["seed"]))
        register_cpu_sdpa_formulas()
        manifest = Manifest.model_validate(req["manifest"])
        self.kind = manifest.kind
        info = req["task"]
        task = TaskInfo(
            name=info["name"],
            kind=info["kind"],
            input_fields=tuple(info["input_fields"]),
            label_names=tuple(info["label_names"]),
            choice_fields=tuple(info["choice_fields"]),
            positive_label=info["positive_label"],
        )
        submission_dir = Path(req["submission_dir"])
        self.predictor = load_predictor(manifest, submission_dir)
        self.predictor.load(self._context(req, task, submission_dir))
        return {"can_fit": can_fit(self.predictor), "can_restore": callable(getattr(self.predictor, "restore", None))}

    def _counted(self, call: Any, count: bool) -> int | None:
        from benchmark.flops import count_flops

        if count:
            return count_flops(call)
        call()
        return None

    def fit(self, req: dict[str, Any]) -> dict[str, Any]:
        train, dev = _instances(req["train"]), _instances(req["dev"])
        return {"flops": self._counted(lambda: self.predictor.fit(train, dev), bool(req.get("count_flops")))}

    def restore(self, req: dict[str, Any]) -> dict[str, Any]:
        return {"flops": self._counted(lambda: self.predictor.restore(), bool(req.get("count_flops")))}

    def prepare(self, req: dict[str, Any]) -> None:
        """Tokenise ahead of a timed window, for ``kind: hf`` only: that is the harness's own loader.
        An entry's code never gets an untimed look at the eval set (it could answer from it)."""
        method = getattr(self.predictor, "prepare", None)
        if getattr(self, "kind", None) == "hf" and callable(method):
            method([[i.without_label() for i in _instances(rows)] for rows in req["batches"]])
        return None

    def diagnostics(self, req: dict[str, Any]) -> Any:
        method = getattr(self.predictor, "diagnostics", None)
        return method() if callable(method) else None

    def predict(self, req: dict[str, Any]) -> dict[str, Any]:
        batch = [i.without_label() for i in _instances(req["batch"])]
        box: dict[str, Any] = {}
        flops = self._counted(lambda: box.setdefault("p", self.predictor.predict(batch)), bool(req.get("count_flops")))
        preds = box["p"]
        try:
            preds = [p.item() if hasattr(p, "item") else p for p in preds]
        except TypeError:
            pass  # not iterable: the parent reports it
        return {"predictions": preds, "flops": flops}

    def handle(self, req: dict[str, Any]) -> None:
        handlers = {
            "load": self.load,
            "fit": self.fit,
            "restore": self.restore,
            "prepare": self.prepare,
            "predict": self.predict,
            "diagnostics": self.diagnostics,
        }
        try:
            self.send("reply", ok=True, result=handlers[req["op"]](req))
        except BaseException as exc:  # everything the submission raises goes back to the parent
            traceback.print_exc()
            self.send(
                "reply",
                ok=False,
                type=type(exc).__name__,
                user_error=getattr(exc, "exit_code", None) == 2,
                error=str(exc)[:2000],
                traceback="".join(traceback.format_exception(exc))[-4000:],
            )


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # the submission's prints go to stderr, never into the protocol
    sys.stdout = sys.stderr
    worker = Worker(protocol)
    worker.send("hello", pid=os.getpid())  # before any submission code runs: a start failure is ours
    for line in sys.stdin:
        req = json.loads(line)
        worker.seq = int(req["seq"])
        if req.get("v") != PROTOCOL_VERSION:
            worker.send("reply", ok=False, type="ProtocolError", error=f"protocol version {req.get('v')}")
        elif req["op"] == "shutdown":
            worker.send("reply", ok=True, result=None)
            return 0
        else:
            worker.handle(req)
    return 0


if __name__ == "__main__":
    sys.exit(main())
