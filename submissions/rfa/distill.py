"""Fitting the learned feature maps to the pretrained softmax heads before task training.

Only the maps train here; the encoder is the frozen teacher. Each layer is fed the softmax model's
own queries and keys (teacher forcing), so the six layers' maps are fitted independently and a
poor early map cannot corrupt a later layer's targets. Articles are cut to ``length`` tokens for
this step: the teacher's n x n weights are formed, and the maps act on one token at a time, so
they carry over to longer inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .hedgehog import attention_weights, distillation_loss, linear_attention, softmax_weights
from .model import LongEncoder

Batch = tuple[torch.Tensor, torch.Tensor]


def distill(
    model: LongEncoder,
    batches: Callable[[int], Sequence[Batch]],
    epochs: int,
    lr: float,
    progress: Callable[[int, int, float], None] | None = None,
) -> list[float]:
    """Adam on the maps alone; ``batches(epoch)`` gives that epoch's (input_ids, mask) batches.
    Returns the mean loss (summed over layers) per epoch."""
    maps = model.feature_maps
    if maps is None:
        raise ValueError("only the hedgehog model has feature maps to distil")
    optimiser = torch.optim.Adam(maps.parameters(), lr=lr)
    means: list[float] = []
    done = 0
    for epoch in range(epochs):
        epoch_batches = batches(epoch)
        total = 0.0
        for input_ids, mask in epoch_batches:
            optimiser.zero_grad()
            loss_sum = 0.0
            for index, (q, k, _v) in enumerate(model.teacher_queries_keys(input_ids, mask)):
                if index < model.softmax_layers:  # kept softmax: no map to fit
                    continue
                loss = distillation_loss(softmax_weights(q, k, mask), attention_weights(maps(index, q), maps(index, k), mask), mask)
                loss.backward()  # layer by layer: one n x n graph alive at a time
                loss_sum += float(loss.detach())
            optimiser.step()
            total += loss_sum
            done += 1
            if progress is not None:
                progress(done, epochs * len(epoch_batches), loss_sum)
        means.append(round(total / max(1, len(epoch_batches)), 4))
    return means


@torch.no_grad()
def output_error(model: LongEncoder, batches: Sequence[Batch]) -> list[float]:
    """Per layer, |linear - softmax| / |softmax| of the attention outputs over real tokens, each
    layer fed the teacher's q, k, v: how closely the maps reproduce the pretrained heads."""
    maps = model.feature_maps
    if maps is None:
        raise ValueError("only the hedgehog model has feature maps")
    err: list[float] = []
    norm: list[float] = []
    for input_ids, mask in batches:
        real = mask.bool()
        for index, (q, k, v) in enumerate(model.teacher_queries_keys(input_ids, mask)):
            exact = softmax_weights(q, k, mask) @ v
            approx = linear_attention(maps(index, q), maps(index, k), v, key_mask=mask)
            diff = (approx - exact).transpose(1, 2)[real]
            if len(err) <= index:
                err.append(0.0)
                norm.append(0.0)
            err[index] += float(diff.pow(2).sum())
            norm[index] += float(exact.transpose(1, 2)[real].pow(2).sum())
    return [round((e / n) ** 0.5, 4) for e, n in zip(err, norm, strict=True)]
