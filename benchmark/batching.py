"""How a batched pass groups instances: the profile's documented batching policy.

``length`` (the default): instances sorted by input length, cut into batches of the profile's
size, so a batch pads to a length close to its members' (AG News averages about 50 tokens, and
arrival-order batches padded to their longest member, up to 128, halved throughput). MLPerf's
offline scenario lets the system under test reorder samples the same way. Predictions are put
back in the original order, so scoring never sees the reordering. The same rule applies to every
entry: the length is the character count of the instance's text fields, which needs no
tokenizer. ``arrival``: batches in the eval set's order.

Batch *order* is then shuffled with a fixed seed, so that any contiguous stretch of a pass (a
meter window) mixes long and short batches and the windows can be compared with each other.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal, TypeVar

from benchmark.errors import UserError
from tasks.base import Instance

Policy = Literal["length", "arrival"]
POLICIES: tuple[str, ...] = ("length", "arrival")
T = TypeVar("T")


def text_length(inst: Instance) -> int:
    return sum(len(v) for v in inst.inputs.values() if isinstance(v, str))


def plan(instances: Sequence[Instance], batch_size: int, policy: str = "length", seed: int = 0) -> list[list[int]]:
    """Batches as lists of indices into ``instances``; every index appears exactly once."""
    if batch_size < 1:
        raise UserError(f"batch size must be >= 1, got {batch_size}")
    if policy not in POLICIES:
        raise UserError(f"batching policy must be one of {', '.join(POLICIES)}, got {policy!r}: fix the profile")
    order = list(range(len(instances)))
    if policy == "length":
        order.sort(key=lambda i: (-text_length(instances[i]), i))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if policy == "length":
        random.Random(seed).shuffle(batches)
    return batches


def restore(batches: Sequence[Sequence[int]], outputs: Sequence[Sequence[T]], n: int) -> list[T]:
    """Outputs per batch back in the instances' original order."""
    out: list[T | None] = [None] * n
    for indices, values in zip(batches, outputs, strict=True):
        for index, value in zip(indices, values, strict=True):
            out[index] = value
    if any(v is None for v in out):
        raise ValueError("a batch plan left instances without an output")
    return out  # type: ignore[return-value]


def policy_of(profile: object) -> str:
    """The profile's policy; ``length`` for a profile written before the field existed."""
    return str(getattr(profile, "batching", "length"))
