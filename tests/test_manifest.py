from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.errors import ManifestError
from benchmark.loading import load_predictor
from benchmark.manifest import load_manifest

VALID = """\
name: demo
version: "1.0"
authors: [A. Person]
description: a demo entry
licence: MIT
tasks: [ag_news]
kind: python
entry_point: predictor:Demo
"""

PREDICTOR = """\
class Demo:
    def __init__(self, k=1):
        self.k = k
    def load(self, ctx):
        pass
    def predict(self, batch):
        return [0] * len(batch)
"""


def make(tmp_path: Path, manifest: str, code: str | None = PREDICTOR) -> Path:
    folder = tmp_path / "sub"
    folder.mkdir(exist_ok=True)
    (folder / "submission.yaml").write_text(manifest)
    if code is not None:
        (folder / "predictor.py").write_text(code)
    return folder


def test_valid_manifest_and_entry_point(tmp_path):
    folder = make(tmp_path, VALID + "params: {k: 3}\n")
    manifest = load_manifest(folder)
    assert manifest.name == "demo" and manifest.params == {"k": 3}
    predictor = load_predictor(manifest, folder)
    assert predictor.k == 3


@pytest.mark.parametrize(
    "edit,expected",
    [
        (lambda m: m + "colour: blue\n", "colour: unknown key"),
        (lambda m: m.replace("licence: MIT\n", ""), "licence: required key is missing"),
        (lambda m: m.replace('version: "1.0"', "version: 1.0"), "version"),
        (lambda m: m.replace("kind: python", "kind: docker"), "kind"),
        (lambda m: m.replace("name: demo", "name: Demo Entry!"), "name"),
        (lambda m: m.replace("entry_point: predictor:Demo", "entry_point: not an entry"), "entry_point"),
        (lambda m: m.replace("entry_point: predictor:Demo\n", ""), "needs 'entry_point'"),
        (lambda m: m.replace("kind: python", "kind: hf"), "needs 'model'"),
        (lambda m: m + "url: javascript:alert(1)\n", "http(s) link"),
        (lambda m: m.replace("tasks: [ag_news]", "tasks: []"), "tasks"),
        (lambda m: "name: [unclosed\n", "not valid YAML"),
        (lambda m: "- a\n- list\n", "must be a YAML mapping"),
    ],
)
def test_manifest_errors_are_one_clear_line(tmp_path, edit, expected):
    folder = make(tmp_path, edit(VALID))
    with pytest.raises(ManifestError) as err:
        load_manifest(folder)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_every_problem_is_listed_at_once(tmp_path):
    folder = make(tmp_path, "name: demo\nkind: python\ncolour: red\n")
    message = str(pytest.raises(ManifestError, load_manifest, folder).value)
    for key in ("version", "authors", "description", "licence", "tasks", "colour"):
        assert key in message


def test_missing_folder_and_manifest(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifest(tmp_path / "nope")
    with pytest.raises(ManifestError, match="no submission.yaml"):
        load_manifest(tmp_path)


def test_huge_and_binary_manifests(tmp_path):
    folder = make(tmp_path, VALID + "# " + "x" * 70000 + "\n")
    with pytest.raises(ManifestError, match="byte limit"):
        load_manifest(folder)
    (folder / "submission.yaml").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ManifestError, match="not UTF-8"):
        load_manifest(folder)


@pytest.mark.parametrize(
    "code,entry,expected",
    [
        (None, "predictor:Demo", "no predictor.py"),
        (PREDICTOR, "predictor:Missing", "defines no class Missing"),
        ("class Demo:\n    def load(self, ctx): pass\n", "predictor:Demo", "lacks predict"),
        ("raise RuntimeError('boom')\n", "predictor:Demo", "RuntimeError: boom"),
        (PREDICTOR, "predictor:Demo\nparams: {nope: 1}", "params do not fit"),
    ],
)
def test_entry_point_errors(tmp_path, code, entry, expected):
    folder = make(tmp_path, VALID.replace("predictor:Demo", entry), code)
    with pytest.raises(ManifestError, match=expected):
        load_predictor(load_manifest(folder), folder)


def test_shipped_manifests_are_valid():
    root = Path(__file__).resolve().parent.parent / "submissions"
    folders = [p.parent for p in root.glob("*/submission.yaml")]
    assert {f.name for f in folders} >= {"majority-class", "minilm-linear-probe"}
    for folder in folders:
        assert load_manifest(folder).name == folder.name
