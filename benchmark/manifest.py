"""The submission manifest: the first edge where untrusted input enters, so validation is strict.

Every problem is reported at once, each with its fix, because a submitter who fixes one error
per run gives up.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from benchmark.errors import ManifestError

MANIFEST_NAME = "submission.yaml"
MAX_MANIFEST_BYTES = 64 * 1024
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
ENTRY_POINT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
COMMIT_PATTERN = r"[0-9a-f]{40}"  # a Hub commit id: the only revision that names fixed weights


class Manifest(BaseModel):
    """``submission.yaml``. Unknown keys are errors: a typo must not silently drop a setting."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str = Field(pattern=NAME_PATTERN, description="lower-case slug, unique on the board")
    version: str = Field(min_length=1, max_length=32)
    authors: list[str] = Field(min_length=1)
    description: str = Field(min_length=1, max_length=4000)
    paper: str | None = None
    url: str | None = None
    licence: str = Field(min_length=1, max_length=64)
    tasks: list[str] = Field(min_length=1)
    kind: Literal["hf", "python"]
    model: str | None = Field(default=None, description="hf: a Hub id or a folder relative to the submission")
    entry_point: str | None = Field(default=None, pattern=ENTRY_POINT_PATTERN)
    params: dict[str, Any] = Field(default_factory=dict, description="keyword arguments for the predictor")
    eval_params: list[str] = Field(
        default_factory=list,
        description="params that do not change trained weights (an early-exit threshold): one training serves them all",
    )
    max_length: int = Field(default=128, ge=8, le=16384, description="hf: tokens per input")
    revision: str | None = Field(
        default=None, description="hf with a Hub id: the full 40-hex commit hash the weights are pinned to"
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> Manifest:
        if self.kind == "hf" and not self.model:
            raise ValueError("kind 'hf' needs 'model': a Hub id (org/name) or a folder inside the submission")
        if self.kind == "python" and not self.entry_point:
            raise ValueError("kind 'python' needs 'entry_point': 'module:Class' of a file in the submission folder")
        if self.model is not None and (
            self.model.startswith(("/", "~")) or "\\" in self.model or ".." in self.model.split("/")
        ):
            raise ValueError(
                f"model {self.model[:100]!r} must be a folder inside the submission (a relative path without '..') "
                f"or a Hub id (org/name): copy the weights into the submission folder"
            )
        if self.revision is not None and self.kind != "hf":
            raise ValueError("'revision' pins a Hub model and is only for kind 'hf': remove it")
        if self.revision is not None and not re.fullmatch(COMMIT_PATTERN, self.revision):
            raise ValueError(
                f"revision {self.revision[:60]!r} is not a full commit hash: a branch or tag can move, so give the "
                f"40-hex commit id (the model's 'Files and versions' > history on the Hub)"
            )
        unknown = [name for name in self.eval_params if name not in self.params]
        if unknown:
            raise ValueError(f"eval_params names {', '.join(unknown)}, not in params: list only keys of params")
        for link in (self.paper, self.url):
            if link is not None and not re.match(r"^https?://", link):
                raise ValueError(f"paper/url must be an http(s) link, got {link[:60]!r}")
        return self


def _format_errors(path: Path, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(manifest)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key; allowed keys: {', '.join(Manifest.model_fields)}"
        elif err["type"] == "missing":
            msg = "required key is missing; add it"
        problems.append(f"{where}: {msg}")
    return f"{path}: {len(problems)} problem(s): " + "; ".join(problems)


def load_manifest(submission_dir: Path) -> Manifest:
    path = submission_dir / MANIFEST_NAME
    if not submission_dir.is_dir():
        raise ManifestError(
            f"submission folder {submission_dir} does not exist: pass the folder holding {MANIFEST_NAME}"
        )
    if not path.is_file():
        raise ManifestError(
            f"no {MANIFEST_NAME} in {submission_dir}: create one (see `greenbench new-submission` or SUBMITTING.md)"
        )
    raw = path.read_bytes()
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            f"{path} is {len(raw)} bytes, over the {MAX_MANIFEST_BYTES}-byte limit: keep it to metadata"
        )
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(f"{path} is not UTF-8 text: save it as UTF-8 YAML") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise ManifestError(f"{path} is not valid YAML ({first}): fix the syntax") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path} must be a YAML mapping of keys to values, got {type(data).__name__}")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(_format_errors(path, exc)) from None
    check_model_folder(manifest, submission_dir)
    check_model_pin(manifest, submission_dir)
    return manifest


def check_model_folder(manifest: Manifest, submission_dir: Path) -> None:
    """A ``model`` folder must be inside the submission after symlinks too: the code digest covers only
    the folder, so weights reached through a link out of it could change under a verified record."""
    if manifest.model is None or not os.path.lexists(submission_dir / manifest.model):
        return
    if not (submission_dir / manifest.model).resolve().is_relative_to(submission_dir.resolve()):
        raise ManifestError(
            f"{submission_dir / MANIFEST_NAME}: model {manifest.model[:100]!r} is a symlink out of the submission: "
            f"copy the weights into the submission folder"
        )


def check_model_pin(manifest: Manifest, submission_dir: Path) -> None:
    """A Hub model without a commit hash is a moving target: its figures could not be reproduced.

    Checked here rather than in the schema because only the folder says whether ``model`` is a
    folder of the submission (needs no pin) or a Hub id (needs one).
    """
    if manifest.kind != "hf" or manifest.model is None or manifest.revision is not None:
        return
    if (submission_dir / manifest.model).is_dir():
        return
    raise ManifestError(
        f"{submission_dir / MANIFEST_NAME}: model {manifest.model[:100]!r} is a Hub id (no such folder in the "
        f"submission) and has no 'revision': pin it with the full 40-hex commit hash (revision: <sha>)"
    )
