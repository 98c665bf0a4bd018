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
    cpu_seconds: float | None = None  # CPU time of the job's processes in the window (estimate meter)
    samples: int | None = None  # power samples taken in the window (NVML), so a reader can judge it
    flags: tuple[str, ...] = field(default_factory=tuple)  # e.g. "counter-disagrees-with-power-samples"

    @property
    def total_joules(self) -> float:
        return sum(self.joules.values())


class EnergyMeter:
    """Subclasses implement ``_start`` and ``_stop``; ``with meter:`` then ``meter.reading``."""

    source = "unknown"
    measured = False
    min_window_s = 0.0  # shortest window this meter resolves; callers make windows at least this long

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
        self.min_window_s = max(m.min_window_s for m in meters)

    def _start(self) -> None:
        for meter in self.meters:
            meter.__enter__()

    def _stop(self, seconds: float) -> EnergyReading:
        joules: dict[str, float] = {}
        notes: list[str] = []
        flags: list[str] = []
        cpu_s: float | None = None
        samples: int | None = None
        for meter in reversed(self.meters):
            meter.__exit__(None, None, None)
        for meter in self.meters:
            reading = meter.reading
            assert reading is not None
            joules.update(reading.joules)
            notes.extend(reading.notes)
            flags.extend(reading.flags)
            cpu_s = reading.cpu_seconds if reading.cpu_seconds is not None else cpu_s
            samples = reading.samples if reading.samples is not None else samples
        return EnergyReading(joules, seconds, self.source, self.measured, tuple(notes), cpu_s, samples, tuple(flags))
