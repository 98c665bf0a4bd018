"""CPU package and DRAM energy through Linux powercap (Intel RAPL, also exposed on recent AMD).

The counters are microjoule totals that wrap at ``max_energy_range_uj``; they are usually
readable by root only, in which case the harness falls back to an estimate and says so.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.meters.base import EnergyMeter, EnergyReading

POWERCAP = Path("/sys/class/powercap")


def rapl_zones(root: Path = POWERCAP) -> dict[str, Path]:
    """Readable top-level zones and their DRAM sub-zones, named ``cpu_package<N>`` / ``dram<N>``."""
    zones: dict[str, Path] = {}
    if not root.is_dir():
        return zones
    for zone in sorted(root.glob("intel-rapl:*")):
        try:
            name = (zone / "name").read_text().strip()
            int((zone / "energy_uj").read_text())
        except (OSError, ValueError):
            continue
        parts = zone.name.split(":")
        if name.startswith("package") and len(parts) == 2:
            zones[f"cpu_package{parts[1]}"] = zone
        elif name == "dram":
            zones[f"dram{parts[1]}"] = zone
    return zones


class RaplMeter(EnergyMeter):
    source = "rapl"
    measured = True

    def __init__(self, root: Path = POWERCAP) -> None:
        super().__init__()
        self.zones = rapl_zones(root)
        if not self.zones:
            raise RuntimeError(f"no readable RAPL zones under {root}")

    @staticmethod
    def _read(zone: Path) -> tuple[int, int]:
        return int((zone / "energy_uj").read_text()), int((zone / "max_energy_range_uj").read_text())

    def _start(self) -> None:
        self._start_uj = {name: self._read(zone)[0] for name, zone in self.zones.items()}

    def _stop(self, seconds: float) -> EnergyReading:
        joules = {}
        for name, zone in self.zones.items():
            now, wrap = self._read(zone)
            delta = now - self._start_uj[name]
            if delta < 0:  # the counter wrapped once during the window
                delta += wrap
            joules[name] = delta / 1e6
        return EnergyReading(joules, seconds, self.source, True)
