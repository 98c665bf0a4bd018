"""FLOPs on the executed path, counted with torch's ``FlopCounterMode``.

The counter follows what is actually dispatched, so an instance that exits after k layers is
charged for k layers. Torch has no formula for the CPU flash-attention kernel that SDPA uses, so
attention would silently count as zero; we register the same formula torch uses for its other
SDPA kernels (forward and backward).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_REGISTERED = False


def register_cpu_sdpa_formulas() -> None:
    global _REGISTERED
    if _REGISTERED:
        return
    import torch
    from torch.utils import flop_counter as fc

    aten = torch.ops.aten
    forward = aten._scaled_dot_product_flash_attention_for_cpu
    backward = aten._scaled_dot_product_flash_attention_for_cpu_backward
    if forward.default not in fc.flop_registry:

        @fc.register_flop_formula(forward)
        def _cpu_sdpa(
            query_shape: Any, key_shape: Any, value_shape: Any, *args: Any, out_shape: Any = None, **kw: Any
        ) -> int:
            return fc.sdpa_flop_count(query_shape, key_shape, value_shape)

    if backward.default not in fc.flop_registry:

        @fc.register_flop_formula(backward)
        def _cpu_sdpa_backward(
            grad_out_shape: Any,
            query_shape: Any,
            key_shape: Any,
            value_shape: Any,
            *args: Any,
            out_shape: Any = None,
            **kw: Any,
        ) -> int:
            return fc.sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)

    _REGISTERED = True


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs dispatched while ``fn`` runs."""
    from torch.utils.flop_counter import FlopCounterMode

    register_cpu_sdpa_formulas()
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


@dataclass(frozen=True)
class FlopsResult:
    inference_flops_per_instance_mean: float
    inference_flops_per_instance_std: float
    inference_flops_per_instance_sem: float  # sampling error of the mean when not every instance was counted
    inference_flops_total_estimate: float  # mean x eval instances
    n_counted: int
    n_eval: int
    counted_at_batch_size: int = 1
    method: str = "torch FlopCounterMode, batch 1 (no padding), CPU SDPA formula registered"


def spread_over_length(instances: Sequence[Any], n: int, length: Callable[[Any], int]) -> list[Any]:
    """``n`` instances spread evenly over the length order (one from the middle of each of ``n``
    equal strata). A text model's FLOPs grow with its input's length, so an even spread estimates
    the mean with a fraction of a random sample's error (systematic sampling); the reported SEM
    keeps the random-sample formula, an upper bound."""
    if n >= len(instances):
        return list(instances)
    order = sorted(range(len(instances)), key=lambda i: (length(instances[i]), i))
    return [instances[order[int((k + 0.5) * len(instances) / n)]] for k in range(n)]


def per_instance_flops(
    count_one: Callable[[Any], int],
    instances: Sequence[Any],
    sample: int | None,
    length: Callable[[Any], int] | None = None,
) -> FlopsResult:
    """``count_one(instance)``: the FLOPs of one batch-1 prediction, for ``sample`` instances (all
    when None): spread over ``length`` when given, else the first ones. Counting happens where the
    model runs, so the caller supplies it."""
    if sample is None or sample >= len(instances):
        chosen, how = list(instances), "every instance"
    elif length is not None:
        chosen, how = spread_over_length(instances, sample, length), "spread evenly over input length"
    else:
        chosen, how = list(instances[:sample]), "the first ones"
    counts = [int(count_one(inst)) for inst in chosen]
    n = len(counts)
    mean = sum(counts) / n if n else float("nan")
    std = math.sqrt(sum((c - mean) ** 2 for c in counts) / n) if n else float("nan")
    sem = 0.0 if n == len(instances) else (std / math.sqrt(n) if n else float("nan"))
    method = f"{FlopsResult.method}; {n} of {len(instances)} instances counted, {how}"
    return FlopsResult(mean, std, sem, mean * len(instances), n, len(instances), method=method)
