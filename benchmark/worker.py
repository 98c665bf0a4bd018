"""The trusted worker that runs inside the sandboxed child process.

It loads the submission and answers the parent's requests over protocol version 1: one JSON
object per line on the protocol pipe (the child's original stdout; the submission's own prints
are sent to stderr). Gold labels never arrive here for prediction; only ``fit`` receives the
labelled train and dev splits the rules allow.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

PROTOCOL_VERSION = 1


def _instances(rows: list[dict[str, Any]]) -> list[Any]:
    from tasks.base import Instance

    return [Instance(str(r["id"]), dict(r["inputs"]), r.get("label")) for r in rows]


class Worker:
    def __init__(self) -> None:
        self.predictor: Any = None

    def load(self, req: dict[str, Any]) -> dict[str, Any]:
        import torch

        from benchmark.flops import register_cpu_sdpa_formulas
        from benchmark.manifest import Manifest
        from benchmark.predictor import PredictorContext, can_fit, load_predictor
        from tasks.base import TaskInfo

        torch.set_num_threads(int(req["threads"]))
        torch.manual_seed(int(req["seed"]))
        register_cpu_sdpa_formulas()
        manifest = Manifest.model_validate(req["manifest"])
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
        ctx = PredictorContext(
            task, req["device"], req["dtype"], int(req["seed"]), submission_dir, Path(req["cache_dir"])
        )
        self.predictor.load(ctx)
        return {"can_fit": can_fit(self.predictor)}

    def fit(self, req: dict[str, Any]) -> dict[str, Any]:
        from benchmark.flops import count_flops

        train, dev = _instances(req["train"]), _instances(req["dev"])
        if req.get("count_flops"):
            return {"flops": count_flops(lambda: self.predictor.fit(train, dev))}
        self.predictor.fit(train, dev)
        return {"flops": None}

    def diagnostics(self, req: dict[str, Any]) -> Any:
        method = getattr(self.predictor, "diagnostics", None)
        return method() if callable(method) else None

    def predict(self, req: dict[str, Any]) -> dict[str, Any]:
        from benchmark.flops import count_flops

        batch = [i.without_label() for i in _instances(req["batch"])]
        box: dict[str, Any] = {}
        if req.get("count_flops"):
            flops = count_flops(lambda: box.setdefault("p", self.predictor.predict(batch)))
        else:
            box["p"], flops = self.predictor.predict(batch), None
        preds = box["p"]
        try:
            preds = [p.item() if hasattr(p, "item") else p for p in preds]
        except TypeError:
            pass  # not iterable: the parent reports it
        return {"predictions": preds, "flops": flops}


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # the submission's prints go to stderr, never into the protocol
    sys.stdout = sys.stderr
    worker = Worker()
    handlers = {"load": worker.load, "fit": worker.fit, "predict": worker.predict, "diagnostics": worker.diagnostics}
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("v") != PROTOCOL_VERSION:
            reply: dict[str, Any] = {
                "ok": False,
                "type": "ProtocolError",
                "error": f"protocol version {req.get('v')} != {PROTOCOL_VERSION}",
            }
        elif req["op"] == "shutdown":
            protocol.write(json.dumps({"ok": True, "result": None}) + "\n")
            return 0
        else:
            try:
                reply = {"ok": True, "result": handlers[req["op"]](req)}
            except BaseException as exc:  # everything the submission raises goes back to the parent
                reply = {
                    "ok": False,
                    "type": type(exc).__name__,
                    "user_error": getattr(exc, "exit_code", None) == 2,
                    "error": str(exc)[:2000],
                    "traceback": "".join(traceback.format_exception(exc))[-4000:],
                }
                traceback.print_exc()
        try:
            protocol.write(json.dumps(reply, allow_nan=False) + "\n")
        except (TypeError, ValueError) as exc:
            protocol.write(
                json.dumps({"ok": False, "type": "ProtocolError", "error": f"reply is not JSON: {exc}"}) + "\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
