"""The estimate used where nothing can be measured: declared power scaled by measured CPU load.

CPU power = the profile's declared CPU watts x the machine's CPU utilisation over the window (busy
jiffies / all jiffies in /proc/stat, so the sandboxed child's work counts; this process's own CPU
time where /proc/stat is missing); DRAM = declared watts, constant, reported as its own component so
a reader sees how much of the figure is an assumption (codecarbon's 20 W RAM default was 71% of
its total on these machines). Always ``measured: false``.
"""

from __future__ import annotations

import os
import resource

from benchmark.meters.base import EnergyMeter, EnergyReading


def _proc_stat() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs since boot, or None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def _process_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class EstimateMeter(EnergyMeter):
    source = "estimate:declared-power"
    measured = False

    def __init__(self, declared_power_w: dict[str, float]) -> None:
        super().__init__()
        self.cpu_w = float(declared_power_w.get("cpu", 0.0))
        self.dram_w = float(declared_power_w.get("dram", 0.0))
        self.gpu_w = float(declared_power_w.get("gpu", 0.0))
        self.include_gpu = False

    def _start(self) -> None:
        self._stat0 = _proc_stat()
        self._cpu0 = _process_cpu_seconds()

    def utilisation(self, seconds: float) -> float:
        stat1 = _proc_stat()
        if self._stat0 is not None and stat1 is not None and stat1[1] > self._stat0[1]:
            return min(1.0, (stat1[0] - self._stat0[0]) / (stat1[1] - self._stat0[1]))
        return min(1.0, (_process_cpu_seconds() - self._cpu0) / (seconds * _cores())) if seconds > 0 else 0.0

    def _stop(self, seconds: float) -> EnergyReading:
        utilisation = self.utilisation(seconds)
        joules = {"cpu": self.cpu_w * utilisation * seconds}
        if self.dram_w:
            joules["dram"] = self.dram_w * seconds
        if self.include_gpu and self.gpu_w:
            joules["gpu"] = self.gpu_w * seconds
        notes = (
            f"cpu: declared {self.cpu_w:g} W x measured machine CPU utilisation {utilisation:.2f}",
            f"dram: declared {self.dram_w:g} W, constant",
        )
        return EnergyReading(joules, seconds, self.source, False, notes)
