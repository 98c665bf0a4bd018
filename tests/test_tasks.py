from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from benchmark.errors import DataError
from tasks import REGISTRY, get_task
from tasks.base import Instance, resolve_data_dir, subsample
from tasks.hyperpartisan import dedup_key, deduplicate, stratified_split
from tasks.winogrande import wsc_instance


@pytest.fixture(scope="module")
def ag_news(data_dir: Path):
    return get_task("ag_news").load(data_dir)


@pytest.fixture(scope="module")
def winogrande(data_dir: Path):
    return get_task("winogrande").load(data_dir, "m")


@pytest.fixture(scope="module")
def hyperpartisan(data_dir: Path):
    return get_task("hyperpartisan").load(data_dir)


def test_registry_is_explicit():
    assert set(REGISTRY) == {"ag_news", "winogrande", "hyperpartisan"}


def test_ag_news_counts_and_labels(ag_news):
    (test,) = ag_news.eval_sets
    assert test.name == "test" and len(test.instances) == 7600
    assert Counter(i.label for i in test.instances) == {0: 1900, 1: 1900, 2: 1900, 3: 1900}
    assert len(ag_news.train) == 32087
    assert Counter(i.label for i in ag_news.train) == {0: 7997, 1: 8040, 2: 8054, 3: 7996}
    first = test.instances[0]
    assert first.inputs["text"].startswith("Fears for T N pension after talks Unions representing")
    assert ag_news.files["ag_news/test.csv"].startswith("521465c2")


def test_winogrande_dev_and_wsc273(winogrande):
    dev, wsc = winogrande.eval_sets
    assert (dev.name, dev.role, len(dev.instances)) == ("dev", "id", 1267)
    assert Counter(i.label for i in dev.instances) == {0: 628, 1: 639}
    assert (wsc.name, wsc.role, len(wsc.instances)) == ("wsc273", "ood", 273)
    assert len(winogrande.train) == 2558
    for inst in dev.instances + wsc.instances:
        assert inst.inputs["sentence"].count("_") == 1
        assert inst.inputs["option1"] and inst.inputs["option2"]
    first = wsc.instances[0]
    assert (
        first.inputs["sentence"] == "The city councilmen refused the demonstrators a permit because _ feared violence."
    )
    assert (first.inputs["option1"], first.inputs["option2"], first.label) == (
        "The city councilmen",
        "the demonstrators",
        0,
    )
    assert wsc.instances[1].label == 1


@pytest.mark.parametrize("config,size", [("xs", 160), ("s", 640), ("l", 10234)])
def test_winogrande_train_configs(data_dir, config, size):
    assert len(get_task("winogrande").load(data_dir, config).train) == size


def test_winogrande_unknown_config(data_dir):
    with pytest.raises(DataError, match="choose one of xs, s, m, l, xl"):
        get_task("winogrande").load(data_dir, "xxl")


def test_wsc_answer_letters_are_normalised():
    inst = wsc_instance(0, " The cat\n chased", " away. ", ["the dog ", " the mouse"], " B.  ")
    assert inst.label == 1
    assert inst.inputs == {"sentence": "The cat chased _ away.", "option1": "the dog", "option2": "the mouse"}
    with pytest.raises(DataError):
        wsc_instance(0, "a", "b", ["x", "y"], "C")


def test_hyperpartisan_split_is_clean(hyperpartisan):
    (test,) = hyperpartisan.eval_sets
    splits = {"train": hyperpartisan.train, "dev": hyperpartisan.dev, "test": test.instances}
    assert sum(len(s) for s in splits.values()) == 643  # 645 articles, 2 exact duplicates removed
    keys = {name: {dedup_key(i.inputs["text"]) for i in part} for name, part in splits.items()}
    assert not keys["train"] & keys["test"]
    assert not keys["train"] & keys["dev"]
    assert not keys["dev"] & keys["test"]
    for part in splits.values():  # stratified: each split keeps the 37% positive rate within 2 points
        rate = sum(i.label for i in part) / len(part)
        assert abs(rate - 238 / 645) < 0.02
    assert 120 <= len(test.instances) <= 135


def test_hyperpartisan_split_is_deterministic(data_dir, hyperpartisan):
    again = get_task("hyperpartisan").load(data_dir)
    assert [i.id for i in again.eval_sets[0].instances] == [i.id for i in hyperpartisan.eval_sets[0].instances]


def test_dedup_and_split_helpers():
    items = [
        Instance(f"a{k}", {"text": t}, lab)
        for k, (t, lab) in enumerate(
            [("Hello, World!", 1), ("hello world", 1), ("other", 0), ("more", 0), ("x y", 1), ("z", 0)]
        )
    ]
    unique = deduplicate(items)
    assert [i.id for i in unique] == ["a0", "a2", "a3", "a4", "a5"]
    parts = stratified_split(unique, seed=1)
    assert sorted(i.id for p in parts.values() for i in p) == sorted(i.id for i in unique)


def test_missing_file_names_file_and_place(tmp_path, data_dir):
    (tmp_path / "ag_news").mkdir()
    shutil.copy(data_dir / "ag_news" / "train.csv", tmp_path / "ag_news" / "train.csv")
    with pytest.raises(DataError) as err:
        get_task("ag_news").load(tmp_path)
    message = str(err.value)
    assert "test.csv" in message and str(tmp_path / "ag_news") in message and "--data-dir" in message


def test_checksum_mismatch_is_caught(tmp_path, data_dir):
    folder = tmp_path / "winogrande"
    shutil.copytree(data_dir / "winogrande", folder)
    (tmp_path / "wsc").mkdir()
    shutil.copy(data_dir / "wsc" / "WSCollection.xml", tmp_path / "wsc")
    dev = folder / "dev.jsonl"
    dev.chmod(0o644)
    dev.write_text(dev.read_text()[:-200])  # truncated copy
    with pytest.raises(DataError, match="does not match its known sha256"):
        get_task("winogrande").load(tmp_path, "xs")


def test_hub_unreachable_gives_one_clear_line(monkeypatch):
    monkeypatch.delenv("GREENBENCH_DATA_DIR", raising=False)
    with pytest.raises(DataError) as err:
        get_task("ag_news").load(None)
    assert "--data-dir" in str(err.value) and "\n" not in str(err.value)


def test_unreachable_hub_fails_before_the_client_retries(monkeypatch):
    """Without offline mode the client would retry for minutes; the probe answers first."""
    import socket

    import huggingface_hub

    from tasks.base import hub_unreachable

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{listening.getsockname()[1]}")
        assert hub_unreachable(timeout_s=2) is None  # something answers: the probe lets the load go on
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connections are refused
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "GREENBENCH_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)

    def never(*args, **kwargs):
        raise AssertionError("hf_hub_download was called although the Hub is unreachable")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", never)
    with pytest.raises(DataError, match="Hub is unreachable") as err:
        get_task("ag_news").load(None)
    assert f"127.0.0.1:{port}" in str(err.value) and "--data-dir" in str(err.value)

    # Behind a proxy the direct probe proves nothing: the client, which uses the proxy, decides.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    with pytest.raises(DataError, match="hf_hub_download was called"):  # the client's error, wrapped
        get_task("ag_news").load(None)


def test_data_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("GREENBENCH_DATA_DIR", str(tmp_path))
    assert resolve_data_dir(None) == tmp_path
    with pytest.raises(DataError, match="does not exist"):
        resolve_data_dir(tmp_path / "nope")


def test_subsample_is_seeded_and_ordered():
    items = tuple(Instance(str(k), {"text": str(k)}, k % 2) for k in range(100))
    a, b = subsample(items, 10, seed=3), subsample(items, 10, seed=3)
    assert a == b and len(a) == 10
    assert [int(i.id) for i in a] == sorted(int(i.id) for i in a)
    assert subsample(items, 10, seed=4) != a
    assert subsample(items, None, 0) == items
