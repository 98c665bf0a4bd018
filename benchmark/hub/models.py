"""Hub models as submissions, pinned: ``kind: hf`` + ``model: org/name`` + ``revision: <commit>``.

A Hub id alone names whatever the branch points at today, so a result made from it cannot be
reproduced or compared; the manifest must name a commit, and this module fetches exactly that
snapshot into the harness's cache (or finds it there, offline) and hands back the folder and the
hash for the run record and the job spec.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import ManifestError
from benchmark.hub.net import HubUnreachable, first_line, why_unreachable
from benchmark.manifest import COMMIT_PATTERN, Manifest

# Weight formats the harness never loads (it uses torch through transformers); skipping them keeps
# a download of a multi-format repository to the files that matter.
FOREIGN_FORMATS = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "*.onnx_data", "*.tflite", "*.gguf", "onnx/*", "openvino/*"]
CONFIG_FILES = ("config.json", "tokenizer_config.json")


@dataclass(frozen=True)
class ResolvedModel:
    """Where the weights are on disk and which Hub commit they are (both None for a folder model)."""

    path: Path
    repo_id: str | None
    revision: str | None


def hub_cache_dir() -> Path:
    """The harness's Hub cache: beside its weight cache, so the sandbox's writable cache holds it."""
    return Path(os.environ.get("GREENBENCH_CACHE") or Path.home() / ".cache" / "greenbench") / "hub"


def resolve_model(manifest: Manifest, submission_dir: Path, cache_dir: Path | None = None) -> ResolvedModel:
    """The model folder a ``kind: hf`` entry loads, fetching a pinned Hub snapshot when needed.

    A folder inside the submission is used as it is. A Hub id needs a full commit hash; the
    snapshot is looked up in ``cache_dir`` first (a commit's files never change, so a cached copy
    needs no network), and downloaded only when missing.
    """
    if manifest.kind != "hf" or not manifest.model:
        raise ManifestError(f"submission {manifest.name} is not kind 'hf' with a 'model': nothing to resolve")
    local = submission_dir / manifest.model
    if local.is_dir():
        refuse_remote_code(local, manifest.model)
        return ResolvedModel(local, None, None)
    repo_id, revision = manifest.model, manifest.revision
    _check_repo_id(repo_id)
    if revision is None or not re.fullmatch(COMMIT_PATTERN, revision):
        raise ManifestError(
            f"model {repo_id!r} is a Hub id and needs 'revision': the full 40-hex commit hash, not "
            f"{(revision or 'nothing')[:60]!r}; a branch can move, a commit cannot"
        )
    path = _snapshot(repo_id, revision, cache_dir or hub_cache_dir())
    refuse_remote_code(path, f"{repo_id}@{revision[:12]}")
    return ResolvedModel(path, repo_id, revision)


def _check_repo_id(repo_id: str) -> None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise ManifestError(
            f"model {repo_id[:100]!r} is neither a folder inside the submission nor a Hub id (org/name): fix 'model'"
        ) from None


def _snapshot(repo_id: str, revision: str, cache_dir: Path) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{repo_id}@{revision}"
    try:
        return Path(snapshot_download(repo_id, revision=revision, cache_dir=cache_dir, local_files_only=True))
    except LocalEntryNotFoundError:
        pass  # not cached yet: download it below
    why = why_unreachable()
    if why is not None:
        folder = cache_dir / f"models--{repo_id.replace('/', '--')}" / "snapshots" / revision
        raise HubUnreachable(
            f"model {where} is not in the local Hub cache ({folder} is missing) and the Hub is unreachable "
            f"({why}): fetch it once on a machine with network, or copy that cache folder here"
        )
    try:
        path = snapshot_download(repo_id, revision=revision, cache_dir=cache_dir, ignore_patterns=FOREIGN_FORMATS)
    except GatedRepoError:
        raise ManifestError(f"model {repo_id} is gated: accept its licence on the Hub and set HF_TOKEN") from None
    except RepositoryNotFoundError:
        raise ManifestError(f"model {repo_id} is not on the Hub (or is private): check the id in 'model'") from None
    except RevisionNotFoundError:
        raise ManifestError(f"model {repo_id} has no commit {revision}: copy the hash from its history") from None
    except Exception as exc:  # the client raises many types (HTTP, connection, disk); the user needs one line
        raise HubUnreachable(f"could not download model {where} ({first_line(exc)}): retry, or check the network") from None
    return Path(path)


def refuse_remote_code(folder: Path, name: str) -> None:
    """A model whose config maps to its own Python classes runs that code on load: not allowed.

    ``auto_map`` is how transformers marks a model (or tokenizer) that needs ``trust_remote_code``;
    the harness loads models only through transformers' own classes.
    """
    if not (folder / "config.json").is_file():
        raise ManifestError(f"model {name}: no config.json in {folder}: give a transformers model (save_pretrained)")
    for file_name in CONFIG_FILES:
        path = folder / file_name
        if not path.is_file():
            continue
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ManifestError(f"model {name}: {file_name} is not valid JSON: the snapshot is damaged") from None
        if isinstance(config, dict) and config.get("auto_map"):
            raise ManifestError(
                f"model {name} needs trust_remote_code ({file_name} has auto_map): the harness runs only "
                f"transformers' own model classes; submit it as kind 'python' instead"
            )
