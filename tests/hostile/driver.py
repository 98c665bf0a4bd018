"""Drive one entry through SandboxedPredictor the way a job does: start, load, fit, predict, diagnostics, close."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmark.errors import UserError
from benchmark.manifest import load_manifest
from benchmark.predictor import PredictorContext
from benchmark.sandbox import Limits, SandboxedPredictor, SandboxFailure
from tasks.base import Instance, TaskInfo

ENTRIES = Path(__file__).resolve().parent / "entries"
AG_NEWS = TaskInfo("ag_news", "classification", ("text",), ("World", "Sports", "Business", "Sci/Tech"))
TRAIN = [Instance(f"train-{i}", {"text": f"training text number {i}"}, i % 4) for i in range(4)]
TEST = [Instance(f"test-{i}", {"text": f"evaluation text number {i}"}) for i in range(4)]


@dataclass
class Outcome:
    failure: SandboxFailure | None = None
    error: UserError | None = None
    predictions: list[Any] = field(default_factory=list)
    diagnostics: Any = None
    groups: list[Path] = field(default_factory=list)
    sandbox: SandboxedPredictor | None = None

    @property
    def leaked(self) -> list[str]:
        return list((self.diagnostics or {}).get("leaked", [])) if isinstance(self.diagnostics, dict) else []


def make_entry(root: Path, name: str, params: dict[str, Any]) -> Path:
    """The entry file as predictor.py of a submission folder under ``root``, beside the shared helpers."""
    folder = root / name
    folder.mkdir(parents=True)
    shutil.copy(ENTRIES / f"{name}.py", folder / "predictor.py")
    shutil.copy(ENTRIES / "hostile_util.py", folder / "hostile_util.py")
    manifest = {
        "name": name.replace("_", "-"),
        "version": "1",
        "authors": ["test"],
        "description": "hostile entry",
        "licence": "MIT",
        "tasks": ["ag_news"],
        "kind": "python",
        "entry_point": "predictor:Entry",
        "params": params,
    }
    (folder / "submission.yaml").write_text(yaml.safe_dump(manifest))
    return folder


def run_entry(
    folder: Path,
    weights: Path,
    limits: Limits | None = None,
    isolation: str | None = None,
    batches: int = 2,
    gap_s: float = 0.0,
) -> Outcome:
    """One job; a SandboxFailure or UserError ends it as a failed run, as the runner records it."""
    sandbox = SandboxedPredictor(load_manifest(folder), folder, limits or Limits(120.0, None), 1, isolation)
    outcome = Outcome(sandbox=sandbox)
    try:
        sandbox.start(weights)
        outcome.groups = list(sandbox.group.paths.values()) if sandbox.group else []
        sandbox.load(PredictorContext(AG_NEWS, "cpu", "float32", 0, folder, weights))
        if sandbox.can_fit:
            sandbox.fit_with_flops(TRAIN, [], count=True)
        for _ in range(batches):
            time.sleep(gap_s)
            outcome.predictions += sandbox.predict_with_flops(TEST[:2], count=True)[0]
        outcome.diagnostics = sandbox.diagnostics()
    except SandboxFailure as exc:
        outcome.failure = exc
    except UserError as exc:
        outcome.error = exc
    finally:
        sandbox.close()
    return outcome
