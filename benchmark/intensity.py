"""Time-resolved carbon: CO2e over the hours a run actually took, from an hourly intensity file.

A yearly average hides what the grid did while the job ran; time of day and region move the
figure several-fold (Dodge et al. 2022 use location- and time-specific *marginal* intensities).
An intensity file gives, per UTC hour, the average intensity (what the grid's mix emitted) and
the marginal one (what one more kWh emitted); both are reported, each with the file's source and
``resolution: hourly``. The job's energy is spread evenly over its span, so each hour is weighted
by the seconds of the run inside it. Without a file, CO2e uses the region's yearly average and
says ``resolution: annual-average`` (``benchmark.carbon``).

File format (CSV, UTF-8)::

    # source: where the figures come from (required)
    # region: the grid region (required)
    hour_utc,average_g_per_kwh,marginal_g_per_kwh
    2026-11-29T20:00:00Z,412.0,610.5
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmark.errors import UserError

COLUMNS = ("hour_utc", "average_g_per_kwh", "marginal_g_per_kwh")
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class HourlyIntensity:
    region: str
    source: str
    file: str
    sha256: str
    hours: dict[datetime, tuple[float, float]]  # hour start (UTC) -> (average, marginal) g/kWh

    def identity(self) -> dict[str, str]:
        """What of the file can change a figure (its bytes, by digest), for the job's key."""
        return {"file": self.file, "sha256": self.sha256, "region": self.region, "source": self.source}


def _fail(path: Path, line: int, what: str) -> UserError:
    return UserError(f"--intensity-file {path}, line {line}: {what}; see docs/methodology.md for the format")


def _hour(text: str, path: Path, line: int) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _fail(path, line, f"{text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise _fail(path, line, f"{text!r} has no time zone: give UTC, e.g. 2026-11-29T20:00:00Z")
    when = when.astimezone(UTC)
    if when.minute or when.second or when.microsecond:
        raise _fail(path, line, f"{text!r} is not the start of an hour")
    return when


def _grams(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise _fail(path, line, f"{column} {text!r} is not a number") from None
    if not 0 <= value < 10_000:
        raise _fail(path, line, f"{column} {value:g} g/kWh is outside 0..10000")
    return value


def load(path: Path) -> HourlyIntensity:
    """Read and check an intensity file; one clear error for anything malformed."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--intensity-file {path} cannot be read ({exc}): give a UTF-8 CSV file") from None
    meta: dict[str, str] = {}
    rows: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip()
        elif line.strip():
            rows.append((number, line))
    for key in ("source", "region"):
        if not meta.get(key):
            raise _fail(path, 1, f"the '# {key}: ...' header line is missing")
    if not rows or tuple(c.strip() for c in next(csv.reader([rows[0][1]]))) != COLUMNS:
        raise _fail(path, rows[0][0] if rows else 1, f"the column header must be {','.join(COLUMNS)}")
    hours: dict[datetime, tuple[float, float]] = {}
    for number, line in rows[1:]:
        cells = next(csv.reader([line]))
        if len(cells) != len(COLUMNS):
            raise _fail(path, number, f"{len(cells)} columns, expected {len(COLUMNS)}")
        hour = _hour(cells[0], path, number)
        if hour in hours:
            raise _fail(path, number, f"hour {cells[0]} appears twice")
        hours[hour] = (_grams(cells[1], path, number, COLUMNS[1]), _grams(cells[2], path, number, COLUMNS[2]))
    if not hours:
        raise _fail(path, len(rows), "no hourly rows")
    return HourlyIntensity(meta["region"], meta["source"], path.name, hashlib.sha256(raw).hexdigest(), hours)


def weights(start: datetime, end: datetime) -> dict[datetime, float]:
    """Seconds of [start, end) inside each UTC hour; a zero-length span counts its own hour."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    hour = start.replace(minute=0, second=0, microsecond=0)
    if end <= start:
        return {hour: 1.0}
    out: dict[datetime, float] = {}
    while hour < end:
        overlap = (min(end, hour + HOUR) - max(start, hour)).total_seconds()
        if overlap > 0:
            out[hour] = overlap
        hour += HOUR
    return out


def over_span(series: HourlyIntensity, start: datetime, end: datetime) -> dict[str, Any]:
    """Time-weighted average and marginal intensity over the span, or nulls with the reason."""
    span = weights(start, end)
    base: dict[str, Any] = {
        "resolution": "hourly",
        "region": series.region,
        "intensity_source": series.source,
        "intensity_file": series.file,
        "intensity_file_sha256": series.sha256,
        "span_utc": [start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()],
        "hours": len(span),
    }
    missing = [h for h in span if h not in series.hours]
    if missing:
        return {
            **base,
            "average_g_per_kwh": None,
            "marginal_g_per_kwh": None,
            "reason": f"the file has no intensity for {missing[0].isoformat()} (and {len(missing) - 1} more hours)",
        }
    total = sum(span.values())
    average = sum(series.hours[h][0] * s for h, s in span.items()) / total
    marginal = sum(series.hours[h][1] * s for h, s in span.items()) / total
    return {**base, "average_g_per_kwh": average, "marginal_g_per_kwh": marginal, "reason": None}


def co2e(energy_kwh: float | None, intensity: dict[str, Any], pue: float) -> dict[str, Any]:
    """Both CO2e figures of an energy figure at a span's intensities (null where either is)."""

    def kg(grams: float | None) -> float | None:
        return None if grams is None or energy_kwh is None else energy_kwh * pue * grams / 1000.0

    return {
        **intensity,
        "pue": pue,
        "co2e_kg_average": kg(intensity["average_g_per_kwh"]),
        "co2e_kg_marginal": kg(intensity["marginal_g_per_kwh"]),
    }


def reprice(metrics: dict[str, Any], series: HourlyIntensity, start: datetime, end: datetime, pue: float) -> None:
    """Add ``carbon_hourly`` next to each yearly-average carbon figure of a record's metrics."""
    intensity = over_span(series, start, end)
    energy = metrics.get("energy")
    if isinstance(energy, dict) and "energy_kwh_per_1k" in energy:
        energy["carbon_per_1k_hourly"] = co2e(energy["energy_kwh_per_1k"], intensity, pue)
    training = metrics.get("training")
    if isinstance(training, dict) and "training_energy_kwh" in training:
        training["training_carbon_hourly"] = co2e(training["training_energy_kwh"], intensity, pue)


def load_for_region(path: Path, region: str) -> HourlyIntensity:
    """Read a file for a job in ``region``: intensities of another grid would misprice the run."""
    from benchmark.carbon import lookup

    series = load(path)
    try:
        declared = lookup(series.region).region
    except UserError:
        declared = series.region
    if declared.upper() != lookup(region).region.upper():
        raise UserError(
            f"--intensity-file {path} is for region {series.region} but the job runs in {region}: "
            f"give --region {series.region}, or a file whose '# region:' is {region}"
        )
    return series
