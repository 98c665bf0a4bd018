"""``greenbench publish``: records to a Hub dataset repository, the way Hub leaderboards keep results.

The repository mirrors the records store under ``records/`` (``records/<task>/<profile>/<entry>/
<version>-<key12>/`` with every file of the record, signatures included, and ``records/index.jsonl``).
Publishing is idempotent: the repository's file list is read first and a record whose job key is
already there is skipped, so rerunning after a partial failure uploads only what is missing.
Each batch is one commit (``HfApi.create_commit``), so a reader never sees half a record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import RecordError, UserError
from benchmark.hub.net import first_line, require_hub
from benchmark.record import RUN_FILES, find_runs, read_run
from benchmark.store import INDEX_NAME, index_row, record_dir

PREFIX = "records"
REPO_TYPE = "dataset"
DEFAULT_BATCH = 50
_KEY12 = re.compile(r"-([0-9a-f]{12})$")
_NAMES = (("task", "name"), ("profile", "name"), ("submission", "name"), ("submission", "version"))


class FailedRun(Exception):
    """A record of a run that failed: it has no figures, so it is not published."""


@dataclass(frozen=True)
class PlannedRecord:
    run_dir: Path
    repo_dir: str  # the record's folder in the repository, e.g. records/ag_news/cpu/x/1.0-0123456789ab
    job_key: str
    files: tuple[str, ...]  # file names inside run_dir, all uploaded


@dataclass
class PublishPlan:
    repo_id: str
    new: list[PlannedRecord] = field(default_factory=list)
    present: list[PlannedRecord] = field(default_factory=list)
    failed: list[Path] = field(default_factory=list)  # runs that failed: nothing to publish, not a problem
    problems: list[str] = field(default_factory=list)
    batch_size: int = DEFAULT_BATCH

    @property
    def batches(self) -> list[list[PlannedRecord]]:
        return [self.new[i : i + self.batch_size] for i in range(0, len(self.new), self.batch_size)]

    def summary(self) -> str:
        files = sum(len(r.files) for r in self.new)
        return (
            f"{len(self.new)} record(s) to upload ({files} files) in {len(self.batches)} commit(s) to "
            f"datasets/{self.repo_id}; {len(self.present)} already there; {len(self.failed)} failed run(s) "
            f"skipped; {len(self.problems)} left out"
        )


def remote_keys(remote_files: Sequence[str]) -> set[str]:
    """12-hex job-key prefixes of the records already in the repository (folders holding run.json)."""
    keys = set()
    for path in remote_files:
        parts = path.split("/")
        if len(parts) >= 3 and parts[0] == PREFIX and parts[-1] == "run.json" and (m := _KEY12.search(parts[-2])):
            keys.add(m.group(1))
    return keys


def _record_files(run_dir: Path) -> tuple[str, ...]:
    """The four record files plus any extra plain file (a signature), never hidden or linked ones."""
    files = tuple(
        sorted(p.name for p in run_dir.iterdir() if p.is_file() and not p.is_symlink() and not p.name.startswith("."))
    )
    missing = [n for n in RUN_FILES if n not in files]
    if missing:
        raise RecordError(f"{run_dir} is not a complete record: {', '.join(missing)} missing (or a link)")
    return files


def plan_record(run_dir: Path) -> PlannedRecord:
    from benchmark.record import digest_problems

    record = read_run(run_dir, with_predictions=False)
    if record.status != "complete":
        raise FailedRun(str(run_dir))
    problems = digest_problems(run_dir)
    if problems:
        raise RecordError(f"{run_dir}: {problems[0]}")
    run, key = record.run, str(record.run.get("job_key") or "")
    if not re.fullmatch(r"[0-9a-f]{64}", key):
        raise RecordError(f"{run_dir}/run.json has no valid job_key: rerun the job")
    try:
        names = [str(run[block][field]) for block, field in _NAMES]
    except (KeyError, TypeError):
        raise RecordError(f"{run_dir}/run.json lacks task/profile/submission names: rerun the job") from None
    folder = record_dir(Path(PREFIX), *names, key)
    return PlannedRecord(run_dir, folder.as_posix(), key, _record_files(run_dir))


def plan_publish(
    repo_id: str, records_root: Path, remote_files: Sequence[str], batch_size: int = DEFAULT_BATCH
) -> PublishPlan:
    """What a publish would do, given the repository's current file list."""
    if not records_root.exists():
        raise UserError(f"{records_root} does not exist: give the records store (leaderboard/records) or a run folder")
    have = remote_keys(remote_files)
    plan = PublishPlan(repo_id, batch_size=batch_size)
    seen: set[str] = set()
    for run_dir in find_runs(records_root):
        try:
            planned = plan_record(run_dir)
        except FailedRun:
            plan.failed.append(run_dir)
            continue
        except RecordError as exc:
            plan.problems.append(str(exc).splitlines()[0])
            continue
        if planned.job_key in seen:
            continue  # the same job twice locally: one upload
        seen.add(planned.job_key)
        (plan.present if planned.job_key[:12] in have else plan.new).append(planned)
    return plan


def _index_lines(existing: str, added: Sequence[PlannedRecord]) -> bytes:
    """The repository's index with rows for ``added`` (by job key, the new row wins)."""
    rows: dict[str, dict[str, Any]] = {}
    for line in existing.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a damaged line is dropped; the records themselves are the truth
        if isinstance(row, dict) and isinstance(row.get("job_key"), str):
            rows[row["job_key"]] = row
    for planned in added:
        row = index_row(planned.run_dir.parent, planned.run_dir)
        row["path"] = planned.repo_dir.removeprefix(PREFIX + "/")
        rows[planned.job_key] = row
    ordered = sorted(rows.values(), key=lambda r: str(r.get("path")))
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in ordered).encode()


def _remote_index(api: Any, repo_id: str, remote_files: Sequence[str]) -> str:
    name = f"{PREFIX}/{INDEX_NAME}"
    if name not in remote_files:
        return ""
    return Path(api.hf_hub_download(repo_id, name, repo_type=REPO_TYPE)).read_text(encoding="utf-8")


def _list_files(api: Any, repo_id: str) -> tuple[list[str], bool]:
    """The repository's files, and whether it exists (a new repository is created on publish)."""
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        return list(api.list_repo_files(repo_id, repo_type=REPO_TYPE)), True
    except RepositoryNotFoundError:
        return [], False


def publish(
    repo_id: str,
    records_root: Path,
    api: Any = None,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH,
    say: Callable[[str], None] = print,
) -> PublishPlan:
    """Upload the records under ``records_root`` that ``repo_id`` lacks, one commit per batch."""
    from huggingface_hub import CommitOperationAdd

    if api is None:
        from huggingface_hub import HfApi

        require_hub(f"publish to {repo_id}")
        api = HfApi()
    remote_files, exists = _hub(repo_id, _list_files, api, repo_id)
    plan = plan_publish(repo_id, records_root, remote_files, batch_size)
    for problem in plan.problems:
        say(f"left out: {problem}")
    for planned in plan.present:
        say(f"have   {planned.repo_dir} (job key already in the repository)")
    for planned in plan.new:
        say(f"{'would ' if dry_run else ''}upload {planned.repo_dir} ({len(planned.files)} files)")
    say(("dry run: " if dry_run else "") + plan.summary())
    if dry_run or not plan.new:
        return plan
    if not exists:
        _hub(repo_id, api.create_repo, repo_id, repo_type=REPO_TYPE, exist_ok=True)
    index = _hub(repo_id, _remote_index, api, repo_id, remote_files)
    done: list[PlannedRecord] = []
    for n, batch in enumerate(plan.batches, start=1):
        operations = [
            CommitOperationAdd(f"{p.repo_dir}/{name}", str(p.run_dir / name)) for p in batch for name in p.files
        ]
        done += batch
        operations.append(CommitOperationAdd(f"{PREFIX}/{INDEX_NAME}", _index_lines(index, done)))
        message = f"greenbench: {len(batch)} record(s) (batch {n} of {len(plan.batches)})"
        _hub(repo_id, api.create_commit, repo_id, operations, commit_message=message, repo_type=REPO_TYPE)
        say(f"committed batch {n} of {len(plan.batches)}: {len(batch)} record(s)")
    return plan


def _hub(repo_id: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one Hub request; its failure (HTTP, auth, network: many types) becomes one line."""
    try:
        return call(*args, **kwargs)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"publishing to {repo_id} failed ({first_line(exc)}): check the network and HF_TOKEN") from None
