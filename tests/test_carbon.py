from __future__ import annotations

import json
from pathlib import Path

import codecarbon
import pytest

from benchmark.carbon import REFERENCE_REGIONS, co2e_kg, lookup, price
from benchmark.errors import UserError

DATA = Path(codecarbon.__file__).parent / "data" / "private_infra"


def test_country_intensity_is_codecarbons():
    mix = json.loads((DATA / "global_energy_mix.json").read_text())
    france = lookup("FRA")
    assert france.g_per_kwh == mix["FRA"]["carbon_intensity"] and france.year == mix["FRA"]["year"]
    # 2 kWh in France at PUE 1.5: 2 * 1.5 * intensity grams
    assert co2e_kg(2.0, france, 1.5) == pytest.approx(3.0 * mix["FRA"]["carbon_intensity"] / 1000)


def test_us_state_from_egrid_converted_from_lbs_per_mwh():
    year = sorted(p.name for p in DATA.iterdir() if p.name.isdigit())[-1]
    egrid = json.loads((DATA / year / "usa_emissions.json").read_text())
    california = lookup("USA/CA")
    assert california.g_per_kwh == pytest.approx(egrid["california"]["emissions"] * 0.45359237)
    assert 100 < california.g_per_kwh < 400


def test_other_region_forms():
    assert lookup("WORLD").g_per_kwh == 475
    assert lookup("se3").region == "SE3" and lookup("SE3").g_per_kwh < 100
    assert 0 < lookup("CAN/ontario").g_per_kwh < 200
    assert lookup("gcp:europe-west1").g_per_kwh > 0


def test_price_includes_reference_regions():
    priced = price(1.0, "FRA", 1.2)
    assert set(priced["reference_regions"]) == set(REFERENCE_REGIONS)
    assert priced["co2e_kg"] == pytest.approx(1.2 * lookup("FRA").g_per_kwh / 1000)
    world = priced["reference_regions"]["WORLD"]
    assert world["co2e_kg"] == pytest.approx(1.2 * 0.475)


@pytest.mark.parametrize("bad", ["ATLANTIS", "USA/ZZ", "CAN/nowhere", "gcp:moon-1"])
def test_unknown_region_is_a_clear_error(bad):
    with pytest.raises(UserError, match="unknown"):
        lookup(bad)


SAMPLE = Path(__file__).resolve().parent / "fixtures" / "intensity-sample.csv"


def test_without_a_file_the_yearly_average_is_labelled():
    from benchmark import carbon
    from benchmark.costs import energy_block
    from benchmark.meters import EnergyReading
    from benchmark.profiles import load_profile

    block = energy_block(EnergyReading({"cpu": 36.0}, 2.0, "replay", True), None, 10, load_profile("cpu"))
    assert carbon.RESOLUTION == "annual-average"
    assert any("resolution annual-average" in note for note in block["notes"])
    assert block["carbon_per_1k"]["co2e_kg"] == pytest.approx(price(1e-5 * 1000 / 10, "USA", 1.0)["co2e_kg"])


def test_hourly_co2e_weights_each_hour_by_the_run_inside_it():
    from datetime import UTC, datetime

    from benchmark import intensity

    series = intensity.load(SAMPLE)
    assert series.region == "USA" and "synthetic" in series.source and len(series.hours) == 24
    start = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)  # 30 min in hour 10, 60 in hour 11, 15 in hour 12
    end = datetime(2026, 11, 29, 12, 15, tzinfo=UTC)
    hours = {h.hour: s for h, s in intensity.weights(start, end).items()}
    assert hours == {10: 1800.0, 11: 3600.0, 12: 900.0}
    span = intensity.over_span(series, start, end)
    avg = {h.hour: v[0] for h, v in series.hours.items()}
    expected = (avg[10] * 1800 + avg[11] * 3600 + avg[12] * 900) / 6300
    assert span["average_g_per_kwh"] == pytest.approx(expected) and span["resolution"] == "hourly"
    assert span["marginal_g_per_kwh"] > span["average_g_per_kwh"]
    priced = intensity.co2e(2.0, span, 1.5)
    assert priced["co2e_kg_average"] == pytest.approx(2.0 * 1.5 * expected / 1000)
    metrics = {"energy": {"energy_kwh_per_1k": 1e-4}, "training": {"training_energy_kwh": 0.01}}
    intensity.reprice(metrics, series, start, end, 1.0)
    assert metrics["energy"]["carbon_per_1k_hourly"]["intensity_file_sha256"] == series.sha256
    assert metrics["training"]["training_carbon_hourly"]["co2e_kg_marginal"] > 0


def test_hours_outside_the_file_give_null_with_a_reason():
    from datetime import UTC, datetime

    from benchmark import intensity

    series = intensity.load(SAMPLE)
    span = intensity.over_span(
        series, datetime(2026, 11, 29, 23, 50, tzinfo=UTC), datetime(2026, 11, 30, 0, 10, tzinfo=UTC)
    )
    assert span["average_g_per_kwh"] is None and "2026-11-30T00:00" in span["reason"]
    assert intensity.co2e(1.0, span, 1.0)["co2e_kg_average"] is None


HEADER = "# source: s\n# region: USA\nhour_utc,average_g_per_kwh,marginal_g_per_kwh\n"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("hour_utc,average_g_per_kwh,marginal_g_per_kwh\n2026-01-01T00:00:00Z,1,2\n", "source"),
        (HEADER.replace("hour_utc", "time"), "column header"),
        (HEADER + "2026-01-01T00:00:00Z,1\n", "columns"),
        (HEADER + "yesterday,1,2\n", "ISO 8601"),
        (HEADER + "2026-01-01T00:00:00,1,2\n", "time zone"),
        (HEADER + "2026-01-01T00:30:00Z,1,2\n", "start of an hour"),
        (HEADER + "2026-01-01T00:00:00Z,-5,2\n", "outside"),
        (HEADER + "2026-01-01T00:00:00Z,nan?,2\n", "not a number"),
        (HEADER + "2026-01-01T00:00:00Z,1,2\n2026-01-01T00:00:00Z,1,2\n", "twice"),
        (HEADER, "no hourly rows"),
    ],
)
def test_malformed_intensity_files_are_one_line_errors(tmp_path, text, match):
    from benchmark import intensity

    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(UserError, match=match):
        intensity.load(path)


def test_unreadable_intensity_file(tmp_path):
    from benchmark import intensity

    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UserError, match="cannot be read"):
        intensity.load(tmp_path / "bin.csv")
    with pytest.raises(UserError, match="cannot be read"):
        intensity.load(tmp_path / "missing.csv")


def test_show_prices_a_record_over_its_hours():
    from types import SimpleNamespace

    from benchmark.cli import _hourly_carbon

    run = {
        "started_at": "2026-11-29T20:10:00+00:00",
        "finished_at": "2026-11-29T21:20:00+00:00",
        "profile": {"pue": 1.2},
    }
    record = SimpleNamespace(path="r", run=run, metrics={"energy": {"energy_kwh_per_1k": 2e-4}})
    text = _hourly_carbon(record, SAMPLE)
    assert "hourly" in text and "synthetic" in text and "(2 hour(s))" in text and "marginal" in text
    record.run = {**run, "started_at": "2026-11-30T01:00:00+00:00", "finished_at": "2026-11-30T02:00:00+00:00"}
    assert "no intensity for 2026-11-30T01:00" in _hourly_carbon(record, SAMPLE)
    with pytest.raises(UserError, match="started_at"):
        _hourly_carbon(SimpleNamespace(path="r", run={}, metrics={}), SAMPLE)


def hours_around_now(tmp_path: Path, region: str = "USA") -> Path:
    """An intensity file covering the hours a test run can take (the shipped sample is one fixed day)."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rows = [f"{(now + timedelta(hours=h)).strftime('%Y-%m-%dT%H:00:00Z')},{400 + h},{600 + h}" for h in range(-2, 4)]
    path = tmp_path / "hourly.csv"
    path.write_text(f"# source: test hours\n# region: {region}\n" + HEADER.splitlines()[2] + "\n" + "\n".join(rows) + "\n")
    return path


def test_run_prices_co2e_over_the_hours_it_took(tmp_path, data_dir, fast_profile, isolated_cache, capsys):
    from benchmark import intensity
    from benchmark.cli import main
    from benchmark.record import find_runs, read_run
    from benchmark.validate import validate_run

    majority = Path(__file__).resolve().parent.parent / "submissions" / "majority-class"
    common = ["run", "--task", "ag_news", "--submission", str(majority), "--profile", str(fast_profile)]
    common += ["--data-dir", str(data_dir), "--limit", "40", "--sandbox", "none"]
    hourly = hours_around_now(tmp_path)
    assert main([*common, "--out", str(tmp_path / "a"), "--intensity-file", str(hourly)]) == 0
    assert main([*common, "--out", str(tmp_path / "b")]) == 0
    (with_file,) = find_runs(tmp_path / "a")
    (without,) = find_runs(tmp_path / "b")
    assert with_file.name != without.name  # the file's bytes are part of the job's identity
    record = read_run(with_file, with_predictions=False)
    assert record.run["spec"]["intensity"]["sha256"] == intensity.load(hourly).sha256
    block = record.metrics["energy"]["carbon_per_1k_hourly"]
    assert block["resolution"] == "hourly" and block["intensity_source"] == "test hours"
    assert block["reason"] is None and 398 <= block["average_g_per_kwh"] <= 403
    energy = record.metrics["energy"]["energy_kwh_per_1k"]
    assert block["co2e_kg_marginal"] == pytest.approx(energy * block["marginal_g_per_kwh"] / 1000)
    assert record.metrics["training"]["training_carbon_hourly"]["resolution"] == "hourly"
    plain = read_run(without, with_predictions=False)
    assert "intensity" not in plain.run["spec"] and "carbon_per_1k_hourly" not in plain.metrics["energy"]
    assert plain.metrics["energy"]["carbon_per_1k"]["resolution"] == "annual-average"
    assert validate_run(with_file, data_dir) == []  # the schema reads the hourly blocks back
    capsys.readouterr()
    assert main(["show", str(with_file)]) == 0
    assert "hourly" in capsys.readouterr().out


def test_a_file_for_another_region_is_refused(tmp_path, data_dir, fast_profile, capsys):
    from benchmark.cli import main

    majority = Path(__file__).resolve().parent.parent / "submissions" / "majority-class"
    code = main(
        ["run", "--task", "ag_news", "--submission", str(majority), "--profile", str(fast_profile)]
        + ["--data-dir", str(data_dir), "--out", str(tmp_path), "--intensity-file", str(hours_around_now(tmp_path, "FRA"))]
    )
    err = capsys.readouterr().err
    assert code == 2 and "is for region FRA but the job runs in USA" in err and "Traceback" not in err
