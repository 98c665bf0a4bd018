"""What the board claims, tested apart from drawing: seed collapse, the floor, ties, measured vs
estimated fronts, sweeps, relative summaries and label placement."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from leaderboard.collect import BoardRun
from leaderboard.labels import Box, place_labels
from leaderboard.pages import summary
from leaderboard.points import beats_floor, collapse, floor_of, fronts, relative_summary, sweeps


def run(
    name: str,
    acc: float,
    energy: float,
    seed: int = 0,
    params: dict | None = None,
    measured: bool = False,
    half_ci: float = 0.01,
) -> BoardRun:
    return BoardRun(
        path=Path(f"/r/{name}/{seed}/{acc}"),
        run_id=f"r{abs(hash((name, acc, energy, seed, str(params)))) % 10**12:012d}",
        job_key="",
        task="t",
        profile="cpu",
        submission=name,
        entry_slug=name,
        version="1",
        seed=seed,
        params=params or {},
        values={"accuracy": acc, "energy_kwh_per_1k": energy, "inference_flops_per_instance": energy * 1e9},
        ci=(max(0.0, acc - half_ci), min(1.0, acc + half_ci)),
        primary_set="test",
        n_eval=1000,
        ood=None,
        energy_source="rapl" if measured else "estimate",
        energy_measured=measured,
        region="USA",
        pue=1.0,
        training_shared=False,
        profile_matched=True,
        mismatch_reasons=(),
        manifest={},
        environment={},
        config={"seed": seed, "limit": None},
        finished_at="",
    )


def test_runs_identical_but_for_seed_collapse_into_one_point_with_spread():
    points = collapse([run("a", 0.80, 1.0, seed=0), run("a", 0.90, 3.0, seed=1), run("b", 0.70, 0.5)])
    a = next(p for p in points if p.entry == "a")
    assert len(points) == 2 and len(a.runs) == 2 and a.seeds == [0, 1]
    assert abs(a.values["accuracy"] - 0.85) < 1e-12 and a.spread["accuracy"] == (0.80, 0.90)
    assert a.spread["energy_kwh_per_1k"] == (1.0, 3.0) and abs(a.ci[0] - 0.84) < 1e-12


def test_a_lucky_seed_does_not_carry_an_entry_onto_the_front():
    # Seed 1 of "a" alone would dominate "b"; the mean of a's seeds does not.
    points = collapse([run("a", 0.70, 1.0, seed=0), run("a", 0.95, 1.0, seed=1), run("b", 0.90, 1.0)])
    front = fronts(points, "energy_kwh_per_1k", floor_of(points))[0]
    assert [p.entry for p in front.members] == ["b"]


def test_different_params_are_different_points_and_named():
    points = collapse([run("a", 0.8, 1.0, params={"t": 0.5}), run("a", 0.85, 2.0, params={"t": 0.9})])
    assert sorted(p.label for p in points) == ["t=0.5", "t=0.9"]


def test_floor_is_a_line_not_a_front_member_and_banner_when_nothing_beats_it():
    points = collapse(
        [run("majority-class", 0.50, 1e-6), run("a", 0.505, 1.0, half_ci=0.03), run("b", 0.51, 2.0, half_ci=0.03)]
    )
    floor = floor_of(points)
    assert floor is not None and floor.entry == "majority-class" and floor.accuracy == 0.50
    assert not any(beats_floor(p, floor) for p in points if not p.is_floor)
    assert fronts(points, "energy_kwh_per_1k", floor_of(points)) == []
    info = summary(points)
    assert "No entry beats the floor (majority-class, 50%)" in info["banner"] and not info["front_ids"]
    clear = collapse([run("majority-class", 0.25, 1e-6), run("a", 0.85, 1.0), run("b", 0.9, 4.0)])
    info = summary(clear)
    assert not info["banner"] and len(info["front_ids"]) == 2
    assert all(not p.is_floor for f in fronts(clear, "energy_kwh_per_1k", floor_of(clear)) for p in f.members)


def test_points_at_the_floor_are_off_every_front_even_where_the_floor_has_no_figure():
    floor_run = run("majority-class", 0.63, 1e-6)
    floor_run = replace(floor_run, values={"accuracy": 0.63, "energy_kwh_per_1k": 1e-6})  # no FLOPs counted
    points = collapse([floor_run, run("cheap", 0.633, 0.01, half_ci=0.08), run("good", 0.80, 1.0)])
    floor = floor_of(points)
    for key in ("energy_kwh_per_1k", "inference_flops_per_instance"):
        assert [p.entry for f in fronts(points, key, floor) for p in f.members] == ["good"], key


def test_front_steps_inside_the_ci_are_ties():
    points = collapse([run("a", 0.80, 1.0, half_ci=0.02), run("b", 0.81, 2.0, half_ci=0.02), run("c", 0.90, 4.0)])
    front = fronts(points, "energy_kwh_per_1k", floor_of(points))[0]
    assert [p.entry for p in front.members] == ["a", "b", "c"] and front.ties == frozenset({1})


def test_measured_and_estimated_energy_never_share_a_front():
    points = collapse([run("m", 0.80, 2.0, measured=True), run("e", 0.90, 1.0, measured=False)])
    by_kind = {f.kind: [p.entry for p in f.members] for f in fronts(points, "energy_kwh_per_1k", floor_of(points))}
    assert by_kind == {"measured": ["m"], "estimated": ["e"]}  # e would dominate m on one front
    assert [f.kind for f in fronts(points, "inference_flops_per_instance", floor_of(points))] == ["all"]


def test_sweeps_join_one_numeric_param_only():
    runs = [run("a", 0.8 + k / 100, 1.0 + k, params={"t": k, "mode": "x"}) for k in range(3)]
    runs += [run("a", 0.7, 9.0, params={"t": 0, "mode": "y"}), run("c", 0.7, 1.0, params={"kind": "p"})]
    runs += [run("c", 0.75, 2.0, params={"kind": "q"})]
    lines = sweeps(collapse(runs))
    assert [(key, [p.first.params["t"] for p in members]) for key, members in lines] == [("t", [0, 1, 2])]


def test_relative_summary_says_points_and_factor():
    front = fronts(collapse([run("small", 0.86, 1.0), run("big", 0.90, 4.2)]), "energy_kwh_per_1k", None)[0]
    assert relative_summary(front, "energy_kwh_per_1k") == [
        "small: -4.0 points for 4.2x less energy / 1k instances than big"
    ]


def test_labels_never_overlap_and_stay_inside():
    bounds = Box(0, 0, 200, 100)
    wanted = [(100 + k % 3, 50 + k % 2, f"label number {k}") for k in range(12)]
    placed = place_labels(wanted, [(100, 50)], bounds)
    assert 2 <= len(placed) < len(wanted)  # crowded: some are left off rather than drawn on top
    boxes = [
        Box(x - (len(t) * 7.35 if a == "end" else len(t) * 3.68 if a == "middle" else 0), y - 10.5, 0, y + 3)
        for x, y, t, a in placed
    ]
    boxes = [replace(b, x1=b.x0 + len(t) * 7.35) for b, (_, _, t, _) in zip(boxes, placed, strict=True)]
    for i, a in enumerate(boxes):
        assert a.inside(bounds)
        assert not any(a.overlaps(b) for b in boxes[i + 1 :])


def test_every_histogram_layer_is_drawn():
    from leaderboard.charts import histogram_svg

    assert histogram_svg({"2": 1, "6": 3}, "t", "x").count("<rect") == 6  # layers 1-6, the empty ones too
    assert histogram_svg({"1": 5}, "t", "x", last=6).count("<rect") == 6  # all exits at layer 1
    assert histogram_svg({"1": "x", "2": None}, "t", "x") == ""  # nothing numeric: no figure at all
