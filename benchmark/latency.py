"""Batch-1 latency and batched throughput, with their spread.

Clocks are read with ``perf_counter`` after a device synchronise, so queued GPU work is never
mistaken for finished work.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LatencyResult:
    latency_ms_p50: float
    latency_ms_p90: float
    latency_ms_p99: float
    latency_ms_mean: float
    latency_cv: float  # std / mean over all samples
    latency_median_cv: float | None  # CV of the per-repeat medians; None with one repeat
    n_samples: int
    repeats: int
    warmup: int
    cv_target_met: bool


def measure_latency(
    predict_one: Callable[[Any], object],
    instances: Sequence[Any],
    samples: int,
    warmup: int,
    max_repeats: int,
    cv_target: float,
    sync: Callable[[], None] = lambda: None,
    tick: Callable[[], None] = lambda: None,
    timed_one: Callable[[Any], float] | None = None,
) -> LatencyResult:
    """Repeat blocks of ``samples`` timed calls until the medians agree within ``cv_target``.

    ``tick`` (a progress bar's update) runs after each call's clock has stopped, never inside it.
    ``timed_one`` (seconds of one call, timed by the model handle around the model's own work:
    for a sandboxed entry, request sent to reply received) replaces the wall clock around
    ``predict_one``; the harness's bookkeeping between requests then stays outside the figure."""
    if not instances:
        raise ValueError("no instances to time")
    for k in range(warmup):
        predict_one(instances[k % len(instances)])
        tick()
    sync()
    all_ms: list[float] = []
    medians: list[float] = []
    median_cv: float | None = None
    for repeat in range(max_repeats):
        block = []
        for k in range(samples):
            inst = instances[(repeat * samples + k) % len(instances)]
            if timed_one is not None:
                block.append(timed_one(inst) * 1000.0)
            else:
                t0 = time.perf_counter()
                predict_one(inst)
                sync()
                block.append((time.perf_counter() - t0) * 1000.0)
            tick()
        all_ms.extend(block)
        medians.append(statistics.median(block))
        if len(medians) >= 2:
            median_cv = statistics.pstdev(medians) / statistics.mean(medians)
            if median_cv <= cv_target:
                break
    arr = np.asarray(all_ms)
    p50, p90, p99 = np.percentile(arr, [50, 90, 99])
    return LatencyResult(
        latency_ms_p50=float(p50),
        latency_ms_p90=float(p90),
        latency_ms_p99=float(p99),
        latency_ms_mean=float(arr.mean()),
        latency_cv=float(arr.std() / arr.mean()) if arr.mean() > 0 else 0.0,
        latency_median_cv=median_cv,
        n_samples=int(arr.size),
        repeats=len(medians),
        warmup=warmup,
        cv_target_met=median_cv is not None and median_cv <= cv_target,
    )
