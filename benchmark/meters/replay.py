"""A meter that replays recorded readings, so tests and CI exercise the energy path without counters."""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.meters.base import EnergyMeter, EnergyReading


class ReplayMeter(EnergyMeter):
    """Each window returns ``watts[component] x window seconds`` from the next recorded power step.

    ``steps`` is a sequence of {component: watts}; the last step repeats once they run out.
    """

    source = "replay"

    def __init__(self, steps: Sequence[dict[str, float]], measured: bool = True) -> None:
        super().__init__()
        if not steps:
            raise ValueError("ReplayMeter needs at least one power step")
        self.steps = list(steps)
        self.measured = measured
        self.windows = 0

    def _start(self) -> None:
        pass

    def _stop(self, seconds: float) -> EnergyReading:
        watts = self.steps[min(self.windows, len(self.steps) - 1)]
        self.windows += 1
        return EnergyReading({k: w * seconds for k, w in watts.items()}, seconds, self.source, self.measured)
