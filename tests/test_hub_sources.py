"""The Hub path of every task, against an offline Hub-layout cache built here from the local files.

Each test writes the files a pinned Hub commit holds (parquet written the way the old loading
scripts wrote their rows, or the original archives) into ``<HF_HUB_CACHE>/datasets--org--name/
snapshots/<commit>/``, the layout ``huggingface_hub`` reads offline, and checks that the loader
gives the same ids, texts and labels as the local loader for the same rows. Nothing is copied
into the repository: the cache lives in ``tmp_path``.
"""

from __future__ import annotations

import csv
import json
import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks import ag_news, get_task, hyperpartisan, winogrande
from tasks.errors import DataError
from tasks.hub import REVISION_ENV
from tasks.winogrande_ids import TABLE, table_text

SCRIPT_ONLY = "1" * 40
CONVERTED = "2" * 40


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(REVISION_ENV, raising=False)
    monkeypatch.delenv("GREENBENCH_DATA_DIR", raising=False)
    return cache


def snapshot(cache: Path, repo_id: str, revision: str) -> Path:
    folder = cache / f"datasets--{repo_id.replace('/', '--')}" / "snapshots" / revision
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_parquet(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


# --- how the old loading scripts turned the original files into rows -------------------------


def ag_news_script_rows(csv_path: Path, limit: int | None = None) -> list[dict]:
    """datasets/ag_news/ag_news.py: label - 1, text = title + " " + description, nothing else."""
    rows = []
    with csv_path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle, quotechar='"', delimiter=",", quoting=csv.QUOTE_ALL, skipinitialspace=True)
        for label, title, description in reader:
            rows.append({"text": " ".join((title, description)), "label": int(label) - 1})
            if limit is not None and len(rows) == limit:
                break
    return rows


def winogrande_script_rows(jsonl: Path) -> list[dict]:
    """datasets/winogrande/winogrande.py: the jsonl rows in order, without qID."""
    keep = ("sentence", "option1", "option2", "answer")
    return [{k: json.loads(line)[k] for k in keep} for line in jsonl.open(encoding="utf-8")]


def wsc_script_rows(xml_path: Path, limit: int = 273) -> list[dict]:
    """datasets/winograd_wsc/winograd_wsc.py, as lighteval/winograd_wsc's parquet holds it."""

    def clean(text: str | None) -> str:
        return " ".join((text or "").split())

    rows = []
    for index, schema in enumerate(ET.parse(xml_path).getroot()):
        if index >= limit:
            break
        text_root = schema.find("text")
        left, right = clean(text_root.findtext("txt1", "")), clean(text_root.findtext("txt2", ""))
        pronoun = clean(text_root.findtext("pron"))
        rows.append(
            {
                "text": " ".join([left, pronoun, right]).strip(),
                "pronoun": pronoun,
                "pronoun_loc": len(left) + 1 if left else 0,
                "options": [clean(a.text) for a in schema.find("answers").findall("answer")],
                "label": int("B" in clean(schema.findtext("correctAnswer"))),
                "source": clean(schema.findtext("source")),
            }
        )
    return rows


def build_winogrande(cache: Path, data_dir: Path, config: str, revision: str, with_script: bool) -> None:
    folder = snapshot(cache, "allenai/winogrande", revision)
    data = data_dir / "winogrande"
    write_parquet(folder / f"winogrande_{config}/train-00000-of-00001.parquet", winogrande_script_rows(data / f"train_{config}.jsonl"))
    write_parquet(folder / f"winogrande_{config}/validation-00000-of-00001.parquet", winogrande_script_rows(data / "dev.jsonl"))
    if with_script:  # the pinned commit still holds it: the loader must not care
        (folder / "winogrande.py").write_text("raise RuntimeError('a loading script must never run')\n")
    wsc = snapshot(cache, "lighteval/winograd_wsc", winogrande.HUB_WSC.revision)
    write_parquet(wsc / "wsc285/test-00000-of-00001.parquet", wsc_script_rows(data_dir / "wsc" / "WSCollection.xml", 285))


# --- the same rows from both sources ---------------------------------------------------------


def test_ag_news_hub_gives_the_local_ids_texts_and_labels(hub_cache, data_dir):
    folder = snapshot(hub_cache, "fancyzhx/ag_news", ag_news.HUB.revision)
    write_parquet(folder / "data/test-00000-of-00001.parquet", ag_news_script_rows(data_dir / "ag_news" / "test.csv"))
    write_parquet(folder / "data/train-00000-of-00001.parquet", ag_news_script_rows(data_dir / "ag_news" / "train.csv", 40))

    local = get_task("ag_news").load(data_dir)
    remote = get_task("ag_news").load(None)

    assert remote.eval_sets == local.eval_sets  # all 7,600 test rows: ids, texts (incl. the \n rows), labels
    assert remote.train == local.train[:40]
    assert any("\\n" in r["text"] for r in ag_news_script_rows(data_dir / "ag_news" / "test.csv"))
    rev = ag_news.HUB.revision
    assert remote.source == f"hub:fancyzhx/ag_news@{rev}" and remote.revisions == {"fancyzhx/ag_news": rev}
    assert set(remote.files) == {f"hub:fancyzhx/ag_news@{rev}/data/{s}-00000-of-00001.parquet" for s in ("train", "test")}
    assert remote.identity()["kind"] == "hub" and local.identity()["kind"] == "local"


def test_winogrande_hub_gives_the_local_ids_texts_and_labels(hub_cache, data_dir):
    build_winogrande(hub_cache, data_dir, "xs", winogrande.HUB.revision, with_script=True)

    local = get_task("winogrande").load(data_dir, "xs")
    remote = get_task("winogrande").load(None, "xs")

    assert remote.train == local.train and local.train[0].id == "train_xs-0"
    (local_dev, local_wsc), (hub_dev, hub_wsc) = local.eval_sets, remote.eval_sets
    assert hub_dev == local_dev and hub_dev.instances[0].id == "3FCO4VKOZ4BJQ6IFC0VAIBK4KTWE7U-2"  # qID from both
    assert hub_wsc == local_wsc and len(hub_wsc.instances) == 273
    assert remote.revisions == {
        "allenai/winogrande": winogrande.HUB.revision,
        "lighteval/winograd_wsc": winogrande.HUB_WSC.revision,
    }


def test_hyperpartisan_hub_gives_the_local_ids_texts_labels_and_split(hub_cache, data_dir):
    folder = snapshot(hub_cache, hyperpartisan.HUB.repo_id, hyperpartisan.HUB.revision) / "data"
    folder.mkdir()
    for name in ("articles-training-byarticle-20181122.zip", "ground-truth-training-byarticle-20181122.zip"):
        shutil.copy(data_dir / "hyperpartisan" / name, folder / name)
    (folder.parent / "hyperpartisan_news_detection.py").write_text("raise RuntimeError('never run')\n")

    local = get_task("hyperpartisan").load(data_dir)
    remote = get_task("hyperpartisan").load(None)

    assert (remote.train, remote.dev, remote.eval_sets) == (local.train, local.dev, local.eval_sets)
    assert remote.eval_sets[0].instances[0].id.startswith("hp-0")
    assert remote.source == f"hub:{hyperpartisan.HUB.repo_id}@{hyperpartisan.HUB.revision}"


# --- scripts, conversions, overrides -----------------------------------------------------------


def test_a_commit_holding_only_a_loading_script_fails_with_one_line_naming_the_fix(hub_cache, data_dir, monkeypatch):
    folder = snapshot(hub_cache, "allenai/winogrande", SCRIPT_ONLY)
    (folder / "winogrande.py").write_text("raise RuntimeError('a loading script must never run')\n")
    build_winogrande(hub_cache, data_dir, "xs", winogrande.HUB.revision, with_script=False)  # the default is fine
    monkeypatch.setenv(REVISION_ENV, f"allenai/winogrande={SCRIPT_ONLY}")

    with pytest.raises(DataError) as err:
        get_task("winogrande").load(None, "xs")
    message = str(err.value)
    assert "\n" not in message and "RuntimeError" not in message
    assert "loading script winogrande.py" in message and "refs/convert/parquet" in message
    assert REVISION_ENV in message and "--data-dir" in message


def test_a_refs_convert_parquet_commit_is_read_in_its_own_layout(hub_cache, data_dir, monkeypatch):
    folder = snapshot(hub_cache, "fancyzhx/ag_news", CONVERTED)
    rows = ag_news_script_rows(data_dir / "ag_news" / "test.csv", 30)
    write_parquet(folder / "default/test/0000.parquet", rows)
    write_parquet(folder / "default/train/0000.parquet", rows[:10])
    monkeypatch.setenv(REVISION_ENV, f"fancyzhx/ag_news={CONVERTED}")

    remote = get_task("ag_news").load(None)

    assert remote.eval_sets[0].instances == get_task("ag_news").load(data_dir).eval_sets[0].instances[:30]
    assert remote.revisions == {"fancyzhx/ag_news": CONVERTED}
    assert f"hub:fancyzhx/ag_news@{CONVERTED}/default/test/0000.parquet" in remote.files


def test_wsc273_from_a_wsc273_only_conversion_equals_the_first_273_of_wsc285(hub_cache, data_dir, monkeypatch):
    build_winogrande(hub_cache, data_dir, "xs", winogrande.HUB.revision, with_script=False)
    default = get_task("winogrande").load(None, "xs").eval_sets[1]
    rows = wsc_script_rows(data_dir / "wsc" / "WSCollection.xml", 273)
    write_parquet(snapshot(hub_cache, "lighteval/winograd_wsc", CONVERTED) / "wsc273/test/0000.parquet", rows)
    monkeypatch.setenv(REVISION_ENV, f"lighteval/winograd_wsc={CONVERTED}")
    assert get_task("winogrande").load(None, "xs").eval_sets[1] == default
    write_parquet(snapshot(hub_cache, "lighteval/winograd_wsc", CONVERTED) / "wsc273/test/0000.parquet", rows[:200])
    with pytest.raises(DataError, match="has 200 WSC rows, neither 273"):
        get_task("winogrande").load(None, "xs")


@pytest.mark.parametrize("value", ["fancyzhx/ag_news=main", "fancyzhx/ag_news", "ag_news=" + "a" * 40, "fancyzhx/ag_news=abc"])
def test_a_revision_override_must_be_a_full_commit(hub_cache, monkeypatch, value):
    monkeypatch.setenv(REVISION_ENV, value)
    with pytest.raises(DataError, match="40-character commit hash"):
        get_task("ag_news").load(None)


def test_files_missing_from_the_cache_give_one_line(hub_cache):
    with pytest.raises(DataError) as err:
        get_task("hyperpartisan").load(None)
    assert "\n" not in str(err.value) and "--data-dir" in str(err.value)
    assert hyperpartisan.HUB.revision in str(err.value)


def test_the_cache_folder_is_the_one_the_environment_names_now(hub_cache, data_dir, tmp_path, monkeypatch):
    """huggingface_hub reads HF_HUB_CACHE once, at import; the loader must not keep an old folder."""
    folder = snapshot(hub_cache, "fancyzhx/ag_news", ag_news.HUB.revision)
    rows = ag_news_script_rows(data_dir / "ag_news" / "test.csv", 5)
    write_parquet(folder / "data/test-00000-of-00001.parquet", rows)
    write_parquet(folder / "data/train-00000-of-00001.parquet", rows)
    assert len(get_task("ag_news").load(None).train) == 5
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    with pytest.raises(DataError, match="could not read data/train"):
        get_task("ag_news").load(None)


# --- hostile Hub files -------------------------------------------------------------------------


def test_a_file_that_is_not_parquet_gives_one_line(hub_cache):
    folder = snapshot(hub_cache, "fancyzhx/ag_news", ag_news.HUB.revision) / "data"
    folder.mkdir()
    (folder / "train-00000-of-00001.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match="not a readable parquet file") as err:
        get_task("ag_news").load(None)
    assert "\n" not in str(err.value)


def test_a_parquet_file_without_the_expected_columns_is_refused(hub_cache):
    folder = snapshot(hub_cache, "fancyzhx/ag_news", ag_news.HUB.revision)
    write_parquet(folder / "data/train-00000-of-00001.parquet", [{"sentence": "x", "label": 0}])
    with pytest.raises(DataError, match="lacks column\\(s\\) text"):
        get_task("ag_news").load(None)


def test_a_label_out_of_range_is_refused(hub_cache):
    folder = snapshot(hub_cache, "fancyzhx/ag_news", ag_news.HUB.revision)
    write_parquet(folder / "data/train-00000-of-00001.parquet", [{"text": "x", "label": 7}])
    with pytest.raises(DataError, match="row 0: expected a text and a label 0-3"):
        get_task("ag_news").load(None)


def test_an_edited_winogrande_dev_row_is_refused_not_renamed(hub_cache, data_dir):
    build_winogrande(hub_cache, data_dir, "xs", winogrande.HUB.revision, with_script=False)
    path = snapshot(hub_cache, "allenai/winogrande", winogrande.HUB.revision) / "winogrande_xs/validation-00000-of-00001.parquet"
    rows = pq.read_table(path).to_pylist()
    rows[5]["answer"] = "1" if rows[5]["answer"] == "2" else "2"  # a flipped label
    write_parquet(path, rows)
    with pytest.raises(DataError, match="validation row 5 is not WinoGrande dev problem"):
        get_task("winogrande").load(None, "xs")
    write_parquet(path, rows[1:])  # a dropped row
    with pytest.raises(DataError, match="has 1266 rows, WinoGrande dev has 1267"):
        get_task("winogrande").load(None, "xs")


@pytest.mark.parametrize(
    "edit",
    [{"label": 2}, {"label": -1}, {"pronoun_loc": 3}, {"pronoun": None}, {"options": None}],
    ids=["label-2", "label-minus-1", "pronoun-moved", "pronoun-null", "options-null"],
)
def test_a_hostile_wsc_row_is_refused_with_its_row_number(hub_cache, data_dir, edit):
    build_winogrande(hub_cache, data_dir, "xs", winogrande.HUB.revision, with_script=False)
    path = snapshot(hub_cache, "lighteval/winograd_wsc", winogrande.HUB_WSC.revision) / "wsc285/test-00000-of-00001.parquet"
    rows = pq.read_table(path).to_pylist()
    rows[7].update(edit)
    write_parquet(path, rows)
    with pytest.raises(DataError, match="wsc273 row 7 is not a valid record") as err:
        get_task("winogrande").load(None, "xs")
    assert "\n" not in str(err.value)


def test_a_null_in_a_winogrande_dev_row_is_refused(hub_cache, data_dir):
    build_winogrande(hub_cache, data_dir, "xs", winogrande.HUB.revision, with_script=False)
    path = snapshot(hub_cache, "allenai/winogrande", winogrande.HUB.revision) / "winogrande_xs/validation-00000-of-00001.parquet"
    rows = pq.read_table(path).to_pylist()
    rows[0]["sentence"] = None
    write_parquet(path, rows)
    with pytest.raises(DataError, match="validation row 0 is not WinoGrande dev problem"):
        get_task("winogrande").load(None, "xs")


def test_an_edited_hyperpartisan_archive_is_refused(hub_cache, data_dir):
    folder = snapshot(hub_cache, hyperpartisan.HUB.repo_id, hyperpartisan.HUB.revision) / "data"
    folder.mkdir()
    xml = (data_dir / "hyperpartisan" / hyperpartisan.ARTICLES.relpath).read_bytes()
    with zipfile.ZipFile(folder / "articles-training-byarticle-20181122.zip", "w") as archive:
        archive.writestr(hyperpartisan.ARTICLES.relpath, xml.replace(b"Kucinich", b"Someone", 1))
    with pytest.raises(DataError, match="does not match its known sha256") as err:
        get_task("hyperpartisan").load(None)
    assert "\n" not in str(err.value)
    (folder / "articles-training-byarticle-20181122.zip").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="is not the Zenodo archive"):
        get_task("hyperpartisan").load(None)


# --- identity and the id table -----------------------------------------------------------------


def test_the_committed_dev_id_table_is_the_one_the_pinned_dev_file_gives(data_dir):
    assert TABLE.read_text(encoding="utf-8") == table_text(data_dir / "winogrande" / "dev.jsonl")


def test_the_data_identity_names_files_not_folders(data_dir, tmp_path):
    copy = tmp_path / "elsewhere"
    (copy / "hyperpartisan").mkdir(parents=True)
    for f in (hyperpartisan.ARTICLES, hyperpartisan.LABELS):
        shutil.copy(data_dir / "hyperpartisan" / f.relpath, copy / "hyperpartisan" / f.relpath)
    here, there = get_task("hyperpartisan").load(data_dir), get_task("hyperpartisan").load(copy)
    assert here.source != there.source and here.identity() == there.identity()
    assert here.identity() == {"kind": "local", "revisions": {}, "files": dict(sorted(here.files.items()))}
