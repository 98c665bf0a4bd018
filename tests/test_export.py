"""`greenbench export` and `records_frame`: one row per record, every figure with unit, source, flags."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_hub_publish import write_records

from benchmark import metric_table as mt
from benchmark.cli import main
from benchmark.errors import UserError
from benchmark.export import columns, records_frame, write_frame


def test_one_row_per_record_with_every_figure_unit_source_and_flags(tmp_path):
    records = write_records(tmp_path / "store", 6)
    frame = records_frame([tmp_path / "store"])
    assert len(frame) == 6 and list(frame.columns) == columns()
    for m in mt.METRICS:
        assert {m.key, f"{m.key}_unit", f"{m.key}_source", f"{m.key}_flags"} <= set(frame.columns)
        assert set(frame[f"{m.key}_unit"]) == {m.unit}
    row = frame.set_index("job_key").loc[json.loads((records[1] / "run.json").read_text())["job_key"]]
    metrics = json.loads((records[1] / "metrics.json").read_text())
    assert row["accuracy"] == pytest.approx(metrics["eval_sets"]["test"]["accuracy"])
    assert row["energy_kwh_per_1k"] == pytest.approx(metrics["energy"]["energy_kwh_per_1k"])
    assert row["energy_kwh_per_1k_source"] == "ESTIMATED (estimate:declared-power)"
    assert "estimated, not measured" in row["energy_kwh_per_1k_flags"]
    assert row["accuracy_source"] == "re-scorable predictions, eval set test"
    assert row["task"] == "winogrande" and row["entry"] == "synthetic-001" and row["status"] == "complete"


def test_a_missing_figure_is_empty_with_its_reason_never_zero(tmp_path):
    (record,) = write_records(tmp_path / "store", 1)
    frame = records_frame([record])
    assert frame.loc[0, "f1_positive"] is None or pd.isna(frame.loc[0, "f1_positive"])
    assert frame.loc[0, "f1_positive_flags"].startswith("missing: ")


def test_unreadable_records_are_listed_not_fatal(tmp_path):
    write_records(tmp_path / "store", 2)
    broken = tmp_path / "store" / "ag_news" / "cpu" / "broken" / "1-000000000000"
    broken.mkdir(parents=True)
    (broken / "run.json").write_text("[1, 2")
    frame = records_frame([tmp_path / "store"])
    assert len(frame) == 2 and len(frame.attrs["problems"]) == 1 and "not valid JSON" in frame.attrs["problems"][0]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_each_format_reads_back_the_same_table(tmp_path, fmt):
    write_records(tmp_path / "store", 4)
    frame = records_frame([tmp_path / "store"])
    out = write_frame(frame, fmt, tmp_path / f"board.{fmt}")
    back = {"csv": pd.read_csv, "jsonl": lambda p: pd.read_json(p, lines=True), "parquet": pd.read_parquet}[fmt](out)
    assert list(back.columns) == list(frame.columns) and len(back) == 4
    assert back["accuracy"].tolist() == pytest.approx(frame["accuracy"].tolist())
    assert back["job_key"].tolist() == frame["job_key"].tolist()


def test_cli_export_picks_the_format_from_the_suffix(tmp_path, capsys):
    write_records(tmp_path / "store", 3)
    out = tmp_path / "out" / "all.jsonl"
    assert main(["export", str(tmp_path / "store"), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["energy_kwh_per_1k_unit"] == "kWh" for line in lines)
    assert "3 record(s)" in capsys.readouterr().out


def test_cli_export_refuses_an_unknown_format_in_one_line(tmp_path):
    write_records(tmp_path / "store", 1)
    assert main(["export", str(tmp_path / "store"), "--out", str(tmp_path / "all.xlsx")]) == 2
    with pytest.raises(UserError, match="unknown export format"):
        write_frame(records_frame([tmp_path / "store"]), "xlsx", tmp_path / "x.xlsx")


def test_csv_cells_cannot_run_as_spreadsheet_formulas(tmp_path):
    """A record's free text (its version) starting with '=' is quoted in the CSV, kept as is elsewhere."""
    import random

    from benchmark.record import write_run
    from leaderboard.synthetic import record

    run, metrics = record(random.Random(0), 4, "synthetic-004", "ag_news", "cpu", 3, 0)
    run["submission"]["version"] = "=HYPERLINK(1)"
    write_run(tmp_path / "store" / "x" / "1-000000000004", run, [], metrics)
    frame = records_frame([tmp_path / "store"])
    assert frame.loc[0, "version"] == "=HYPERLINK(1)"
    back = pd.read_csv(write_frame(frame, "csv", tmp_path / "out.csv"))
    assert back.loc[0, "version"] == "'=HYPERLINK(1)"
    assert back.loc[0, "accuracy"] == pytest.approx(frame.loc[0, "accuracy"])
