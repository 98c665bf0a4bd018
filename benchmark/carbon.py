"""Region-adjusted CO2e: energy x grid carbon intensity of the region x PUE.

Intensities come from the data codecarbon ships (read as files; no tracker is started), and each
priced figure records the intensity, where it came from and its year, because a CO2e figure
without its grid is not comparable (the AI Energy Score reports energy alone for that reason).

Region names:
- ``WORLD``: codecarbon's world average;
- a country ISO 3166-1 alpha-3 code (``USA``, ``FRA``);
- ``USA/<state code>`` (eGRID, e.g. ``USA/CA``), ``CAN/<province name>`` (``CAN/ontario``);
- a Nordic bidding zone (``SE1`` .. ``SE4``, ``NO1`` .. ``NO5``, ``FI``);
- ``<provider>:<region>`` for a cloud region codecarbon lists (``gcp:europe-west1``).
"""

from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import UserError

LBS_PER_MWH_TO_G_PER_KWH = 453.59237 / 1000.0
# What ``price`` uses: one intensity per region and year. An hourly file gives "hourly" figures
# (benchmark.intensity). Recorded in the energy block's notes until the schema has a field for it.
RESOLUTION = "annual-average"
# Comparable re-pricing of every run, wherever it ran: the world average, a low- and a high-carbon grid.
REFERENCE_REGIONS = ("WORLD", "FRA", "POL")
# codecarbon's names for generation sources in the Canadian mix -> its per-source intensity keys.
_CANADA_SOURCES = {
    "naturalGas": "natural_gas",
    "nuclear": "nuclear",
    "petroleum": "petroleum",
    "biomass": "biomass",
    "coal": "coal",
    "solar": "solar",
    "wind": "wind",
    "hydro": "hydroelectricity",
}


@dataclass(frozen=True)
class Intensity:
    region: str
    g_per_kwh: float
    source: str
    year: int | None


def _data_dir() -> Path:
    """codecarbon's shipped tables, found without importing it: its ``__init__`` starts the whole
    tracker stack (a dozen packages), none of which the harness uses."""
    import importlib.util

    spec = importlib.util.find_spec("codecarbon")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("codecarbon is not installed: pip install codecarbon (its intensity tables price CO2e)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@functools.cache
def _json(rel: str) -> dict:
    return json.loads((_data_dir() / rel).read_text(encoding="utf-8"))


def _usa_file() -> str:
    years = sorted(p.name for p in (_data_dir() / "private_infra").iterdir() if p.name.isdigit())
    return f"private_infra/{years[-1]}/usa_emissions.json"


def _canada_file() -> str:
    years = sorted(p.name for p in (_data_dir() / "private_infra").iterdir() if p.name.isdigit())
    return f"private_infra/{years[-1]}/canada_energy_mix.json"


def _per_source() -> dict:
    return _json("private_infra/carbon_intensity_per_source.json")


@functools.cache
def lookup(region: str) -> Intensity:
    """The grid intensity of a region, or one clear error listing the forms a region can take."""
    key = region.strip()
    if key.upper() == "WORLD":
        return Intensity("WORLD", float(_per_source()["world_average"]), "codecarbon world_average (IEA 2019)", 2019)
    if ":" in key:
        provider, name = key.split(":", 1)
        with (_data_dir() / "cloud" / "impact.csv").open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["provider"] == provider.lower() and row["region"] == name:
                    return Intensity(key, float(row["impact"]), f"codecarbon cloud/impact.csv ({row['source']})", None)
        raise UserError(f"unknown cloud region {key!r}: use provider:region as in codecarbon's cloud/impact.csv")
    if "/" in key:
        country, sub = key.split("/", 1)
        if country.upper() == "USA":
            data = _json(_usa_file())
            for name, row in data.items():
                if not name.startswith("_") and (
                    row.get("regionCode", "").upper() == sub.upper() or name == sub.lower()
                ):
                    year = data["_source"]["year"]
                    return Intensity(
                        key, row["emissions"] * LBS_PER_MWH_TO_G_PER_KWH, f"codecarbon EPA eGRID{year}", year
                    )
        if country.upper() == "CAN":
            mix = _json(_canada_file()).get(sub.lower())
            if mix:
                per = _per_source()
                total = sum(mix[s] for s in _CANADA_SOURCES if s in mix)
                grams = sum(mix[s] * per[k] for s, k in _CANADA_SOURCES.items() if s in mix) / total
                return Intensity(key, grams, "codecarbon canada_energy_mix x per-source intensity", None)
        raise UserError(
            f"unknown sub-national region {key!r}: use USA/<state code> (USA/CA) or CAN/<province> (CAN/ontario)"
        )
    nordic = _json("private_infra/nordic_emissions.json")["data"]
    if key.upper() in nordic:
        zone = nordic[key.upper()]
        return Intensity(key.upper(), float(zone["emission_factor"]), "codecarbon nordic_emissions", zone.get("year"))
    countries = _json("private_infra/global_energy_mix.json")
    if key.upper() in countries:
        row = countries[key.upper()]
        return Intensity(key.upper(), float(row["carbon_intensity"]), "codecarbon global_energy_mix", row.get("year"))
    raise UserError(
        f"unknown region {region!r}: give WORLD, a country ISO alpha-3 code (USA, FRA), USA/<state>, "
        f"CAN/<province>, a Nordic zone (SE3) or provider:region (gcp:europe-west1)"
    )


def co2e_kg(energy_kwh: float, intensity: Intensity, pue: float) -> float:
    return energy_kwh * pue * intensity.g_per_kwh / 1000.0


def price(energy_kwh: float, region: str, pue: float) -> dict[str, object]:
    """CO2e of an energy figure in the run's region and at the reference regions."""
    own = lookup(region)
    return {
        "region": own.region,
        "pue": pue,
        "intensity_g_per_kwh": own.g_per_kwh,
        "intensity_source": own.source,
        "intensity_year": own.year,
        "co2e_kg": co2e_kg(energy_kwh, own, pue),
        "resolution": RESOLUTION,
        "reference_regions": {
            ref.region: {"intensity_g_per_kwh": ref.g_per_kwh, "co2e_kg": co2e_kg(energy_kwh, ref, pue)}
            for ref in (lookup(r) for r in REFERENCE_REGIONS)
        },
    }
