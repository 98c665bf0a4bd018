"""Energy meters behind one interface, and the choice of the best one this machine allows."""

from __future__ import annotations

from benchmark.meters.base import CompositeMeter, EnergyMeter, EnergyReading
from benchmark.meters.cputime import CpuTimeSource, own_tree_source, tree_cpu_seconds
from benchmark.meters.estimate import EstimateMeter
from benchmark.meters.nvml import NvmlMeter, nvml_available
from benchmark.meters.rapl import RaplMeter, rapl_zones
from benchmark.meters.replay import ReplayMeter
from benchmark.profiles import Profile

__all__ = [
    "CompositeMeter",
    "CpuTimeSource",
    "EnergyMeter",
    "EnergyReading",
    "EstimateMeter",
    "NvmlMeter",
    "RaplMeter",
    "ReplayMeter",
    "default_meter",
    "own_tree_source",
    "tree_cpu_seconds",
]


def default_meter(profile: Profile, cpu_time: CpuTimeSource | None = None) -> EnergyMeter:
    """GPU by NVML where the profile uses one; host by RAPL where readable, else the estimate.

    ``cpu_time`` is what the estimate charges for: this process tree by default (which holds the
    sandboxed child, a descendant); pass another source only for processes outside that tree.
    """
    meters: list[EnergyMeter] = []
    if profile.device == "cuda" and nvml_available():
        meters.append(NvmlMeter())
    if rapl_zones():
        meters.append(RaplMeter())
    else:
        estimate = EstimateMeter(profile.declared_power_w, cores=profile.threads, cpu_time=cpu_time)
        # A GPU profile on a machine whose GPU cannot be metered still gets a (labelled) GPU estimate.
        estimate.include_gpu = profile.device == "cuda" and not meters
        meters.append(estimate)
    return meters[0] if len(meters) == 1 else CompositeMeter(meters)
