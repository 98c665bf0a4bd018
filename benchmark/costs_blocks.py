"""The energy block of a record, and the stability verdict every spread-carrying figure gets.

A figure whose repeated windows disagree is not wrong, but it is not one to rank or gate on:
``unstable`` says so in the record, with the reason, rather than leaving a reader to notice a CV.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from benchmark import carbon
from benchmark.meters import EnergyReading
from benchmark.profiles import Profile

J_PER_KWH = 3.6e6
# Windows of one steady pass that differ by more than this (coefficient of variation) are flagged.
WINDOW_CV_LIMIT = 0.10


def stability(values: Sequence[float], cv_key: str, what: str, limit: float = WINDOW_CV_LIMIT) -> dict[str, Any]:
    """``{cv_key: cv, "unstable": bool, "unstable_reason": str | None}`` for per-window values."""
    finite = [v for v in values if v == v]
    if len(finite) < 2:
        return {cv_key: None, "unstable": None, "unstable_reason": f"{what}: fewer than two windows, spread unknown"}
    mean = statistics.fmean(finite)
    cv = statistics.pstdev(finite) / mean if mean > 0 else 0.0
    unstable = cv > limit
    reason = f"{what} spread by CV {cv:.3f}, over the limit {limit:g}" if unstable else None
    return {cv_key: cv, "unstable": unstable, "unstable_reason": reason}


def energy_block(
    reading: EnergyReading, idle: EnergyReading | None, n_instances: int, profile: Profile
) -> dict[str, Any]:
    """Total and idle-subtracted energy per component, per 1k instances, and its CO2e."""
    idle_w = {k: v / idle.seconds for k, v in idle.joules.items()} if idle and idle.seconds > 0 else {}
    active = {k: max(0.0, j - idle_w.get(k, 0.0) * reading.seconds) for k, j in reading.joules.items()}
    total_kwh = reading.total_joules / J_PER_KWH
    active_kwh = sum(active.values()) / J_PER_KWH
    per_1k = active_kwh / n_instances * 1000 if n_instances else float("nan")
    block: dict[str, Any] = {
        "energy_source": reading.source,
        "measured": reading.measured,
        "notes": [*reading.notes, f"co2e: resolution {carbon.RESOLUTION} (one yearly intensity for {profile.region})"],
        "window_s": reading.seconds,
        "n_instances": n_instances,
        "energy_kwh_total": total_kwh,
        "energy_kwh_active": active_kwh,
        "energy_kwh_per_1k": per_1k,
        "energy_kwh_total_per_1k": total_kwh / n_instances * 1000 if n_instances else float("nan"),
        "components_j_total": reading.joules,
        "components_j_active": active,
        "idle_power_w": idle_w,
        "idle_baseline_s": idle.seconds if idle else 0.0,
        "carbon_per_1k": carbon.price(per_1k, profile.region, profile.pue),
    }
    if reading.cpu_seconds is not None:
        block["cpu_seconds"] = reading.cpu_seconds
    if reading.samples is not None:
        block["power_samples"] = reading.samples
    if reading.flags:
        block["meter_flags"] = list(reading.flags)
    return block
