from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score

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
    for spec in METRICS.values():
        assert spec.unit and isinstance(spec.higher_is_better, bool)
    assert METRICS["accuracy"].higher_is_better and not METRICS["energy_kwh_per_1k"].higher_is_better
