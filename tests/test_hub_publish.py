"""`greenbench publish`: the plan, one commit per batch, idempotence by job key, and no network.

A fake HfApi (an in-memory dataset repository with HfApi's method names) records every call, so the
tests see exactly which files each commit would have uploaded.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from benchmark.cli import main
from benchmark.hub.publish import plan_publish, publish, remote_keys
from benchmark.record import write_run

REPO = "greenbench-test/results"


def write_records(root: Path, n: int, start: int = 0, signed: bool = False) -> list[Path]:
    """``n`` schema-valid records (synthetic figures) in the store layout, written by ``write_run``."""
    from leaderboard.synthetic import record

    out = []
    for index in range(start, start + n):
        task = ("ag_news", "winogrande", "hyperpartisan")[index % 3]
        run, metrics = record(random.Random(index), index, f"synthetic-{index:03d}", task, "cpu", 3, 0)
        folder = root / task / "cpu" / run["submission"]["name"] / f"1-{run['job_key'][:12]}"
        write_run(folder, run, [], metrics)
        if signed:
            (folder / "signature.json").write_text('{"key_id": "test", "signature": "AA=="}\n')
        out.append(folder)
    return out


class FakeHub:
    """One Hub dataset repository in memory, answering HfApi's calls and recording them."""

    def __init__(self, tmp: Path, exists: bool = True) -> None:
        self.tmp, self.exists = tmp, exists
        self.files: dict[str, bytes] = {}
        self.commits: list[tuple[str, list[str]]] = []
        self.calls: list[str] = []

    def list_repo_files(self, repo_id: str, repo_type: str | None = None) -> list[str]:
        self.calls.append("list_repo_files")
        assert repo_id == REPO and repo_type == "dataset"
        if not self.exists:
            import httpx2
            from huggingface_hub.errors import RepositoryNotFoundError

            response = httpx2.Response(404, request=httpx2.Request("GET", "https://huggingface.co/api/datasets/x"))
            raise RepositoryNotFoundError("404 repository not found", response=response)
        return sorted(self.files)

    def create_repo(self, repo_id: str, repo_type: str | None = None, exist_ok: bool = False) -> None:
        self.calls.append("create_repo")
        self.exists = True

    def hf_hub_download(self, repo_id: str, filename: str, repo_type: str | None = None) -> str:
        self.calls.append("hf_hub_download")
        path = self.tmp / "download" / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.files[filename])
        return str(path)

    def create_commit(self, repo_id: str, operations: Any, *, commit_message: str, repo_type: str | None = None) -> None:
        self.calls.append("create_commit")
        assert self.exists and repo_type == "dataset"
        paths = []
        for op in operations:
            data = op.path_or_fileobj
            self.files[op.path_in_repo] = data if isinstance(data, bytes) else Path(data).read_bytes()
            paths.append(op.path_in_repo)
        self.commits.append((commit_message, paths))

    def index(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.files["records/index.jsonl"].decode().splitlines()]


def test_dry_run_prints_the_plan_and_uploads_nothing(tmp_path, capsys):
    records = write_records(tmp_path / "store", 3, signed=True)
    hub = FakeHub(tmp_path)
    plan = publish(REPO, tmp_path / "store", api=hub, dry_run=True, batch_size=2)
    out = capsys.readouterr().out
    assert hub.commits == [] and "create_commit" not in hub.calls
    assert len(plan.new) == 3 and len(plan.batches) == 2
    assert out.count("would upload records/") == 3
    assert "dry run: 3 record(s) to upload (15 files) in 2 commit(s)" in out
    key = json.loads((records[0] / "run.json").read_text())["job_key"]
    assert any(p.repo_dir.endswith(f"/1-{key[:12]}") and p.repo_dir.startswith("records/") for p in plan.new)


def test_publish_commits_each_batch_with_every_file_and_the_index(tmp_path):
    records = write_records(tmp_path / "store", 3, signed=True)
    hub = FakeHub(tmp_path, exists=False)
    publish(REPO, tmp_path / "store", api=hub, batch_size=2, say=lambda _: None)
    assert hub.calls[:2] == ["list_repo_files", "create_repo"]
    assert len(hub.commits) == 2
    first, second = (paths for _, paths in hub.commits)
    assert len(first) == 2 * 5 + 1 and len(second) == 5 + 1  # 5 files a record, plus the index
    assert "records/index.jsonl" in first and "records/index.jsonl" in second
    for folder in records:
        key = json.loads((folder / "run.json").read_text())["job_key"]
        (remote_dir,) = {p.rsplit("/", 1)[0] for p in hub.files if f"-{key[:12]}/" in p}
        for name in ("run.json", "predictions.jsonl", "metrics.json", "digests.json", "signature.json"):
            assert hub.files[f"{remote_dir}/{name}"] == (folder / name).read_bytes()
    index = hub.index()
    assert len(index) == 3 and {row["path"] for row in index} == {
        p.rsplit("/", 1)[0].removeprefix("records/") for p in hub.files if p.endswith("/run.json")
    }


def test_publish_is_idempotent_by_job_key(tmp_path, capsys):
    write_records(tmp_path / "store", 2)
    hub = FakeHub(tmp_path)
    publish(REPO, tmp_path / "store", api=hub)
    assert len(hub.commits) == 1
    publish(REPO, tmp_path / "store", api=hub)
    assert len(hub.commits) == 1, "a second publish of the same records must not commit"
    assert "0 record(s) to upload" in capsys.readouterr().out
    (new,) = write_records(tmp_path / "store", 1, start=2)
    publish(REPO, tmp_path / "store", api=hub)
    assert len(hub.commits) == 2
    uploaded = [p for p in hub.commits[-1][1] if p != "records/index.jsonl"]
    key = json.loads((new / "run.json").read_text())["job_key"]
    assert len(uploaded) == 4 and all(f"-{key[:12]}/" in p for p in uploaded)
    assert len(hub.index()) == 3, "the index keeps the rows already in the repository"


def test_the_same_record_elsewhere_on_disk_is_still_skipped(tmp_path):
    """Idempotence is by job key, not by local path: a copy in another folder is the same record."""
    (folder,) = write_records(tmp_path / "a", 1)
    hub = FakeHub(tmp_path)
    publish(REPO, tmp_path / "a", api=hub, say=lambda _: None)
    import shutil

    shutil.copytree(folder, tmp_path / "b" / "somewhere" / folder.name)
    plan = plan_publish(REPO, tmp_path / "b", sorted(hub.files))
    assert plan.new == [] and len(plan.present) == 1


def test_broken_records_are_left_out_with_one_line(tmp_path, capsys):
    good, tampered = write_records(tmp_path / "store", 2)
    metrics = json.loads((tampered / "metrics.json").read_text())
    metrics["eval_sets"]["test"]["macro_f1"] = metrics["eval_sets"]["test"]["macro_f1"] / 2  # schema-valid edit
    (tampered / "metrics.json").write_text(json.dumps(metrics))
    half = tmp_path / "store" / "ag_news" / "cpu" / "half" / "1-000000000000"
    half.mkdir(parents=True)
    (half / "run.json").write_text("{truncated")
    hub = FakeHub(tmp_path)
    plan = publish(REPO, tmp_path / "store", api=hub)
    assert [p.run_dir for p in plan.new] == [good]
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("left out:")]
    assert len(lines) == 2 and any("metrics.json was changed after the run" in line for line in lines)


def test_a_failed_run_is_skipped_without_counting_as_a_problem(tmp_path, capsys):
    from leaderboard.synthetic import record

    run, metrics = record(random.Random(0), 7, "synthetic-007", "ag_news", "cpu", 3, 0)
    run.update(status="failed", failure={"kind": "timeout", "reason": "fit ran past 3600 s"})
    write_run(tmp_path / "store" / "ag_news" / "cpu" / "x" / f"1-{run['job_key'][:12]}", run, [], metrics)
    write_records(tmp_path / "store", 1)
    plan = publish(REPO, tmp_path / "store", api=FakeHub(tmp_path))
    assert len(plan.new) == 1 and len(plan.failed) == 1 and plan.problems == []
    assert "1 failed run(s) skipped; 0 left out" in capsys.readouterr().out


def test_links_in_a_record_are_never_uploaded(tmp_path):
    """A link could make publish upload any file on the machine; only plain files go."""
    linked, plain = write_records(tmp_path / "store", 2)
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    (plain / "signature.json").symlink_to(secret)
    (linked / "run.json").rename(tmp_path / "run.json")
    (linked / "run.json").symlink_to(tmp_path / "run.json")
    plan = plan_publish(REPO, tmp_path / "store", [])
    assert [p.run_dir for p in plan.new] == [plain] and "signature.json" not in plan.new[0].files
    assert len(plan.problems) == 1 and "run.json missing (or a link)" in plan.problems[0]


def test_remote_keys_ignore_files_outside_records():
    files = [
        "README.md",
        "records/index.jsonl",
        "records/ag_news/cpu/x/1-0123456789ab/run.json",
        "records/ag_news/cpu/x/1-0123456789ab/metrics.json",
        "other/ag_news/cpu/x/1-ffffffffffff/run.json",
        "records/ag_news/cpu/x/not-a-key/run.json",
    ]
    assert remote_keys(files) == {"0123456789ab"}


def test_publish_without_network_is_one_line(tmp_path, monkeypatch, capsys):
    write_records(tmp_path / "store", 1)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["publish", "--repo", REPO, "--records", str(tmp_path / "store"), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "the Hugging Face Hub is unreachable (HF_HUB_OFFLINE is set)" in err


def test_a_failing_hub_call_is_one_line(tmp_path):
    write_records(tmp_path / "store", 1)

    class Refusing(FakeHub):
        def create_commit(self, *args: Any, **kwargs: Any) -> None:
            raise PermissionError("403 Forbidden: you cannot write to this repository\nmore detail")

    from benchmark.errors import UserError

    with pytest.raises(UserError, match=r"publishing to .* failed \(PermissionError: 403 Forbidden") as info:
        publish(REPO, tmp_path / "store", api=Refusing(tmp_path), say=lambda _: None)
    assert "\n" not in str(info.value)
