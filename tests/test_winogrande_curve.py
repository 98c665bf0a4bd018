"""The WinoGrande learning-curve tool's bookkeeping, on a tiny synthetic set with a fake scorer:
points at the right instance counts, one JSON line each as they come, honest intervals, the
deadline stop. No model, no training (the real scorer is the minilm-finetune entry's)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from benchmark.errors import UserError
from tasks.base import Instance

REPO = Path(__file__).resolve().parents[1]


def _load_tool():
    spec = importlib.util.spec_from_file_location("winogrande_curve", REPO / "tools" / "winogrande_curve.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through sys.modules
    spec.loader.exec_module(module)
    return module


curve = _load_tool()


def _instances(n: int, prefix: str) -> tuple[Instance, ...]:
    return tuple(
        Instance(f"{prefix}{i}", {"sentence": "A _ B.", "option1": "x", "option2": "y"}, label=i % 2) for i in range(n)
    )


class FakeScorer:
    """Right on the dev ids in ``right``, wrong elsewhere; records what it was trained on."""

    def __init__(self, right: set[str]) -> None:
        self.right = right
        self.trained: list[str] = []

    def train_step(self, batch: Sequence[Instance]) -> tuple[float, int]:
        self.trained.extend(inst.id for inst in batch)
        return 0.5, len(batch) // 2

    def predict(self, batch: Sequence[Instance]) -> list[int]:
        return [inst.label if inst.id in self.right else 1 - inst.label for inst in batch]


class Ticker:
    """A fake clock: every read advances one second, so throughput and deadlines are exact."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_points_land_at_each_checkpoint_and_are_written_as_they_come(tmp_path):
    train, dev = _instances(10, "t"), _instances(100, "d")
    scorer = FakeScorer({f"d{i}" for i in range(70)})
    out = tmp_path / "curve.jsonl"
    logged: list[str] = []
    points = curve.run_curve(
        scorer, train, dev, [8, 4, 20], batch_size=4, seed=0, out=out, clock=Ticker(), log=logged.append
    )
    # batches of 4: checkpoint 4 at 4 seen, 8 at 8, 20 needs a second pass (10 per pass: 4+4+2+4+4+2)
    assert [p.seen for p in points] == [4, 8, 20]
    assert len(scorer.trained) == 20 and sorted(set(scorer.trained)) == sorted(i.id for i in train)
    assert [p["seen"] for p in curve.read_points(out)] == [4, 8, 20] and len(logged) == 3
    first = points[0]
    assert (first.dev_correct, first.dev_n, first.dev_accuracy) == (70, 100, 0.7)
    assert first.epochs == 0.4 and points[-1].epochs == 2.0
    assert first.train_loss == 0.5 and first.train_accuracy == 0.5
    assert first.significant and first.wilson_low > 0.5 and first.bootstrap_low > 0.5
    assert first.instances_per_s == 4.0  # 4 instances per step; a step spans two clock reads = 1 s


def test_chance_is_not_called_significant():
    train, dev = _instances(4, "t"), _instances(100, "d")
    points = curve.run_curve(
        FakeScorer({f"d{i}" for i in range(52)}), train, dev, [4], batch_size=4, seed=0, out=None, log=lambda _: None
    )
    assert points[0].dev_accuracy == 0.52 and not points[0].significant
    assert points[0].wilson_low < 0.5 < points[0].wilson_high


def test_deadline_stops_with_one_final_point_at_what_was_reached(tmp_path):
    train, dev = _instances(40, "t"), _instances(10, "d")
    wall = Ticker(start=100.0)
    points = curve.run_curve(
        FakeScorer(set()),
        train,
        dev,
        [1000],
        batch_size=4,
        seed=0,
        out=None,
        stop_by=103.0,
        wall=wall,
        log=lambda _: None,
    )
    assert [p.seen for p in points] == [12]  # three steps before the wall clock passed 103
    assert points[0].dev_accuracy == 0.0


def test_wilson_interval_matches_the_textbook_value():
    low, high = curve.wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert curve.wilson_interval(0, 10)[0] == 0.0 and curve.wilson_interval(10, 10)[1] == 1.0
    with pytest.raises(ValueError):
        curve.wilson_interval(0, 0)


@pytest.mark.parametrize("text", ["", "1000,abc", "0", "-5", ",,"])
def test_malformed_checkpoints_are_one_clear_error(text):
    with pytest.raises(UserError, match="--checkpoints"):
        curve.parse_checkpoints(text)


def test_checkpoints_accept_k_and_sort():
    assert curve.parse_checkpoints("4k, 1000,2000,1000") == [1000, 2000, 4000]


def test_bad_stop_by_and_empty_sets_are_user_errors():
    from datetime import datetime

    with pytest.raises(UserError, match="--stop-by"):
        curve.parse_stop_by("soon", datetime.now())
    assert curve.parse_stop_by(None, datetime.now()) is None
    with pytest.raises(UserError, match="non-empty"):
        curve.run_curve(FakeScorer(set()), (), _instances(2, "d"), [4], batch_size=4, seed=0, out=None)


def test_main_reports_a_bad_flag_as_exit_2(capsys):
    assert curve.main(["--checkpoints", "many"]) == 2
    assert "error: --checkpoints" in capsys.readouterr().err


def _curve_file(tmp_path: Path, right: set[str]) -> Path:
    """A two-point curve of a fake scorer (right on the dev ids in ``right``), written to a file."""
    out = tmp_path / "c.jsonl"
    curve.run_curve(
        FakeScorer(right),
        _instances(4, "t"),
        _instances(4, "d"),
        [2, 4],
        batch_size=2,
        seed=0,
        out=out,
        log=lambda _: None,
    )
    return out


def test_json_lines_survive_a_round_trip(tmp_path):
    out = _curve_file(tmp_path, set())
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seen"] for r in rows] == [2, 4] and all(len(r["load_average"]) == 3 for r in rows)


def test_table_prints_every_point_and_a_missing_file_is_exit_2(tmp_path, capsys):
    out = _curve_file(tmp_path, {"d0", "d1", "d2"})
    assert curve.main(["--table", str(out)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 4 and table[2].startswith("| 2 | 0.750 (3/4) |")
    assert curve.main(["--table", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such curve file" in capsys.readouterr().err


def test_after_blank_pooling_keeps_the_option_and_what_follows():
    import torch
    import transformers

    from benchmark.entry import minilm_path

    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_path())
    sentence = "The trophy did not fit in the _ because it was too big."
    texts = [sentence.replace("_", "suitcase"), "Short _ one.".replace("_", "x")]
    enc = tokenizer(texts, padding=True, return_tensors="pt", return_offsets_mapping=True)
    starts = torch.tensor([sentence.index("_"), "Short _ one.".index("_")])
    mask = curve.after_blank_mask(enc["offset_mapping"], starts, enc["attention_mask"])
    kept = [tokenizer.convert_ids_to_tokens(ids[m.bool()].tolist()) for ids, m in zip(enc["input_ids"], mask, strict=True)]
    assert kept[0][0] == "suitcase" and kept[0][-1] == "." and "trophy" not in kept[0]
    assert "[SEP]" not in kept[0] and "[PAD]" not in kept[1] and kept[1] == ["x", "one", "."]
