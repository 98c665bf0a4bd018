"""The estimate used where nothing can be measured: declared power charged for the job's own CPU time.

CPU energy = the profile's declared CPU watts per core x the CPU seconds of the job's process tree
(the harness and the sandboxed child, from /proc), so a neighbour's load on a shared machine
neither inflates the idle baseline nor hides the job's work: an idle harness uses no CPU time and
is charged nothing. "Per core" is the declared CPU watts over the profile's thread count, i.e. the
declared figure is what the profile's cores draw when all of them are busy.
DRAM = declared watts, constant, reported as its own component so a reader sees how much of the
figure is an assumption (codecarbon's 20 W RAM default was 71% of its total on these machines).
Always ``measured: false``.
"""

from __future__ import annotations

from benchmark.meters.base import EnergyMeter, EnergyReading
from benchmark.meters.cputime import CpuTimeSource, own_tree_source


class EstimateMeter(EnergyMeter):
    source = "estimate:cpu-time"
    measured = False

    def __init__(
        self, declared_power_w: dict[str, float], cores: int = 1, cpu_time: CpuTimeSource | None = None
    ) -> None:
        super().__init__()
        if cores < 1:
            raise ValueError(f"cores must be >= 1, got {cores}")
        self.cpu_w = float(declared_power_w.get("cpu", 0.0))
        self.dram_w = float(declared_power_w.get("dram", 0.0))
        self.gpu_w = float(declared_power_w.get("gpu", 0.0))
        self.cores = cores
        self.cpu_time = cpu_time or own_tree_source()
        self.include_gpu = False

    @property
    def watts_per_cpu_second(self) -> float:
        return self.cpu_w / self.cores

    def _start(self) -> None:
        self._cpu0 = self.cpu_time()

    def _stop(self, seconds: float) -> EnergyReading:
        cpu_s = max(0.0, self.cpu_time() - self._cpu0)
        joules = {"cpu": self.watts_per_cpu_second * cpu_s}
        if self.dram_w:
            joules["dram"] = self.dram_w * seconds
        if self.include_gpu and self.gpu_w:
            joules["gpu"] = self.gpu_w * seconds
        notes = (
            f"cpu: declared {self.cpu_w:g} W over {self.cores} cores = {self.watts_per_cpu_second:g} W per CPU "
            f"second x {cpu_s:.3f} CPU s of the job's processes",
            f"dram: declared {self.dram_w:g} W, constant",
        )
        return EnergyReading(joules, seconds, self.source, False, notes, cpu_seconds=cpu_s)
