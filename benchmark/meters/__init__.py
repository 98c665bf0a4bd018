"""Energy meters behind one interface, and the choice of the best one this machine allows."""

from __future__ import annotations

from benchmark.meters.base import CompositeMeter, EnergyMeter, EnergyReading
from benchmark.meters.estimate import EstimateMeter
from benchmark.meters.nvml import NvmlMeter, nvml_available
from benchmark.meters.rapl import RaplMeter, rapl_zones
from benchmark.meters.replay import ReplayMeter
from benchmark.profiles import Profile

__all__ = [
    "CompositeMeter",
    "EnergyMeter",
    "EnergyReading",
    "EstimateMeter",
    "NvmlMeter",
    "RaplMeter",
    "ReplayMeter",
    "default_meter",
]


def default_meter(profile: Profile) -> EnergyMeter:
    """GPU by NVML where the profile uses one; host by RAPL where readable, else the estimate."""
    meters: list[EnergyMeter] = []
    if profile.device == "cuda" and nvml_available():
        meters.append(NvmlMeter())
    if rapl_zones():
        meters.append(RaplMeter())
    else:
        estimate = EstimateMeter(profile.declared_power_w)
        # A GPU profile on a machine whose GPU cannot be metered still gets a (labelled) GPU estimate.
        estimate.include_gpu = profile.device == "cuda" and not meters
        meters.append(estimate)
    return meters[0] if len(meters) == 1 else CompositeMeter(meters)
