"""``greenbench pull``: records from a Hub dataset repository into the local records store.

A published record is someone else's file: each one is validated (schema, digests and, with the
task data at hand, a re-score of its predictions) before it enters the store, and one that fails
is left out with one line. The repository's own index is not trusted; the store's index is rebuilt
from the records that passed. Offline, the repository is read from the local Hub cache.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.errors import UserError
from benchmark.hub.net import HubUnreachable, first_line, why_unreachable
from benchmark.hub.publish import PREFIX, REPO_TYPE
from benchmark.record import RUN_FILES, find_runs, read_run

_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# A profile mismatch is shown on the board as a flag; it does not make the record false.
_TOLERATED = ("hardware did not match the profile",)


@dataclass
class PullReport:
    pulled: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def summary(self, into: Path) -> str:
        return (
            f"{len(self.pulled)} record(s) pulled into {into}, {len(self.present)} already there, "
            f"{len(self.rejected)} rejected"
        )


def snapshot(repo_id: str, cache_dir: Path | None = None, revision: str | None = None) -> Path:
    """The repository's ``records/`` at ``revision`` on disk: downloaded, or from the cache offline."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    kwargs = {"repo_type": REPO_TYPE, "revision": revision, "cache_dir": cache_dir, "allow_patterns": [f"{PREFIX}/**"]}
    why = why_unreachable()
    try:
        if why is not None:
            return Path(snapshot_download(repo_id, local_files_only=True, **kwargs))  # type: ignore[arg-type]
        return Path(snapshot_download(repo_id, **kwargs))  # type: ignore[arg-type]
    except LocalEntryNotFoundError:
        raise HubUnreachable(
            f"cannot pull {repo_id}: the Hugging Face Hub is unreachable ({why}) and the dataset is not in the "
            f"local Hub cache; pull it on a machine with network access"
        ) from None
    except Exception as exc:  # the client raises many types (HTTP, auth, disk); one line for the user
        raise UserError(f"cannot pull {repo_id} ({first_line(exc)}): check the repository id and the network") from None


def _safe_relative(run_dir: Path, root: Path) -> Path | None:
    """The record's path inside ``records/`` if every part is a plain name (no '..', no odd bytes)."""
    rel = run_dir.relative_to(root)
    return rel if rel.parts and all(_SAFE_PART.match(part) for part in rel.parts) else None


def _files(run_dir: Path, repo_root: Path) -> list[Path] | str:
    """The record's plain files; a link that leaves the cached repository is refused."""
    out = []
    for path in sorted(run_dir.iterdir()):
        if path.name.startswith(".") or not _SAFE_PART.match(path.name):
            continue
        target = path.resolve()
        if not target.is_relative_to(repo_root):
            return f"{path.name} points outside the downloaded repository"
        if target.is_file():  # a record has no subfolders: any are ignored
            out.append(path)
    return out


def check_record(run_dir: Path, data_dir: Path | None, rescore: bool) -> list[str]:
    """Why a pulled record cannot enter the store (empty when it can)."""
    from benchmark.record import digest_problems
    from benchmark.validate import validate_run

    if rescore:
        problems = validate_run(run_dir, data_dir)
    else:
        try:
            record = read_run(run_dir)
        except UserError as exc:
            return [str(exc).splitlines()[0]]
        problems = digest_problems(run_dir)
        if record.status != "complete":
            problems.append(f"the run {record.status}")
    return [p for p in problems if not p.startswith(_TOLERATED)]


def _install(files: list[Path], target: Path) -> None:
    """Copy into a hidden sibling, then rename: a reader never sees a half-copied record."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for path in files:
            shutil.copyfile(path, tmp / path.name)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _job_key(run_dir: Path) -> str | None:
    try:
        return str(read_run(run_dir, with_predictions=False).run.get("job_key"))
    except UserError:
        return None


def pull(
    repo_id: str,
    into: Path,
    data_dir: Path | None = None,
    rescore: bool = True,
    cache_dir: Path | None = None,
    revision: str | None = None,
    say: Callable[[str], None] = print,
) -> PullReport:
    """Validate each record of ``repo_id`` and copy the good ones into the store at ``into``."""
    from benchmark.store import write_index
    from tasks.base import resolve_data_dir

    repo = snapshot(repo_id, cache_dir, revision)
    root = repo / PREFIX
    data = resolve_data_dir(data_dir) if rescore else None
    report = PullReport()
    repo_root = repo.resolve().parent.parent  # <cache>/datasets--org--name: snapshots link into its blobs
    for run_dir in find_runs(root) if root.is_dir() else []:
        rel = _safe_relative(run_dir, root)
        files = _files(run_dir, repo_root) if rel is not None else "its path is not a plain records path"
        problems = [files] if isinstance(files, str) else check_record(run_dir, data, rescore)
        if isinstance(files, list) and not problems and not all(any(f.name == n for f in files) for n in RUN_FILES):
            problems = ["it lacks one of " + ", ".join(RUN_FILES)]
        name = str(rel) if rel is not None else str(run_dir.relative_to(root))[:200]
        if problems:
            report.rejected.append(name)
            say(f"reject {name}: {problems[0]}")
            continue
        assert rel is not None and isinstance(files, list)
        target = into / rel
        if (target / "run.json").is_file() and _job_key(target) == _job_key(run_dir):
            report.present.append(name)
            continue
        if target.exists():
            report.rejected.append(name)
            say(f"reject {name}: {target} holds a different record; move it away first")
            continue
        _install(files, target)
        report.pulled.append(name)
        say(f"pulled {name}")
    if report.pulled or not (into / "index.jsonl").exists():
        into.mkdir(parents=True, exist_ok=True)
        write_index(into)
    say(report.summary(into))
    return report
