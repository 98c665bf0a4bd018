from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from leaderboard.pareto import dominates, pareto_front

COST_ACC = (False, True)  # x = cost (lower is better), y = accuracy (higher is better)


def brute_force(points, higher):
    return [i for i, p in enumerate(points) if not any(dominates(q, p, higher) for q in points)]


def test_one_point():
    assert pareto_front([(1.0, 0.5)], COST_ACC) == [0]


def test_empty_and_missing():
    assert pareto_front([], COST_ACC) == []
    assert pareto_front([(None, 0.9), (1.0, float("nan")), (2.0, 0.5)], COST_ACC) == [2]


def test_all_but_one_dominated():
    points = [(1.0, 0.9), (2.0, 0.8), (3.0, 0.7), (1.5, 0.9)]
    assert pareto_front(points, COST_ACC) == [0]


def test_ties_and_duplicates():
    # Same cost: only the more accurate is on the front. Exact duplicates are both on it.
    assert pareto_front([(1.0, 0.8), (1.0, 0.9)], COST_ACC) == [1]
    assert pareto_front([(1.0, 0.9), (1.0, 0.9), (2.0, 0.95)], COST_ACC) == [0, 1, 2]
    # Same accuracy, higher cost: dominated.
    assert pareto_front([(1.0, 0.9), (2.0, 0.9)], COST_ACC) == [0]


def test_directions():
    points = [(1.0, 1.0), (2.0, 2.0)]
    assert pareto_front(points, (True, True)) == [1]
    assert pareto_front(points, (False, False)) == [0]
    assert pareto_front(points, (False, True)) == [0, 1]
    assert pareto_front(points, (True, False)) == [0, 1]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=25),
    st.tuples(st.booleans(), st.booleans()),
)
def test_matches_brute_force(raw, higher):
    points = [(float(x), float(y)) for x, y in raw]
    assert pareto_front(points, higher) == brute_force(points, higher)


def test_large_input_is_fast_enough():
    rng = random.Random(0)
    points = [(rng.random(), rng.random()) for _ in range(20000)]
    front = pareto_front(points, COST_ACC)
    assert front and all(not dominates(points[j], points[i], COST_ACC) for i in front[:20] for j in range(2000))
