"""Issue 12's regression tests: one job has one identity, and the harness (not the entry) owns
the weight cache. Each test failed on the code before the JobSpec / weight-cache change."""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from benchmark.prepare import prepare
from benchmark.record import read_run
from benchmark.runner import run_job
from benchmark.spec import JobRequest, RunOptions
from tasks.base import TaskData, TaskInfo

REPO = Path(__file__).resolve().parent.parent
MAJORITY = REPO / "submissions" / "majority-class"


def request(data_dir: Path, fast_profile: Path, **kw) -> JobRequest:
    base = dict(task="ag_news", submission=MAJORITY, profile=str(fast_profile), data_dir=data_dir, limit=20)
    return JobRequest(**{**base, **kw})


def test_train_config_default_and_explicit_are_one_job(data_dir, fast_profile, tmp_path):
    """Bug 1: `--train-config xl` (WinoGrande's default) and no flag were two record folders."""
    options = RunOptions(out=tmp_path)
    implicit = prepare(request(data_dir, fast_profile, task="winogrande"), options)
    explicit = prepare(request(data_dir, fast_profile, task="winogrande", train_config="xl"), options)
    other = prepare(request(data_dir, fast_profile, task="winogrande", train_config="s"), options)
    assert implicit.spec.train_config == "xl"
    assert implicit.key == explicit.key and implicit.record_dir == explicit.record_dir
    assert other.key != implicit.key


def _data(source: str, files: dict[str, str], revisions: dict[str, str] | None = None) -> TaskData:
    info = TaskInfo("ag_news", "classification", ("text",), ("a", "b"))
    return TaskData(info, (), (), source, files, (), revisions or {})


def test_data_source_is_part_of_the_job(data_dir, fast_profile, tmp_path):
    """Bug 2: the local 32,087-row AG News train file and the Hub's 120,000 rows shared a key."""
    from benchmark.prepare import data_identity

    job = prepare(request(data_dir, fast_profile), RunOptions(out=tmp_path))
    assert job.spec.data == data_identity(job.data)
    assert job.spec.data["files"], "the pinned files read are in the identity"
    assert str(data_dir) not in json.dumps(job.spec.data), "the local folder's path is not"
    local = data_identity(_data("local:/a", {"ag_news/train.csv": "1" * 64}))
    elsewhere = data_identity(_data("local:/b", {"ag_news/train.csv": "1" * 64}))
    hub = data_identity(_data("hub:fancyzhx/ag_news@" + "2" * 40, {}, {"fancyzhx/ag_news": "2" * 40}))
    hub_later = data_identity(_data("hub:fancyzhx/ag_news@" + "3" * 40, {}, {"fancyzhx/ag_news": "3" * 40}))
    assert local == elsewhere
    keys = {replace(job.spec, data=d).key() for d in (local, hub, hub_later)}
    assert len(keys) == 3


def test_isolation_level_is_part_of_the_job(data_dir, fast_profile, tmp_path):
    """Bug 3: `--sandbox none` and a sandboxed run timed different things under one key."""
    options = RunOptions(out=tmp_path)
    inproc = prepare(request(data_dir, fast_profile, sandbox="none"), options)
    child = prepare(request(data_dir, fast_profile, sandbox="process"), options)
    assert inproc.spec.isolation == "none" and child.spec.isolation == "process"
    assert inproc.key != child.key


def test_options_that_cannot_change_a_figure_are_not_in_the_key(data_dir, fast_profile, tmp_path):
    a = prepare(request(data_dir, fast_profile), RunOptions(out=tmp_path / "a", force=True, timeout_s=5))
    b = prepare(request(data_dir, fast_profile), RunOptions(out=tmp_path / "b", memory_gb=2, quiet=True))
    assert a.key == b.key
    assert a.record_dir.relative_to(tmp_path / "a") == b.record_dir.relative_to(tmp_path / "b")
    assert a.record_dir.relative_to(tmp_path / "a").parts[:3] == ("ag_news", "fast-cpu", "majority-class")


TRAINER = textwrap.dedent(
    '''
    from pathlib import Path

    FITS = 0  # fits this process has run, across predictor objects


    class Trainer:
        """Trains by writing a file; claims a cache hit it never had."""

        def __init__(self, label: int = 0, threshold: float = 0.5) -> None:
            self.label = label

        def load(self, ctx):
            self.ctx = ctx

        def fit(self, train, dev):
            global FITS
            FITS += 1
            self.fits = getattr(self, "fits", 0) + 1
            (Path(self.ctx.weights_dir) / "w.txt").write_text(str(self.label))

        def restore(self):
            self.label = int((Path(self.ctx.weights_dir) / "w.txt").read_text())
            self.restored = True

        def predict(self, batch):
            return [self.label] * len(batch)

        def diagnostics(self):
            return {
                "trained_from_cache": True,
                "restored": getattr(self, "restored", False),
                "fits_on_this_object": getattr(self, "fits", 0),
                "fits_in_this_process": FITS,
            }
    '''
)


@pytest.fixture
def trainer(tmp_path) -> Path:
    folder = tmp_path / "trainer"
    folder.mkdir()
    (folder / "predictor.py").write_text(TRAINER)
    (folder / "submission.yaml").write_text(
        "name: trainer\nversion: '1'\nauthors: [t]\ndescription: d\nlicence: MIT\ntasks: [ag_news]\n"
        "kind: python\nentry_point: predictor:Trainer\nparams: {label: 1, threshold: 0.5}\n"
        "eval_params: [threshold]\n"
    )
    return folder


def _run(folder: Path, data_dir: Path, fast_profile: Path, store: Path, **kw) -> Path:
    kw = {"sandbox": "none", **kw}
    req = request(data_dir, fast_profile, submission=folder, train_limit=30, measure_costs=False, **kw)
    result = run_job(req, RunOptions(out=store, quiet=True))
    assert result.status == "complete", result.message
    assert result.run_dir is not None
    return result.run_dir


def test_the_harness_decides_from_cache_and_charges_shared_training(trainer, data_dir, fast_profile, tmp_path, isolated_cache):
    """Bug 5: an entry claiming `trained_from_cache` hid its training cost; now the harness decides."""
    store = tmp_path / "store"
    first = read_run(_run(trainer, data_dir, fast_profile, store), with_predictions=False)
    assert first.metrics["training"]["from_cache"] is False  # the entry's own claim is ignored
    assert first.metrics["diagnostics"]["restored"] is False
    # An evaluation-only param (declared in eval_params) reuses the same trained weights.
    second = read_run(
        _run(trainer, data_dir, fast_profile, store, params=(("threshold", 0.9),)), with_predictions=False
    )
    training = second.metrics["training"]
    assert training["from_cache"] is True and training["shared_from"] == first.run["job_key"]
    assert training["wall_s"] == first.metrics["training"]["wall_s"]  # the price tag of the run that paid
    assert second.metrics["diagnostics"]["restored"] is True
    # A training param is a different training: a fit, not a restore.
    third = read_run(_run(trainer, data_dir, fast_profile, store, params=(("label", 2),)), with_predictions=False)
    assert third.metrics["training"]["from_cache"] is False


@pytest.mark.parametrize("sandbox", ["none", "process"])
def test_the_real_fit_starts_fresh_after_the_counted_one(trainer, data_dir, fast_profile, tmp_path, isolated_cache, sandbox):
    """The counted fit (FLOPs) ran on the same object as the real fit, which then trained a model
    the sample had already trained. Now the harness resets between them: in-process the entry is
    imported and loaded again, sandboxed a new child starts."""
    record = read_run(_run(trainer, data_dir, fast_profile, tmp_path / "store", sandbox=sandbox), with_predictions=False)
    assert record.metrics["training"]["training_flops_sample"]["n_counted"] == 30  # the counted fit did run
    diagnostics = record.metrics["diagnostics"]
    assert diagnostics["fits_on_this_object"] == 1
    assert diagnostics["fits_in_this_process"] == 1


def test_weights_trained_by_another_procedure_are_never_restored(trainer, data_dir, fast_profile, tmp_path, isolated_cache, monkeypatch):
    """Weights a fit left under the old procedure (continuing from the counted fit's weights)
    were restored after the fix: the procedure is part of the weights key."""
    from benchmark import weights

    store = tmp_path / "store"
    _run(trainer, data_dir, fast_profile, store)
    monkeypatch.setattr(weights, "TRAINING_PROCEDURE", weights.TRAINING_PROCEDURE + 1)
    again = read_run(_run(trainer, data_dir, fast_profile, store, params=(("threshold", 0.9),)), with_predictions=False)
    assert again.metrics["training"]["from_cache"] is False


def test_changed_code_never_reuses_stale_weights(trainer, data_dir, fast_profile, tmp_path, isolated_cache):
    """Bug 5: the weight-cache key had no code digest, so changed model code loaded stale weights."""
    store = tmp_path / "store"
    _run(trainer, data_dir, fast_profile, store)
    (trainer / "predictor.py").write_text(TRAINER.replace("str(self.label)", "str(self.label + 1)"))
    again = read_run(_run(trainer, data_dir, fast_profile, store), with_predictions=False)
    assert again.metrics["training"]["from_cache"] is False


def test_each_entry_has_its_own_weights_folder(data_dir, fast_profile, tmp_path, isolated_cache):
    """Bug 5: all entries shared one cache folder; another entry's fit could plant weights."""
    job = prepare(request(data_dir, fast_profile, train_limit=30), RunOptions(out=tmp_path))
    slot = job.weight_slot()
    assert slot.dir.is_relative_to(isolated_cache) and job.spec.submission in slot.dir.parts
    other = replace(job, spec=replace(job.spec, submission="another-entry"))
    assert other.weight_slot().dir.parent != slot.dir.parent
