"""The meter interface: a context manager that returns joules per component.

Every reading says where it came from (``source``) and whether it was measured by a hardware
counter or only estimated (``measured``), so no estimate can pass for a measurement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import TracebackType


@dataclass(frozen=True)
class EnergyReading:
    joules: dict[str, float]  # per component, e.g. {"gpu0": ..., "cpu_package0": ..., "dram0": ...}
    seconds: float
    source: str  # "nvml", "nvml-power-sampling", "rapl", "estimate:<how>", "replay"
    measured: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_joules(self) -> float:
        return sum(self.joules.values())


class EnergyMeter:
    """Subclasses implement ``_start`` and ``_stop``; ``with meter:`` then ``meter.reading``."""

    source = "unknown"
    measured = False

    def __init__(self) -> None:
        self.reading: EnergyReading | None = None
        self._t0 = 0.0

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self, seconds: float) -> EnergyReading:
        raise NotImplementedError

    def __enter__(self) -> EnergyMeter:
        self.reading = None
        self._start()
        self._t0 = time.perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.reading = self._stop(time.perf_counter() - self._t0)


class CompositeMeter(EnergyMeter):
    """Several meters over the same window (NVML for the GPU, RAPL or an estimate for the host)."""

    def __init__(self, meters: list[EnergyMeter]) -> None:
        super().__init__()
        self.meters = meters
        self.source = "+".join(m.source for m in meters)
        self.measured = all(m.measured for m in meters)

    def _start(self) -> None:
        for meter in self.meters:
            meter.__enter__()

    def _stop(self, seconds: float) -> EnergyReading:
        joules: dict[str, float] = {}
        notes: list[str] = []
        for meter in reversed(self.meters):
            meter.__exit__(None, None, None)
        for meter in self.meters:
            assert meter.reading is not None
            joules.update(meter.reading.joules)
            notes.extend(meter.reading.notes)
        return EnergyReading(joules, seconds, self.source, self.measured, tuple(notes))
