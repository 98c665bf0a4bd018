"""`greenbench pull` from a local Hub cache, offline: validated records into the store, the board
builds from them, tampered or hostile ones are rejected with one line."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from test_hub_publish import REPO, write_records

from benchmark.cli import main
from benchmark.hub.net import HubUnreachable
from benchmark.hub.pull import pull
from benchmark.record import find_runs
from benchmark.store import INDEX_NAME, read_index

COMMIT = "aa" * 20


def hub_dataset_cache(cache: Path, repo_id: str, files: dict[str, bytes], commit: str = COMMIT) -> Path:
    """The layout huggingface_hub writes: content in blobs/<sha256>, snapshots/<commit>/ of relative links."""
    repo = cache / f"datasets--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "blobs").mkdir(exist_ok=True)
    snapshot = repo / "snapshots" / commit
    for name, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return snapshot


def as_repo_files(store: Path) -> dict[str, bytes]:
    return {f"records/{p.relative_to(store).as_posix()}": p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_pull_from_the_local_hub_cache_offline(tmp_path, offline, capsys):
    records = sorted(write_records(tmp_path / "published", 3, signed=True))
    hub_dataset_cache(tmp_path / "hub", REPO, as_repo_files(tmp_path / "published"))
    into = tmp_path / "store"
    report = pull(REPO, into, rescore=False, cache_dir=tmp_path / "hub")
    assert len(report.pulled) == 3 and report.rejected == []
    pulled = find_runs(into)
    assert [p.relative_to(into) for p in pulled] == [r.relative_to(tmp_path / "published") for r in records]
    for original, copy in zip(records, pulled, strict=True):
        for name in ("run.json", "metrics.json", "predictions.jsonl", "digests.json", "signature.json"):
            assert (copy / name).read_bytes() == (original / name).read_bytes()
            assert not (copy / name).is_symlink()
    assert len(read_index(into)) == 3
    assert "3 record(s) pulled" in capsys.readouterr().out
    again = pull(REPO, into, rescore=False, cache_dir=tmp_path / "hub")
    assert again.pulled == [] and len(again.present) == 3


def test_tampered_and_hostile_records_are_rejected_with_one_line(tmp_path, offline, capsys):
    good, tampered, linked = write_records(tmp_path / "published", 3)
    metrics = json.loads((tampered / "metrics.json").read_text())
    metrics["eval_sets"]["test"]["macro_f1"] /= 2
    (tampered / "metrics.json").write_text(json.dumps(metrics))
    snapshot = hub_dataset_cache(tmp_path / "hub", REPO, as_repo_files(tmp_path / "published"))
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the store")
    hostile = snapshot / "records" / linked.relative_to(tmp_path / "published") / "notes.txt"
    hostile.symlink_to(secret)
    report = pull(REPO, tmp_path / "store", rescore=False, cache_dir=tmp_path / "hub")
    assert report.pulled == [str(good.relative_to(tmp_path / "published"))]
    assert len(report.rejected) == 2
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("reject ")]
    assert any("metrics.json was changed after the run" in line for line in lines)
    assert any("notes.txt points outside the downloaded repository" in line for line in lines)
    assert not any(p.name == "notes.txt" for p in (tmp_path / "store").rglob("*"))


def test_a_different_record_already_at_the_path_is_not_overwritten(tmp_path, offline):
    (record,) = write_records(tmp_path / "published", 1)
    hub_dataset_cache(tmp_path / "hub", REPO, as_repo_files(tmp_path / "published"))
    into = tmp_path / "store"
    squatter = into / record.relative_to(tmp_path / "published")
    squatter.mkdir(parents=True)
    (squatter / "keep.txt").write_text("mine")
    report = pull(REPO, into, rescore=False, cache_dir=tmp_path / "hub")
    assert report.pulled == [] and len(report.rejected) == 1
    assert (squatter / "keep.txt").read_text() == "mine"


def test_a_dataset_missing_from_the_cache_offline_is_one_line(tmp_path, offline, capsys):
    code = main(["pull", "--repo", "nobody/nothing", "--into", str(tmp_path / "store"), "--no-rescore"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "the Hugging Face Hub is unreachable (HF_HUB_OFFLINE is set)" in err
    with pytest.raises(HubUnreachable):
        pull("nobody/nothing", tmp_path / "store", rescore=False, cache_dir=tmp_path / "hub")


def test_a_real_record_is_rescored_and_the_board_builds_from_the_pull(
    tmp_path, offline, data_dir, fast_profile, isolated_cache
):
    """A record made by a real run passes the re-score against the task data and reaches the board;
    the same record with a flipped prediction (digests updated, so only the re-score can tell) does not."""
    out = tmp_path / "runs"
    args = ["run", "--submission", "submissions/majority-class", "--task", "hyperpartisan", "--profile"]
    args += [str(fast_profile), "--data-dir", str(data_dir), "--limit", "12", "--no-costs", "--sandbox", "none"]
    assert main([*args, "--out", str(out)]) == 0
    (run_dir,) = find_runs(out)
    forged = tmp_path / "forged" / "hyperpartisan" / "cpu" / "forged" / run_dir.name
    shutil.copytree(run_dir, forged)
    rows = [json.loads(line) for line in (forged / "predictions.jsonl").read_text().splitlines()]
    rows[0]["prediction"] = 1 - rows[0]["prediction"]
    (forged / "predictions.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    digests = json.loads((forged / "digests.json").read_text())
    digests["sha256"]["predictions.jsonl"] = hashlib.sha256((forged / "predictions.jsonl").read_bytes()).hexdigest()
    (forged / "digests.json").write_text(json.dumps(digests))
    files = as_repo_files(out) | as_repo_files(tmp_path / "forged")
    hub_dataset_cache(tmp_path / "hub", REPO, files)
    into = tmp_path / "store"
    report = pull(REPO, into, data_dir=data_dir, cache_dir=tmp_path / "hub", say=lambda _: None)
    assert report.pulled == [str(run_dir.relative_to(out))]
    assert report.rejected == [str(forged.relative_to(tmp_path / "forged"))]
    assert (into / INDEX_NAME).is_file()
    from leaderboard.build import build_site

    site = build_site(tmp_path / "site", [into])
    assert site["runs"] == 1 and site["problems"] == []
