"""What a task is: typed instances, eval sets, and where the data comes from.

A task never hands gold labels to a submission at prediction time: the harness keeps them and
passes ``Instance.without_label()`` copies to the predictor.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from tasks.errors import DataError

TaskKind = Literal["classification", "multiple_choice"]

DATA_DIR_ENV = "GREENBENCH_DATA_DIR"


@dataclass(frozen=True)
class Instance:
    """One example. ``inputs`` are the text fields the task declares; ``label`` is an index."""

    id: str
    inputs: Mapping[str, str]
    label: int | None = None

    def without_label(self) -> Instance:
        return replace(self, label=None)


@dataclass(frozen=True)
class TaskInfo:
    """What a submission is told about a task: enough to predict, nothing about gold labels."""

    name: str
    kind: TaskKind
    input_fields: tuple[str, ...]
    label_names: tuple[str, ...]
    # For multiple-choice tasks: the input fields that hold the choices, in label order.
    choice_fields: tuple[str, ...] = ()
    # For classification tasks: the label whose F1 is reported (binary tasks only).
    positive_label: int | None = None


@dataclass(frozen=True)
class EvalSet:
    """A named evaluation set. ``role`` is 'id' (in-distribution) or 'ood'."""

    name: str
    instances: tuple[Instance, ...]
    role: Literal["id", "ood"] = "id"


@dataclass(frozen=True)
class DataFile:
    """A file of the original distribution, pinned by its sha256."""

    relpath: str
    sha256: str


@dataclass(frozen=True)
class TaskData:
    """Everything a run needs from a task, already loaded and checked."""

    info: TaskInfo
    train: tuple[Instance, ...]
    eval_sets: tuple[EvalSet, ...]
    # "local:<folder>", or "hub:<repo>@<commit>" ("+"-joined when a task reads several repositories)
    source: str
    # Every file actually read -> its sha256: "<task>/<relpath>" for local files,
    # "hub:<repo>@<commit>/<path>" for Hub files.
    files: Mapping[str, str] = field(default_factory=dict)
    # A labelled held-out split a submission may use for model selection or calibration; never
    # an eval set. Tasks without one leave it empty and submissions carve one out of ``train``.
    dev: tuple[Instance, ...] = ()
    # Hub sources only: repository -> the full commit hash its files were read at.
    revisions: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> Literal["local", "hub"]:
        return "hub" if self.source.startswith("hub:") else "local"

    def identity(self) -> dict[str, object]:
        """What about the data can change a figure, for the job key: never the local folder's path.

        Two copies of the same files in different folders are the same data; the same repository at
        two commits is not.
        """
        return {"kind": self.kind, "revisions": dict(sorted(self.revisions.items())), "files": dict(sorted(self.files.items()))}


def hub_source(revisions: Mapping[str, str]) -> str:
    """``TaskData.source`` for Hub data: every repository with the commit it was read at."""
    return "hub:" + "+".join(f"{repo}@{rev}" for repo, rev in revisions.items())


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path | None:
    """The local data root: the explicit argument, else ``$GREENBENCH_DATA_DIR``, else None (Hub)."""
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if chosen is None:
        return None
    root = Path(chosen).expanduser()
    if not root.is_dir():
        raise DataError(
            f"data folder {root} does not exist: pass --data-dir with the folder that holds "
            f"the task folders (e.g. ../shared/data), or unset {DATA_DIR_ENV}"
        )
    return root


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """sha256 of a file, cached by (path, size, mtime) so repeated loads in one process are cheap."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASH_CACHE:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _HASH_CACHE[key] = digest.hexdigest()
    return _HASH_CACHE[key]


def checked_file(root: Path, task: str, data_file: DataFile) -> Path:
    """The path of a pinned data file under ``root/task``, or one clear error saying what to do."""
    path = root / task / data_file.relpath
    if not path.is_file():
        raise DataError(
            f"missing data file {data_file.relpath} for task {task}: looked in {path.parent}; "
            f"copy the original file there or point --data-dir at a folder holding {task}/"
        )
    actual = sha256_of(path)
    if actual != data_file.sha256:
        raise DataError(
            f"data file {path} does not match its known sha256 (expected "
            f"{data_file.sha256[:12]}..., got {actual[:12]}...): replace it with the original "
            f"download; a truncated or edited copy would give results no one can compare"
        )
    return path


HUB_PROBE_TIMEOUT_S = 10.0


def hub_unreachable(timeout_s: float = HUB_PROBE_TIMEOUT_S) -> str | None:
    """Why the Hub cannot be reached, or None when a TCP connection to it opens.

    Without this probe an unreachable Hub costs minutes of the client's retries before any error
    (12 minutes measured for ``greenbench validate`` on a machine with no route out); a connect
    with a short timeout says the same thing in seconds. Name resolution runs in a thread so a
    resolver that hangs is bounded by the same timeout.
    """
    import socket
    import threading
    from urllib.parse import urlsplit

    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    parts = urlsplit(endpoint)
    host, port = parts.hostname or "huggingface.co", parts.port or (80 if parts.scheme == "http" else 443)
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout_s + 1)
    if not outcome:
        return f"no answer from {host}:{port} within {timeout_s:g} s"
    return None if outcome[0] is None else f"{host}:{port}: {outcome[0]}"


def normalise_space(text: str) -> str:
    return " ".join(text.split())


def subsample(instances: Sequence[Instance], limit: int | None, seed: int) -> tuple[Instance, ...]:
    """A seeded random subset of ``limit`` instances, kept in original order.

    Several training files come sorted by class, so a head slice would be single-class.
    """
    if limit is None or limit >= len(instances):
        return tuple(instances)
    if limit < 0:
        raise ValueError("limit must be >= 0")
    import random

    keep = sorted(random.Random(seed).sample(range(len(instances)), limit))
    return tuple(instances[i] for i in keep)


def classification_text(instance: Instance, info: TaskInfo) -> str:
    """The input fields joined in the task's declared order (title before body, for example)."""
    return " ".join(instance.inputs[f] for f in info.input_fields if instance.inputs.get(f))


def choice_texts(instance: Instance, info: TaskInfo) -> list[str]:
    """For fill-in-the-blank multiple choice: the sentence with each option put in the blank."""
    sentence = instance.inputs["sentence"]
    return [sentence.replace("_", instance.inputs[f], 1) for f in info.choice_fields]
