"""The bad-input catalogue: every malformed input gives one clear line, exit code 2, and no result.

Each case goes through the real CLI (`benchmark.cli.main`). The record of what was tried is the
parametrisation itself: `pytest tests/test_bad_input.py -q` counts the cases.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.errors import DataError
from benchmark.predictor import PredictionError, validate_predictions
from benchmark.record import SCHEMA_VERSION, find_runs
from tasks.ag_news import _read_csv
from tasks.hyperpartisan import read_articles
from tasks.winogrande import _read_jsonl, read_wsc

REPO = Path(__file__).resolve().parent.parent
MAJORITY = REPO / "submissions" / "majority-class"
GOOD_MANIFEST = (MAJORITY / "submission.yaml").read_text()


def assert_clean_failure(code: int, err: str, out_dir: Path, expected: str) -> None:
    lines = [line for line in err.strip().splitlines() if not line.startswith("[greenbench]")]
    assert code == 2, err
    assert len(lines) == 1, lines  # one line, no traceback
    assert expected in lines[0], lines[0]
    assert find_runs(out_dir) == [] if out_dir.exists() else True
    assert not any(p.name == "run.json" for p in out_dir.rglob("*")) if out_dir.exists() else True


# --- manifests ---------------------------------------------------------------------------------
MANIFEST_CASES = {
    "missing name": (GOOD_MANIFEST.replace("name: majority-class\n", ""), "name: required key is missing"),
    "missing version": (GOOD_MANIFEST.replace('version: "1.0"\n', ""), "version: required key is missing"),
    "missing tasks": (GOOD_MANIFEST.replace("tasks: [ag_news, winogrande, hyperpartisan]\n", ""), "tasks: required"),
    "wrong type authors": (GOOD_MANIFEST.replace('authors: ["greenbench maintainers"]', "authors: 7"), "authors"),
    "wrong type tasks": (
        GOOD_MANIFEST.replace("tasks: [ag_news, winogrande, hyperpartisan]", "tasks: ag_news"),
        "tasks",
    ),
    "unknown kind": (GOOD_MANIFEST.replace("kind: python", "kind: docker"), "kind"),
    "unknown key": (GOOD_MANIFEST + "gpu: true\n", "gpu: unknown key"),
    "entry point missing module": (
        GOOD_MANIFEST.replace("predictor:MajorityClass", "nowhere:MajorityClass"),
        "no nowhere.py",
    ),
    "entry point missing class": (
        GOOD_MANIFEST.replace("predictor:MajorityClass", "predictor:Nope"),
        "defines no class Nope",
    ),
    "entry point malformed": (GOOD_MANIFEST.replace("predictor:MajorityClass", "predictor"), "entry_point"),
    "params not accepted": (GOOD_MANIFEST + "params: {depth: 3}\n", "params do not fit"),
    "javascript url": (GOOD_MANIFEST + "url: javascript:alert(1)\n", "http(s) link"),
    "yaml syntax": ("name: [oops\n", "not valid YAML"),
    "yaml list": ("- just\n- a list\n", "must be a YAML mapping"),
    "empty file": ("", "must be a YAML mapping"),
    "task not listed": (
        GOOD_MANIFEST.replace("tasks: [ag_news, winogrande, hyperpartisan]", "tasks: [winogrande]"),
        "does not list task ag_news",
    ),
}


@pytest.mark.parametrize("case", sorted(MANIFEST_CASES))
def test_bad_manifest(case, tmp_path, data_dir, capsys):
    text, expected = MANIFEST_CASES[case]
    folder = tmp_path / "entry"
    shutil.copytree(MAJORITY, folder, ignore=shutil.ignore_patterns("results"))
    (folder / "submission.yaml").write_text(text)
    out = tmp_path / "runs"
    code = main(
        [
            "run",
            "--task",
            "ag_news",
            "--submission",
            str(folder),
            "--data-dir",
            str(data_dir),
            "--out",
            str(out),
            "--limit",
            "5",
            "--no-costs",
        ]
    )
    assert_clean_failure(code, capsys.readouterr().err, out, expected)


@pytest.mark.parametrize(
    "case,content,expected",
    [
        ("huge manifest", b"name: x\n#" + b"x" * 70_000, "byte limit"),
        ("binary manifest", b"\x00\xff\xfe\x89PNG", "not UTF-8"),
    ],
)
def test_huge_or_binary_manifest(case, content, expected, tmp_path, data_dir, capsys):
    folder = tmp_path / "entry"
    folder.mkdir()
    (folder / "submission.yaml").write_bytes(content)
    code = main(
        [
            "run",
            "--task",
            "ag_news",
            "--submission",
            str(folder),
            "--data-dir",
            str(data_dir),
            "--out",
            str(tmp_path / "runs"),
        ]
    )
    assert_clean_failure(code, capsys.readouterr().err, tmp_path / "runs", expected)


def test_entry_point_without_protocol(tmp_path, data_dir, capsys):
    folder = tmp_path / "entry"
    shutil.copytree(MAJORITY, folder, ignore=shutil.ignore_patterns("results"))
    (folder / "predictor.py").write_text("class MajorityClass:\n    def load(self, ctx):\n        pass\n")
    code = main(
        [
            "run",
            "--task",
            "ag_news",
            "--submission",
            str(folder),
            "--data-dir",
            str(data_dir),
            "--out",
            str(tmp_path / "runs"),
        ]
    )
    assert_clean_failure(code, capsys.readouterr().err, tmp_path / "runs", "lacks predict")


def test_missing_submission_folder(tmp_path, data_dir, capsys):
    code = main(["run", "--task", "ag_news", "--submission", str(tmp_path / "nope"), "--data-dir", str(data_dir)])
    assert_clean_failure(code, capsys.readouterr().err, tmp_path / "runs", "does not exist")


# --- predictions returned by a predictor --------------------------------------------------------
@pytest.mark.parametrize(
    "raw,expected",
    [
        ([0, 1], "returned 2 predictions for a batch of 3"),
        ([0, 1, 2, 3], "returned 4 predictions for a batch of 3"),
        (None, "not a sequence"),
        (["a", "b", "c"], "not an integer label"),
        ([0.0, 1.0, 2.0], "not an integer label"),
        ([0, 1, math.nan], "not an integer label"),
        ([True, False, True], "not an integer label"),
        ([0, 1, 4], "outside the task's labels 0..3"),
        ([0, -1, 2], "outside the task's labels 0..3"),
    ],
)
def test_bad_predictions(raw, expected):
    with pytest.raises(PredictionError) as err:
        validate_predictions(raw, 3, 4, "predict test")
    assert expected in str(err.value) and err.value.exit_code == 2


# --- data -----------------------------------------------------------------------------------------
def data_copy(tmp_path: Path, data_dir: Path, task_folders: list[str]) -> Path:
    root = tmp_path / "data"
    for folder in task_folders:
        shutil.copytree(data_dir / folder, root / folder)
        for path in (root / folder).iterdir():
            path.chmod(0o644)
    return root


DATA_CASES = {
    "ag_news missing test.csv": (
        "ag_news",
        ["ag_news"],
        lambda r: (r / "ag_news/test.csv").unlink(),
        "missing data file test.csv",
    ),
    "ag_news truncated csv": (
        "ag_news",
        ["ag_news"],
        lambda r: (r / "ag_news/test.csv").write_bytes((r / "ag_news/test.csv").read_bytes()[:-500]),
        "does not match its known sha256",
    ),
    "ag_news wrong encoding": (
        "ag_news",
        ["ag_news"],
        lambda r: (r / "ag_news/test.csv").write_bytes((r / "ag_news/test.csv").read_text().encode("utf-16")),
        "does not match its known sha256",
    ),
    "winogrande missing dev": (
        "winogrande",
        ["winogrande", "wsc"],
        lambda r: (r / "winogrande/dev.jsonl").unlink(),
        "missing data file dev.jsonl",
    ),
    "winogrande truncated jsonl": (
        "winogrande",
        ["winogrande", "wsc"],
        lambda r: (r / "winogrande/dev.jsonl").write_text((r / "winogrande/dev.jsonl").read_text()[:-50]),
        "does not match its known sha256",
    ),
    "wsc missing": ("winogrande", ["winogrande"], lambda r: None, "missing data file WSCollection.xml"),
    "wsc truncated xml": (
        "winogrande",
        ["winogrande", "wsc"],
        lambda r: (r / "wsc/WSCollection.xml").write_bytes((r / "wsc/WSCollection.xml").read_bytes()[:5000]),
        "does not match its known sha256",
    ),
    "hyperpartisan truncated xml": (
        "hyperpartisan",
        ["hyperpartisan"],
        lambda r: (r / "hyperpartisan/articles-training-byarticle-20181122.xml").write_text("<articles><article"),
        "does not match its known sha256",
    ),
    "hyperpartisan missing labels": (
        "hyperpartisan",
        ["hyperpartisan"],
        lambda r: (r / "hyperpartisan/ground-truth-training-byarticle-20181122.xml").unlink(),
        "missing data file ground-truth",
    ),
    "data dir does not exist": ("ag_news", [], lambda r: shutil.rmtree(r, ignore_errors=True), "does not exist"),
}


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_bad_data(case, tmp_path, data_dir, capsys):
    task, folders, damage, expected = DATA_CASES[case]
    root = data_copy(tmp_path, data_dir, folders)
    damage(root)
    out = tmp_path / "runs"
    code = main(
        [
            "run",
            "--task",
            task,
            "--submission",
            str(MAJORITY),
            "--data-dir",
            str(root),
            "--out",
            str(out),
            "--train-config",
            "xs",
        ]
        if task == "winogrande"
        else ["run", "--task", task, "--submission", str(MAJORITY), "--data-dir", str(root), "--out", str(out)]
    )
    assert_clean_failure(code, capsys.readouterr().err, out, expected)


# The parsers themselves, past the checksum (a file whose checksum is not pinned, e.g. a new copy).
@pytest.mark.parametrize(
    "reader,content,expected",
    [
        (lambda p: _read_csv(p, "test"), '"1","title only"\n', "expected 3 fields"),
        (lambda p: _read_csv(p, "test"), '"9","t","d"\n', "expected 3 fields"),
        (lambda p: _read_csv(p, "test"), b'"1","t\xff\xfe","d"\n', "not a readable AG News CSV"),
        (lambda p: _read_jsonl(p, "dev", by_qid=True), '{"sentence": "a _", "option1": "x"', "not a WinoGrande record"),
        (
            lambda p: _read_jsonl(p, "dev", by_qid=True),
            '{"sentence": "a _", "option1": "x", "option2": "y", "answer": "3"}\n',
            "not a WinoGrande record",
        ),
        (lambda p: read_wsc(p), "<collection><schema><text>", "not well-formed XML"),
        (lambda p: read_wsc(p), "<collection></collection>", "fewer than 273"),
        (lambda p: read_articles(p, p), "<articles><article id='1'>", "not well-formed"),
    ],
)
def test_parsers_reject_malformed_files(reader, content, expected, tmp_path):
    path = tmp_path / "file"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataError, match=expected):
        reader(path)


# --- run records ---------------------------------------------------------------------------------
RECORD_CASES = {
    "truncated run.json": (lambda d: (d / "run.json").write_text('{"schema_version": 1, "sta'), "not valid JSON"),
    "wrong schema version": (
        lambda d: (d / "run.json").write_text(json.dumps({"schema_version": 7})),
        "schema_version 7",
    ),
    "run.json not an object": (lambda d: (d / "run.json").write_text("[1, 2]"), "schema_version None"),
    "metrics.json missing": (lambda d: (d / "metrics.json").unlink(), "metrics.json is missing"),
    "metrics.json truncated": (lambda d: (d / "metrics.json").write_text("{"), "not valid JSON"),
    "run.json wrong schema": (
        lambda d: (d / "run.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "status": "complete"})),
        "does not follow the run schema",
    ),
    "not a run folder": (lambda d: shutil.rmtree(d), "is not a run folder"),
}


@pytest.fixture(scope="module")
def good_run(tmp_path_factory, data_dir) -> Path:
    out = tmp_path_factory.mktemp("good")
    profile = Path(__file__).resolve().parent / "fixtures" / "fast-cpu.yaml"
    assert (
        main(
            [
                "run",
                "--task",
                "ag_news",
                "--submission",
                str(MAJORITY),
                "--profile",
                str(profile),
                "--data-dir",
                str(data_dir),
                "--limit",
                "10",
                "--out",
                str(out),
                "--no-costs",
                "--sandbox",
                "none",
            ]
        )
        == 0
    )
    return find_runs(out)[0]


@pytest.mark.parametrize("case", sorted(RECORD_CASES))
def test_bad_record(case, good_run, tmp_path, capsys):
    damage, expected = RECORD_CASES[case]
    run_dir = tmp_path / "run"
    shutil.copytree(good_run, run_dir)
    damage(run_dir)
    code = main(["show", str(run_dir)])
    assert_clean_failure(code, capsys.readouterr().err, tmp_path / "none", expected)


# --- CLI arguments -------------------------------------------------------------------------------
CLI_CASES = {
    "unknown task": (["--task", "imdb"], "unknown task 'imdb'"),
    "unknown profile": (["--task", "ag_news", "--profile", "tpu-v5"], "unknown profile 'tpu-v5'"),
    "negative limit": (["--task", "ag_news", "--limit", "-5"], "must be a positive number"),
    "zero train limit": (["--task", "ag_news", "--train-limit", "0"], "must be a positive number"),
    "non-numeric limit": (["--task", "ag_news", "--limit", "ten"], "is not a whole number"),
    "negative timeout": (["--task", "ag_news", "--timeout", "-1"], "--timeout must be a positive"),
    "negative memory": (["--task", "ag_news", "--memory-gb", "-2"], "--memory-gb must be a positive"),
    "pue below one": (["--task", "ag_news", "--pue", "0.8"], "--pue must be >= 1.0"),
    "unknown region": (["--task", "ag_news", "--region", "Narnia"], "unknown region 'Narnia'"),
    "unknown sandbox": (["--task", "ag_news", "--sandbox", "vm"], "invalid choice"),
    "bad train config": (["--task", "winogrande", "--train-config", "xxl"], "has no train config 'xxl'"),
    "train config on task without": (["--task", "hyperpartisan", "--train-config", "s"], "has no train config"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_bad_cli_arguments(case, tmp_path, data_dir, capsys):
    args, expected = CLI_CASES[case]
    out = tmp_path / "runs"
    try:
        code = main(["run", "--submission", str(MAJORITY), "--data-dir", str(data_dir), "--out", str(out), *args])
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code)
    assert_clean_failure(code, capsys.readouterr().err, out, expected)
