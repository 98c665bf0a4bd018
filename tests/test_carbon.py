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
