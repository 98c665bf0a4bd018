"""Submit-a-model: scaffold -> submit -> validate -> check, and every way validation catches tampering."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.errors import UserError
from benchmark.gate import gate as gate_runs
from benchmark.record import DIGESTED, SCHEMA_VERSION, RunRecord, file_sha256, find_runs, read_run
from benchmark.validate import task_labels, validate_run


def fill_in(folder: Path) -> None:
    """What a submitter does after `new-submission`: replace the template's placeholders."""
    manifest = folder / "submission.yaml"
    manifest.write_text(
        manifest.read_text()
        .replace('"Your Name"', '"Test Author"')
        .replace("One paragraph: what the model is", "Hashed words, nearest centroid; it is")
    )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, data_dir):
    """A fresh entry scaffolded and submitted exactly as SUBMITTING.md says."""
    root = tmp_path_factory.mktemp("entries")
    patch = pytest.MonkeyPatch()
    patch.setenv("GREENBENCH_CACHE", str(root / "cache"))
    profile = Path(__file__).resolve().parent / "fixtures" / "fast-cpu.yaml"
    assert main(["new-submission", "my-entry", "--root", str(root)]) == 0
    folder = root / "my-entry"
    fill_in(folder)
    store = root / "store"
    code = main(
        [
            "submit",
            str(folder),
            "--out",
            str(store),
            "--task",
            "ag_news",
            "--profile",
            str(profile),
            "--data-dir",
            str(data_dir),
            "--limit",
            "60",
            "--train-limit",
            "400",
        ]
    )
    assert code == 0
    (run_dir,) = find_runs(store)
    assert run_dir.relative_to(store).parts[:3] == ("ag_news", "fast-cpu", "my-entry")
    assert not (folder / "results").exists()  # records live in the store, never in the entry's code folder
    yield folder, run_dir
    patch.undo()


def rewrite(run_dir: Path, name: str, text: str, fix_digests: bool) -> None:
    (run_dir / name).write_text(text)
    if fix_digests:  # a careful forger also updates the digests
        digests = {n: file_sha256(run_dir / n) for n in DIGESTED}
        (run_dir / "digests.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "sha256": digests}))


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "copy" / run_dir.name
    shutil.copytree(run_dir, target)
    return target


def test_submitted_bundle_validates(bundle, data_dir, capsys):
    folder, run_dir = bundle
    rec = read_run(run_dir)
    assert rec.status == "complete" and rec.metrics["eval_sets"]["test"]["accuracy"] > 0.4  # beats 0.25 chance
    assert main(["validate", str(run_dir.parents[3]), "--data-dir", str(data_dir)]) == 0
    assert "1 of 1 records valid" in capsys.readouterr().out


@pytest.mark.parametrize("fix_digests", [False, True])
def test_tampered_accuracy_is_caught(bundle, data_dir, tmp_path, fix_digests):
    run_dir = copy_run(bundle[1], tmp_path)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["eval_sets"]["test"]["accuracy"] = 0.99
    rewrite(run_dir, "metrics.json", json.dumps(metrics), fix_digests)
    problems = validate_run(run_dir, data_dir)
    assert any("test.accuracy is 0.99 but the predictions score" in p for p in problems)
    assert any("changed after the run" in p for p in problems) != fix_digests


@pytest.mark.parametrize(
    "edit,expected",
    [
        (lambda rows: rows[1:], "prediction(s) missing"),
        (lambda rows: rows + [{**rows[0], "id": "test-999999"}], "not in the eval set"),
        (lambda rows: rows + [rows[0]], "duplicate prediction"),
        (lambda rows: [{**rows[0], "gold": 0}] + rows[1:], "not a prediction record"),  # no labels in records
        (lambda rows: [{**rows[0], "prediction": 7}] + rows[1:], "outside the labels"),
    ],
)
def test_edited_predictions_are_caught(bundle, data_dir, tmp_path, edit, expected):
    run_dir = copy_run(bundle[1], tmp_path)
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    rewrite(run_dir, "predictions.jsonl", "".join(json.dumps(r) + "\n" for r in edit(rows)), fix_digests=True)
    assert any(expected in p for p in validate_run(run_dir, data_dir))


def test_changed_file_and_code_are_caught(bundle, data_dir, tmp_path):
    folder, run_dir = bundle
    copied = copy_run(run_dir, tmp_path)
    (copied / "run.json").write_text((copied / "run.json").read_text().replace('"seed": 0', '"seed": 0 '))
    assert any("run.json was changed" in p for p in validate_run(copied, data_dir))
    predictor = folder / "predictor.py"
    original = predictor.read_text()
    try:
        predictor.write_text(original + "\n# a change after the run\n")
        assert any("code" in p and "changed since the run" in p for p in validate_run(run_dir, data_dir, folder))
    finally:
        predictor.write_text(original)


def test_validate_exit_codes(bundle, data_dir, tmp_path, capsys):
    run_dir = copy_run(bundle[1], tmp_path)
    (run_dir / "digests.json").unlink()
    assert main(["validate", str(run_dir), "--data-dir", str(data_dir)]) == 1
    assert "digests.json is missing" in capsys.readouterr().out
    assert main(["validate", str(tmp_path / "nothing-here")]) == 2


def variant(rec: RunRecord, **changes) -> RunRecord:
    metrics = copy.deepcopy(rec.metrics)
    for path, value in changes.items():
        block, key = path.split("__")
        metrics[block][key] = value
    return RunRecord(rec.path, rec.run, metrics, copy.deepcopy(rec.predictions))


def test_gate_passes_noise_and_fails_real_regressions(bundle, data_dir):
    base = read_run(bundle[1])
    labels = task_labels(base, data_dir)

    def gate(a, b):  # the gate scores both runs against the task's labels
        return gate_runs(a, b, labels)

    assert gate(base, base)["verdict"] == "pass"

    lat = base.metrics["latency"]
    noisy = variant(base, latency__latency_ms_p50=lat["latency_ms_p50"] * 1.12, latency__latency_median_cv=0.06)
    noisy_base = variant(base, latency__latency_median_cv=0.06)
    report = gate(noisy_base, noisy)  # +12% with 6% spread on each side: within 2 sigma of noise
    assert report["verdict"] == "pass"
    assert "within noise" in next(c for c in report["checks"] if c["name"].startswith("latency"))["reason"]

    flops = base.metrics["flops"]["inference_flops_per_instance_mean"] or 1.0
    doubled = variant(base, flops__inference_flops_per_instance_mean=2 * flops)
    base_flops = variant(base, flops__inference_flops_per_instance_mean=flops)
    assert gate(base_flops, doubled)["verdict"] == "fail"

    slow = variant(base, latency__latency_ms_p50=lat["latency_ms_p50"] * 3, latency__latency_median_cv=0.02)
    assert gate(variant(base, latency__latency_median_cv=0.02), slow)["verdict"] == "fail"


def test_gate_accuracy_is_paired_and_significant(bundle, data_dir):
    base = read_run(bundle[1])
    labels = task_labels(base, data_dir)
    gold = labels["test"]
    rows = base.predictions
    # 3 right answers turn wrong and 2 wrong ones turn right: a net drop of 1 in 60 (1.7 points, over
    # the 1-point allowance) that the paired bootstrap cannot tell from noise.
    worse = copy.deepcopy(rows)
    lost = gained = 0
    for row in worse:
        if row["prediction"] == gold[row["id"]] and lost < 3:
            row["prediction"] = (gold[row["id"]] + 1) % 4
            lost += 1
        elif row["prediction"] != gold[row["id"]] and gained < 2:
            row["prediction"] = gold[row["id"]]
            gained += 1
    assert (lost, gained) == (3, 2)
    small = RunRecord(base.path, base.run, base.metrics, worse)
    check = next(
        c for c in gate_runs(base, small, labels, max_accuracy_drop=1.0)["checks"] if c["name"].startswith("accuracy")
    )
    assert check["verdict"] == "pass" and "not significant" in check["reason"]
    # Break every correct prediction: large and significant.
    broken = [{**r, "prediction": (gold[r["id"]] + 1) % 4} for r in rows]
    assert gate_runs(base, RunRecord(base.path, base.run, base.metrics, broken), labels)["verdict"] == "fail"
    # A prediction for an instance the task does not have is an error, not a silent skip.
    stray = rows + [{"eval_set": "test", "id": "test-999999", "prediction": 0}]
    with pytest.raises(UserError, match="does not have"):
        gate_runs(base, RunRecord(base.path, base.run, base.metrics, stray), labels)


def test_gate_unusable_inputs_exit_2(bundle, data_dir, capsys, tmp_path):
    run_dir = bundle[1]
    other = copy_run(run_dir, tmp_path)
    run = json.loads((other / "run.json").read_text())
    run["task"]["name"] = "winogrande"
    (other / "run.json").write_text(json.dumps(run))
    assert main(["check", "--baseline", str(run_dir), "--candidate", str(other), "--data-dir", str(data_dir)]) == 2
    assert "different tasks" in capsys.readouterr().err
    assert (
        main(["check", "--baseline", str(run_dir), "--candidate", str(run_dir), "--json", "--data-dir", str(data_dir)])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["verdict"] == "pass"


def test_compare_prints_side_by_side(bundle, capsys):
    assert main(["compare", str(bundle[1]), str(bundle[1])]) == 0
    out = capsys.readouterr().out
    assert "Accuracy" in out and "Energy / 1k" in out and "ESTIMATED" in out
    assert "params that differ" not in out  # the same run twice: nothing to tell apart


def test_compare_names_the_params_that_tell_two_runs_of_an_entry_apart(bundle, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(bundle[1], other)
    run = json.loads((other / "run.json").read_text())
    run["submission"]["params"] = {**(run["submission"].get("params") or {}), "threshold": 0.6}
    (other / "run.json").write_text(json.dumps(run))
    assert main(["compare", str(bundle[1]), str(other)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("params that differ"))
    assert "threshold=—" in row and "threshold=0.6" in row


def test_scaffold_refuses_bad_names_and_existing(tmp_path, capsys):
    assert main(["new-submission", "Bad Name", "--root", str(tmp_path)]) == 2
    assert main(["new-submission", "ok-name", "--root", str(tmp_path)]) == 0
    assert main(["new-submission", "ok-name", "--root", str(tmp_path)]) == 2


def test_dry_run_shows_the_submissions_own_error(tmp_path, data_dir, fast_profile, capsys, isolated_cache):
    assert main(["new-submission", "broken", "--root", str(tmp_path)]) == 0
    fill_in(tmp_path / "broken")
    predictor = tmp_path / "broken" / "predictor.py"
    predictor.write_text(
        predictor.read_text().replace(
            "    def predict(self, batch: Sequence[Instance]) -> list[int]:\n",
            "    def predict(self, batch: Sequence[Instance]) -> list[int]:\n        raise ValueError('my model is broken')\n",
        )
    )
    code = main(
        [
            "submit",
            str(tmp_path / "broken"),
            "--task",
            "ag_news",
            "--profile",
            str(fast_profile),
            "--data-dir",
            str(data_dir),
            "--out",
            str(tmp_path / "store"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "the dry run failed" in err and "my model is broken" in err
    assert not (tmp_path / "store").exists()


def test_every_committed_record_validates(data_dir):
    """CI re-validates every record committed to the board's store."""
    from benchmark.validate import validate_paths

    store = Path(__file__).resolve().parent.parent / "leaderboard" / "records"
    report = validate_paths([store], data_dir)
    assert len(report) >= 50
    assert {run: problems for run, problems in report.items() if problems} == {}
