from __future__ import annotations

import time

import pytest

from benchmark.latency import measure_latency


def test_latency_stats_and_sync_called():
    syncs = []

    def work(inst):
        time.sleep(0.001 * inst)

    result = measure_latency(
        work, [1, 2, 3], samples=9, warmup=2, max_repeats=3, cv_target=10.0, sync=lambda: syncs.append(1)
    )
    assert result.n_samples == 18 and result.repeats == 2  # a loose target is met after two repeats
    assert result.cv_target_met and result.latency_median_cv is not None
    assert result.latency_ms_p50 <= result.latency_ms_p90 <= result.latency_ms_p99
    assert result.latency_ms_p50 >= 1.0
    assert len(syncs) == 1 + 18  # once after warm-up, then after every timed call


def test_unmet_target_stops_at_the_cap():
    calls = {"n": 0}

    def alternating(inst):
        calls["n"] += 1
        time.sleep(0.004 if (calls["n"] // 4) % 2 else 0.0005)

    result = measure_latency(alternating, [0], samples=4, warmup=0, max_repeats=3, cv_target=0.0)
    assert result.repeats == 3 and not result.cv_target_met


def test_no_instances_is_an_error():
    with pytest.raises(ValueError):
        measure_latency(lambda i: None, [], 1, 0, 1, 0.1)


def test_a_handle_clock_replaces_the_wall_clock():
    """A sandboxed handle times the round trip itself; the harness's bookkeeping around the call
    (here: a 5 ms sleep in predict_one's place) must not reach the figure."""
    calls = []

    def timed_one(inst):
        calls.append(inst)
        time.sleep(0.005)
        return 0.002  # what the handle's own clock saw

    result = measure_latency(
        lambda i: None, [1, 2], samples=4, warmup=1, max_repeats=2, cv_target=1.0, timed_one=timed_one
    )
    assert result.latency_ms_p50 == pytest.approx(2.0) and result.latency_ms_p99 == pytest.approx(2.0)
    assert len(calls) == result.n_samples == 8  # warm-up goes through predict_one, untimed
