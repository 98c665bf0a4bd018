"""`greenbench card`: model-card metadata rendered, then read back with huggingface_hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import ModelCard, metadata_load
from test_hub_publish import write_records

from benchmark.cli import main
from benchmark.errors import UserError
from benchmark.hub.card import load_records, push_card, render_card
from benchmark.record import read_run


def edit_metrics(run_dir: Path, change: Any) -> None:
    """Rewrite a record's metrics (and its digests) so a test can pick what the record says."""
    from benchmark.record import write_run

    record = read_run(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    change(metrics)
    metrics.pop("schema_version", None)
    run = {k: v for k, v in record.run.items() if k != "schema_version"}
    write_run(run_dir, run, record.predictions, metrics, replace=True)


def test_card_round_trips_model_index_and_co2(tmp_path):
    (trained,) = write_records(tmp_path / "store", 1, start=1)  # synthetic-001 trains; its energy is estimated
    text = render_card(load_records([trained])[0], model_name="tiny-model")
    path = tmp_path / "README.md"
    path.write_text(text)
    card = ModelCard.load(path)
    metrics = json.loads((trained / "metrics.json").read_text())
    results = {(r.dataset_split, r.metric_type): r for r in card.data.eval_results}
    assert results[("test", "accuracy")].metric_value == pytest.approx(metrics["eval_sets"]["test"]["accuracy"])
    assert results[("test", "accuracy")].task_name == "winogrande"
    assert results[("test", "macro_f1")].metric_value == pytest.approx(metrics["eval_sets"]["test"]["macro_f1"])
    energy = results[("test", "energy_kwh_per_1k")]
    assert energy.metric_value == pytest.approx(metrics["energy"]["energy_kwh_per_1k"])
    assert energy.metric_args["estimated"] is True and "estimated" in energy.metric_name
    assert energy.metric_args["unit"] == "kWh" and energy.metric_config == "cpu"
    co2 = metadata_load(path)["co2_eq_emissions"]
    assert co2["emissions"] == pytest.approx(metrics["training"]["training_co2e_kg"] * 1000)
    assert co2["source"] == "greenbench" and co2["training_type"] == "fine-tuning"
    assert co2["geographical_location"] == "USA" and "profile cpu" in co2["hardware_used"]
    assert co2["energy"].startswith("estimated")
    assert card.data.model_name == "tiny-model" and "greenbench" in card.data.tags


def test_measured_energy_is_not_called_estimated(tmp_path):
    (record,) = write_records(tmp_path / "store", 1, start=1)

    def metered(metrics: dict) -> None:
        for energy in (metrics["energy"], metrics["training"]["energy"]):
            energy.update(measured=True, energy_source="rapl")

    edit_metrics(record, metered)
    card = ModelCard(render_card(load_records([record])[0]))
    (energy,) = [r for r in card.data.eval_results if r.metric_type == "energy_kwh_per_1k"]
    assert energy.metric_args["estimated"] is False and "estimated" not in energy.metric_name
    assert card.data.co2_eq_emissions["energy"].startswith("measured")


def test_no_training_means_no_co2_field_rather_than_zero(tmp_path):
    (record,) = write_records(tmp_path / "store", 1)  # synthetic-000 is majority-class-like: no training
    edit_metrics(record, lambda m: m.pop("training", None))
    text = render_card(load_records([record])[0])
    assert "co2_eq_emissions" not in ModelCard(text).data.to_dict()
    assert "left out rather than set to 0" in text


def test_cli_card_prints_and_writes(tmp_path, capsys):
    records = write_records(tmp_path / "store", 2, start=1)
    out = tmp_path / "card.md"
    assert main(["card", *map(str, records), "--out", str(out)]) == 0
    data = metadata_load(out)
    tasks = {r["task"]["name"] for r in data["model-index"][0]["results"]}
    assert tasks == {"winogrande", "hyperpartisan"}
    assert main(["card", str(records[0])]) == 0
    assert "model-index" in capsys.readouterr().out


def test_card_of_nothing_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no complete run records"):
        load_records([tmp_path / "empty"])


def test_push_merges_metadata_with_metadata_update(tmp_path):
    (record,) = write_records(tmp_path / "store", 1, start=1)
    calls = []

    def fake_update(repo_id: str, metadata: dict, **kwargs: Any) -> str:
        calls.append((repo_id, metadata, kwargs))
        return f"https://huggingface.co/{repo_id}/commit/0"

    push_card(load_records([record])[0], "org/tiny-model", update=fake_update)
    ((repo_id, metadata, kwargs),) = calls
    assert repo_id == "org/tiny-model" and kwargs["overwrite"] is True
    assert metadata["model-index"][0]["name"] == "tiny-model"
    assert metadata["co2_eq_emissions"]["source"] == "greenbench"


def test_push_without_network_is_one_line(tmp_path, monkeypatch, capsys):
    (record,) = write_records(tmp_path / "store", 1, start=1)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["card", str(record), "--push", "org/tiny-model"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot update the card of org/tiny-model" in err
