"""Script-free Hugging Face Hub sources: named data files of a repository at a pinned commit.

Why files and not ``datasets.load_dataset``: ``datasets`` 4.0 and later refuse any repository that
still holds a loading script (``RuntimeError: Dataset scripts are no longer supported``), even when
the same commit also holds the parquet files the script's data was converted to (allenai/winogrande
at the pinned commit is such a repository). Fetching the named files with ``huggingface_hub`` at a
full commit hash needs no script, reads the same bytes on every machine, and gives the job identity
something exact to hash: repository, commit and the sha256 of every file read.

Each file is named by a list of candidate paths: the layout of the repository's own parquet files
first, then the layout of the Hub's automatic conversion (the ``refs/convert/parquet`` branch), so a
user who pins a conversion commit with ``GREENBENCH_HUB_REVISION`` gets the same rows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.base import DATA_DIR_ENV, hub_unreachable, sha256_of
from tasks.errors import DataError

REVISION_ENV = "GREENBENCH_HUB_REVISION"
_COMMIT = re.compile(r"[0-9a-f]{40}")
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
# Behind a proxy a direct connection can fail while the client (which uses the proxy) succeeds.
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_FIX = f"pass --data-dir (or set {DATA_DIR_ENV}) with a local copy of the original files"


@dataclass(frozen=True)
class HubRepo:
    """A dataset repository and the commit its files are read at unless the user pins another."""

    repo_id: str
    revision: str


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


def revision_overrides() -> dict[str, str]:
    """``GREENBENCH_HUB_REVISION="org/name=<commit>[,org/name=<commit>]"``, checked: full hashes only.

    A branch name would let the same job key stand for different bytes next month, so only a
    40-character commit hash is accepted.
    """
    text = os.environ.get(REVISION_ENV, "").strip()
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        repo, sep, revision = part.partition("=")
        if not sep or "/" not in repo or not _COMMIT.fullmatch(revision.strip()):
            raise DataError(
                f"{REVISION_ENV} entry {part!r} is not '<org>/<name>=<40-character commit hash>': pin a full "
                f"commit (from the repository's 'Files and versions' history), never a branch name"
            )
        out[repo.strip()] = revision.strip()
    return out


def pinned(repo: HubRepo) -> HubRepo:
    """The repository at the commit the user pinned, else at the task's default commit."""
    return HubRepo(repo.repo_id, revision_overrides().get(repo.repo_id, repo.revision))


def _cache_dir() -> str:
    """The Hub cache folder, resolved on every call as ``huggingface_hub`` resolves it once at import.

    Passing it explicitly keeps a process that changed ``HF_HUB_CACHE``/``HF_HOME`` after the import
    (a test, a long-lived service) reading the folder its environment names now.
    """
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(name):
            return os.path.expanduser(os.environ[name])
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return os.path.expanduser(os.path.join(home, "hub"))


def check_reachable() -> None:
    """Fail in seconds, not after minutes of client retries, when no route to the Hub exists."""
    offline = any(_truthy(v) for v in _OFFLINE_VARS)
    proxied = any(os.environ.get(v) for v in _PROXY_VARS)
    if not (offline or proxied) and (why := hub_unreachable()) is not None:  # offline: the local cache
        raise DataError(f"the Hugging Face Hub is unreachable ({why}) and no local data was given: {_FIX}")


def _download(repo: HubRepo, path: str) -> Path:
    import huggingface_hub

    return Path(
        huggingface_hub.hf_hub_download(
            repo.repo_id, path, repo_type="dataset", revision=repo.revision, cache_dir=_cache_dir()
        )
    )


def _loading_script(repo: HubRepo) -> str | None:
    """The name of the loading script this commit holds, if it holds one (any error: assume none)."""
    name = f"{repo.repo_id.rsplit('/', 1)[-1]}.py"
    try:
        _download(repo, name)
    except Exception:  # noqa: BLE001 - only a hint for the error message
        return None
    return name


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    if not text:
        return type(exc).__name__
    return f"{type(exc).__name__}: {text[0] if len(text[0]) <= 160 else text[0][:157] + '...'}"


def fetch(repo: HubRepo, candidates: Sequence[str]) -> tuple[str, Path]:
    """The first candidate path present at ``repo.revision``, downloaded (or found in the cache).

    Every failure is one line that says what to do; a commit that holds only a loading script
    gets its own message, because no ``datasets`` version this project supports can run it.
    """
    check_reachable()
    errors: list[BaseException] = []
    for path in candidates:
        try:
            return path, _download(repo, path)
        except Exception as exc:  # the client raises many types (offline, 404, revision, repository)
            errors.append(exc)
    where = f"{repo.repo_id}@{repo.revision}"
    if (script := _loading_script(repo)) is not None:
        raise DataError(
            f"{where} holds the loading script {script} but not {candidates[0]}; datasets>=4 cannot run "
            f"loading scripts: pin a commit that holds the parquet files (e.g. the repository's "
            f"refs/convert/parquet commit) with {REVISION_ENV}={repo.repo_id}=<commit>, or {_FIX}"
        )
    raise DataError(f"could not read {candidates[0]} of {where} from the Hugging Face Hub ({_first_line(errors[0])}): {_FIX}")


def read_parquet(repo: HubRepo, candidates: Sequence[str], columns: Sequence[str]) -> tuple[list[dict[str, Any]], str, str]:
    """Rows of a parquet file as dicts, with the path read and its sha256 (for the job identity)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path, local = fetch(repo, candidates)
    try:
        table = pq.read_table(local)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{repo.repo_id}@{repo.revision}/{path} is not a readable parquet file ({_first_line(exc)}): {_FIX}") from exc
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DataError(
            f"{repo.repo_id}@{repo.revision}/{path} lacks column(s) {', '.join(missing)} (has "
            f"{', '.join(table.column_names)}): pin a commit with the expected layout, or {_FIX}"
        )
    return table.select(list(columns)).to_pylist(), path, sha256_of(local)


def file_key(repo: HubRepo, path: str) -> str:
    """How a Hub file is named in ``TaskData.files``: unambiguous across repositories and commits."""
    return f"hub:{repo.repo_id}@{repo.revision}/{path}"
