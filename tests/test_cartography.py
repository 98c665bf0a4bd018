"""Dataset cartography statistics on a hand-computed example, subsets, and the data map."""

from __future__ import annotations

import pytest
from entry_modules import entry_module

carto = entry_module("cartography", "cartography")

# Three epochs of p(gold) and argmax==gold for four instances, worked out by hand below.
PROBS = {"a": [0.9, 0.95, 1.0], "b": [0.1, 0.5, 0.9], "c": [0.1, 0.1, 0.1], "d": [0.4, 0.6, 0.5]}
RIGHT = {"a": [True, True, True], "b": [False, False, True], "c": [False, False, False], "d": [False, True, True]}


def test_statistics_by_hand():
    dyn = carto.statistics(PROBS, RIGHT)
    assert dyn.ids == ("a", "b", "c", "d")
    # b: mean 0.5; population std sqrt(((-.4)^2 + 0 + .4^2) / 3) = sqrt(0.10667) = 0.32660
    assert dyn.confidence.tolist() == pytest.approx([0.95, 0.5, 0.1, 0.5])
    assert dyn.variability.tolist() == pytest.approx([0.040825, 0.326599, 0.0, 0.081650], abs=1e-6)
    assert dyn.correctness.tolist() == pytest.approx([1.0, 1 / 3, 0.0, 2 / 3])


def test_regions_and_controls():
    dyn = carto.statistics(PROBS, RIGHT)
    assert carto.select(dyn, "ambiguous", 0.5) == ["b", "d"]
    assert carto.select(dyn, "hard", 0.5) == ["c", "b"]  # ties on confidence broken by id
    assert carto.select(dyn, "easy", 0.25) == ["a"]
    random_a = carto.select(dyn, "random", 0.5, seed=1)
    assert random_a == carto.select(dyn, "random", 0.5, seed=1) and len(random_a) == 2
    with pytest.raises(ValueError):
        carto.select(dyn, "medium")
    with pytest.raises(ValueError):
        carto.statistics({"a": [0.1, 0.2]}, {"a": [True]})


def test_data_map_has_every_point_and_the_regions():
    svg = carto.data_map_svg(carto.statistics(PROBS, RIGHT), "WinoGrande <demo>")
    assert svg.count("<circle") == 4
    for label in ("easy-to-learn", "hard-to-learn", "ambiguous", "variability", "confidence"):
        assert label in svg
    assert "&lt;demo&gt;" in svg
