"""Find the code a record was made by, from the entry's name and the record's code digest.

A record names its code by identity, not by folder: ``validate`` looks for an entry of that name
whose digest (under the record's digest scheme) matches, first among the submission folders at
hand, then, in a git checkout, in the history of those folders, so a record made by an earlier
version of an entry is still linked to the exact commit that holds its code ("stale", not
"unknown"). A record whose code is nowhere to be found cannot be re-run or audited.
"""

from __future__ import annotations

import functools
import io
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import UserError
from benchmark.fingerprint import code_digest
from benchmark.manifest import load_manifest


@dataclass(frozen=True)
class CodeLocation:
    folder: Path  # the entry's folder in this tree
    commit: str | None  # None: the folder as it is now; else the commit whose tree holds the code

    def describe(self) -> str:
        return str(self.folder) if self.commit is None else f"{self.folder} at commit {self.commit[:12]}"

    def materialize(self, into: Path) -> Path:
        """A folder holding exactly this code: the folder itself, or the commit's copy under ``into``
        (so a stale record can still be re-run, e.g. by ``greenbench audit``)."""
        if self.commit is None:
            return self.folder
        archive = _git(self.folder, "archive", "--format=tar", self.commit, "--", ".")
        if archive is None:
            raise UserError(f"git could not read {self.describe()}: run from a full clone of the repository")
        target = into / f"code-{self.folder.name}-{self.commit[:12]}"
        if not target.is_dir():
            target.mkdir(parents=True)
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(target, filter="data")
        return target


def entry_folders(roots: tuple[Path, ...]) -> dict[str, Path]:
    """Entry name -> folder, for every folder under ``roots`` holding a valid manifest."""
    found: dict[str, Path] = {}
    for root in roots:
        candidates = [root] if (root / "submission.yaml").is_file() else sorted(root.glob("*/submission.yaml"))
        for item in candidates:
            folder = item if item.is_dir() else item.parent
            try:
                found.setdefault(load_manifest(folder).name, folder)
            except UserError:
                continue
    return found


@functools.cache
def _current_digest(folder: Path, scheme: int) -> str | None:
    try:
        return code_digest(folder, scheme)
    except (UserError, OSError):
        return None


def _git(folder: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


@functools.cache
def _history_digests(folder: Path, scheme: int) -> tuple[tuple[str, str], ...]:
    """(commit, digest) for each commit that changed ``folder``, newest first; empty outside git."""
    log = _git(folder, "log", "--format=%H", "--", ".")
    if not log:
        return ()
    out = []
    for commit in log.decode().split():
        archive = _git(folder, "archive", "--format=tar", commit, "--", ".")
        if archive is None:
            continue
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
            digest = _current_digest_of_copy(Path(tmp), scheme)  # archive paths are relative to folder
        if digest:
            out.append((commit, digest))
    return tuple(out)


def _current_digest_of_copy(folder: Path, scheme: int) -> str | None:
    try:
        return code_digest(folder, scheme) if folder.is_dir() else None
    except (UserError, OSError):
        return None


@functools.cache
def _shallow(folder: Path) -> bool:
    answer = _git(folder, "rev-parse", "--is-shallow-repository")
    return answer is not None and answer.decode().strip() == "true"


def find_code(entry: str, digest: str, scheme: int, roots: tuple[Path, ...]) -> CodeLocation | None:
    """Where the code with this digest is: the current folder, a commit of it, or None."""
    folder = entry_folders(roots).get(entry)
    if folder is None:
        return None
    folder = folder.resolve()
    if _current_digest(folder, scheme) == digest:
        return CodeLocation(folder, None)
    for commit, old in _history_digests(folder, scheme):
        if old == digest:
            return CodeLocation(folder, commit)
    return None


DEFAULT_ROOTS = (Path("submissions"),)


def code_check(run: dict, roots: tuple[Path, ...] = DEFAULT_ROOTS) -> tuple[list[str], list[str]]:
    """(problems, notes) about a record's link to its code. No entries at hand (a records-only
    checkout, a pulled store): nothing to check, said as a note. An entry of that name whose code
    matches no version in the tree or its history: a problem, since the record cannot be re-run."""
    if not any(root.is_dir() for root in roots):
        return [], ["code not checked: no submissions folder at hand (pass --submissions DIR)"]
    env = run.get("environment") or {}
    entry = (run.get("submission") or {}).get("name")
    digest = env.get("submission_code_sha256")
    scheme = env.get("code_digest_scheme", 1)
    if not isinstance(entry, str) or not isinstance(digest, str) or scheme not in (1, 2):
        return ["the record names no entry and code digest: it cannot be linked to its code"], []
    if entry not in entry_folders(roots):
        return [], [f"code not checked: no entry named {entry!r} under {', '.join(map(str, roots))}"]
    location = find_code(entry, digest, scheme, roots)
    if location is None and _shallow(entry_folders(roots)[entry]):
        return [], [f"code not checked: this checkout is a shallow clone, so the history of {entry!r} is missing"]
    if location is None:
        return [
            f"no version of entry {entry!r} (in the tree or its git history) has this record's code digest "
            f"{digest[:12]}: the code that made it is not here, so it cannot be re-run or audited"
        ], []
    if location.commit is not None:
        return [], [f"made by an earlier version of the code: {location.describe()} (stale, rerun to refresh)"]
    return [], []
