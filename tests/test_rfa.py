"""Random feature attention: converges to exact softmax attention as D grows, and stays linear."""

from __future__ import annotations

import torch
from entry_modules import entry_module
from torch.utils._python_dispatch import TorchDispatchMode

from benchmark.flops import count_flops

rfa = entry_module("rfa", "rfa")


def inputs(n: int, heads: int = 2, d: int = 16, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(1, heads, n, d, generator=g) for _ in range(3))


def test_estimate_converges_to_exact_softmax_attention():
    q, k, v = inputs(64)
    sigma = torch.tensor([1.5, 2.0])
    exact = rfa.softmax_attention_unit(q, k, v, sigma)
    errors = {}
    for features in (16, 256, 4096, 32768):
        trials = []
        for seed in range(5):
            w = rfa.draw_projection(2, features, 16, torch.Generator().manual_seed(seed))
            approx = rfa.rfa_attention(q, k, v, w, sigma)
            trials.append(((approx - exact).norm() / exact.norm()).item())
        errors[features] = sum(trials) / len(trials)
    assert errors[16] > errors[256] > errors[4096] > errors[32768]
    assert errors[32768] < 0.1, errors  # Monte Carlo error shrinks like 1/sqrt(D)


def test_padding_keys_are_ignored():
    q, k, v = inputs(8)
    w = rfa.draw_projection(2, 512, 16, torch.Generator().manual_seed(0))
    sigma = torch.ones(2)
    mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0, 0]])
    k2, v2 = k.clone(), v.clone()
    k2[..., 5:, :] = 100.0  # garbage in the padded positions
    v2[..., 5:, :] = -100.0
    assert torch.allclose(rfa.rfa_attention(q, k, v, w, sigma, mask), rfa.rfa_attention(q, k2, v2, w, sigma, mask))


class LargestTensor(TorchDispatchMode):
    """Records the largest tensor any op produces: a quadratic method must form an n x n one."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


def largest_and_flops(fn, n: int) -> tuple[int, int]:
    q, k, v = inputs(n)
    with LargestTensor() as probe:
        fn(q, k, v)
    return probe.largest, count_flops(lambda: fn(q, k, v))


def test_rfa_is_linear_and_softmax_quadratic_in_length():
    w = rfa.draw_projection(2, 64, 16, torch.Generator().manual_seed(0))
    sigma = torch.ones(2)

    def linear(q, k, v):
        return rfa.rfa_attention(q, k, v, w, sigma)

    def quadratic(q, k, v):
        return rfa.softmax_attention_unit(q, k, v, sigma)

    (mem_a, flops_a), (mem_b, flops_b) = largest_and_flops(linear, 512), largest_and_flops(linear, 2048)
    assert mem_b / mem_a == 4 and flops_b / flops_a == 4  # 4x the length: 4x the memory and FLOPs
    (smem_a, sflops_a), (smem_b, sflops_b) = largest_and_flops(quadratic, 512), largest_and_flops(quadratic, 2048)
    assert smem_b / smem_a == 16 and sflops_b / sflops_a == 16
