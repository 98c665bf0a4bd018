from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score

from benchmark.metric_table import METRICS as TABLE
from benchmark.metric_table import (
    figure_warnings,
    format_number,
    format_value,
    metric,
    missing_reason,
    value_of,
)
from benchmark.metrics import METRICS, accuracy, bootstrap_ci, f1_for_label, macro_f1, score_eval_set

labels = st.lists(st.integers(0, 3), min_size=1, max_size=200)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_against_scikit_learn(data):
    gold = data.draw(labels)
    pred = data.draw(st.lists(st.integers(0, 3), min_size=len(gold), max_size=len(gold)))
    assert accuracy(gold, pred) == pytest.approx(accuracy_score(gold, pred))
    assert macro_f1(gold, pred, 4) == pytest.approx(f1_score(gold, pred, average="macro", zero_division=0))
    assert f1_for_label(gold, pred, 1) == pytest.approx(
        f1_score(gold, pred, labels=[1], average="macro", zero_division=0)
    )


def test_bootstrap_ci_brackets_and_narrows():
    rng = np.random.default_rng(1)
    small = rng.random(100) < 0.7
    large = rng.random(10000) < 0.7
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert lo_s <= small.mean() <= hi_s
    assert lo_l <= large.mean() <= hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s) / 5
    # For n=10000 and p=0.7 the normal-approximation half-width is 1.96*sqrt(.21/10000) = 0.009.
    assert (hi_l - lo_l) / 2 == pytest.approx(0.009, rel=0.2)


def test_score_blocks_per_task_kind():
    gold, pred = [0, 1, 1, 0], [0, 1, 0, 0]
    binary = score_eval_set(gold, pred, 2, positive_label=1, multiple_choice=False)
    assert binary["f1_positive"] == pytest.approx(2 / 3) and "macro_f1" not in binary
    multi = score_eval_set([0, 1, 2, 3], [0, 1, 2, 0], 4, None, multiple_choice=False)
    assert "macro_f1" in multi and "f1_positive" not in multi
    choice = score_eval_set(gold, pred, 2, None, multiple_choice=True)
    assert set(choice) == {"n", "accuracy", "accuracy_ci95_low", "accuracy_ci95_high"}


def test_metric_table_declares_units_and_direction():
    assert len({m.key for m in TABLE}) == len(TABLE)
    for m in TABLE:
        assert m.unit and m.display_unit and m.scale > 0 and m.direction in ("higher", "lower")
        assert m.path and m.section in ("quality", "inference", "energy", "training")
        assert m.cost == (m.section != "quality")
    assert METRICS["accuracy"].higher_is_better and not METRICS["energy_kwh_per_1k"].higher_is_better
    assert METRICS["energy_kwh_per_1k"] is metric("energy_kwh_per_1k")  # one table, two views
    with pytest.raises(KeyError, match="no metric 'nope'"):
        metric("nope")

RECORD = {
    "eval_sets": {"wsc": {"role": "ood", "accuracy": 0.5, "n": 4}, "dev": {"role": "id", "accuracy": 0.75, "n": 4}},
    "flops": {"inference_flops_per_instance_mean": 1.146e10},
    "latency": {"latency_ms_p50": 151.88, "cv_target_met": False, "latency_median_cv": 0.175, "repeats": 3},
    "energy": {
        "energy_kwh_per_1k": 5.49e-4,
        "energy_kwh_active": 1e-6,
        "energy_kwh_total": 1e-4,
        "carbon_per_1k": {"co2e_kg": 2.03e-4},
        "unstable": {"energy_kwh_per_1k": "3 windows disagree by 40%"},
    },
    "training": {"training_flops": 35956394191872, "training_energy_kwh": 0.0041, "from_cache": False},
}


def test_value_of_reads_the_primary_eval_set_and_every_block():
    assert value_of(RECORD, "accuracy") == 0.75  # the in-distribution set, not the first listed
    assert value_of(RECORD, "co2e_kg_per_1k") == 2.03e-4
    assert value_of(RECORD, "training_flops") == 35956394191872
    assert value_of(RECORD, "macro_f1") is None and missing_reason(RECORD, "macro_f1") == "not recorded"
    assert value_of(RECORD, "throughput_instances_per_s") is None
    numpy = {"flops": {"inference_flops_per_instance_mean": None, "null_reasons": {"inference_flops_per_instance_mean": "nothing ran in PyTorch\x1b[2J"}}}
    reason = missing_reason(numpy, "inference_flops_per_instance")
    assert format_value(None, "inference_flops_per_instance", reason=reason) == "n/a (nothing ran in PyTorch[2J)"
    assert missing_reason(RECORD, "throughput_instances_per_s") == "not measured"
    cached = {**RECORD, "training": {**RECORD["training"], "from_cache": True}}
    assert value_of(cached, "training_flops") is None  # that run did not pay for the training
    assert missing_reason(cached, "training_flops") == "weights reused"
    shared = {**RECORD, "training": {"from_cache": True, "shared_from": "ab" * 32}}
    assert missing_reason(shared, "training_flops") == "weights reused from job abababababab"
    assert value_of({"eval_sets": "junk", "flops": 3}, "accuracy") is None  # malformed blocks: no crash
    assert value_of({"flops": 3}, "inference_flops_per_instance") is None


@pytest.mark.parametrize(
    "value,key,expected",
    [
        (0.765625, "accuracy", "76.6"),
        (1.146e10, "inference_flops_per_instance", "11.5"),
        (35956394191872, "training_flops", "36"),  # TFLOP, not a 14-digit integer
        (5.49e-4, "energy_kwh_per_1k", "0.549"),  # Wh
        (5.69e-8, "energy_kwh_per_1k", "5.69e-5"),
        (28861.2, "throughput_instances_per_s", "28,861"),
        (0, "inference_flops_per_instance", "0"),
        (None, "accuracy", "—"),
        (-1e12, "inference_flops_per_instance", "invalid (negative)"),
        (float("nan"), "latency_ms_p50", "invalid (not finite)"),
        (float("inf"), "latency_ms_p50", "invalid (not finite)"),
        (True, "accuracy", "invalid (not a number)"),
        ("<img src=x onerror=alert(1)>", "f1_positive", "invalid (not a number)"),
        ({"a": 1}, "accuracy", "invalid (not a number)"),
        ([1], "accuracy", "invalid (not a number)"),
        ("many", "inference_flops_per_instance", "invalid (not a number)"),
    ],
)
def test_format_value_scales_formats_and_never_echoes(value, key, expected):
    assert format_value(value, key) == expected


def test_format_value_units_and_reasons():
    assert format_value(5.49e-4, "energy_kwh_per_1k", unit=True) == "0.549 Wh"
    assert format_value(None, "energy_kwh_per_1k", unit=True, reason="not measured") == "n/a (not measured)"
    assert format_number(1466829871104) == "1.47e12" and format_number(1.23e-5) == "1.23e-5"
    assert format_number(1234.5) == "1,234" and format_number(128) == "128" and format_number(0.1) == "0.1"


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)))
def test_any_json_value_formats_to_safe_text(value):
    for m in TABLE:
        text = format_value(value, m, unit=True)
        fixed = {"—", "invalid (not a number)", "invalid (not finite)", "invalid (negative)"}
        assert text in fixed or re.fullmatch(r"[0-9][0-9.,]*(e-?[0-9]+)? " + re.escape(m.display_unit), text), text


def test_figure_warnings_flag_unstable_and_implausible_figures():
    assert any("missed its target" in w and "0.175" in w for w in figure_warnings(RECORD, "latency_ms_p50"))
    energy = figure_warnings(RECORD, "energy_kwh_per_1k")
    assert any("active energy is 1% of total" in w for w in energy)
    assert any("3 windows disagree" in w for w in energy)
    assert not any("windows" in w for w in figure_warnings(RECORD, "co2e_kg_per_1k"))  # flag named another figure
    assert figure_warnings(RECORD, "accuracy") == []
    for flags in (True, "drifting", ["drifting", 3], {"*": True}, 7, None):
        bad = {**RECORD, "latency": {"latency_ms_p50": 1.0, "unstable": flags}}
        figure_warnings(bad, "latency_ms_p50")  # every shape read without an error
    assert figure_warnings({"flops": {"counted_by": "entry-process"}}, "inference_flops_per_instance")
    flagged = {"latency": {"cv_target_met": False, "unstable": True, "unstable_reason": "CV 1.27 over target 0.1"}}
    assert figure_warnings(flagged, "latency_ms_p99") == ["unstable: CV 1.27 over target 0.1"]  # the flag's own words
    assert figure_warnings({"energy": {"unstable": True}}, "energy_kwh_per_1k") == ["flagged unstable"]
    raw = {"latency": {"unstable": True, "unstable_reason": "medians spread by CV 0.06685322087837837, over 0.05"}}
    assert figure_warnings(raw, "latency_ms_p50") == ["unstable: medians spread by CV 0.0669, over 0.05"]
