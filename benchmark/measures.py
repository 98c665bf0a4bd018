"""Measurement values that carry their unit and do their own arithmetic.

A bare float in a record says nothing about whether it is joules or kWh, per instance or per 1k,
idle-subtracted or not; mixing them up is how a figure ends up 3.6 million times off. These small
types (after optimum-benchmark's ``trackers/energy.py`` ``Energy``) make the unit part of the value,
so the writer (``benchmark.costs``) and the checker (``benchmark.consistency``) derive each figure
with the same arithmetic and cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

J_PER_KWH = 3.6e6
PER = 1000  # the board prices every inference figure per 1,000 instances


def _finite(value: float, what: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return value


@dataclass(frozen=True, order=True)
class Duration:
    seconds: float

    def __post_init__(self) -> None:
        if _finite(self.seconds, "a duration") < 0:
            raise ValueError(f"a duration cannot be negative, got {self.seconds} s")


@dataclass(frozen=True, order=True)
class Power:
    watts: float

    def __post_init__(self) -> None:
        _finite(self.watts, "a power")

    @classmethod
    def average(cls, energy: Energy, over: Duration) -> Power:
        """Mean power of ``energy`` spent over ``over`` (0 W over an empty window)."""
        return cls(energy.joules / over.seconds if over.seconds > 0 else 0.0)

    def over(self, duration: Duration) -> Energy:
        return Energy(self.watts * duration.seconds / J_PER_KWH)


@dataclass(frozen=True, order=True)
class Energy:
    """Energy in kWh (the unit the board shows); may be negative only as an intermediate."""

    kwh: float

    def __post_init__(self) -> None:
        _finite(self.kwh, "an energy")

    @classmethod
    def from_joules(cls, joules: float) -> Energy:
        return cls(_finite(joules, "an energy") / J_PER_KWH)

    @property
    def joules(self) -> float:
        return self.kwh * J_PER_KWH

    def __add__(self, other: Energy) -> Energy:
        return Energy(self.kwh + other.kwh)

    def minus_idle(self, idle: Power, window: Duration) -> Energy:
        """Active energy: what the work added above the idle draw over the same window, never below 0
        (a meter's noise can make a short window read under its idle baseline)."""
        return Energy(max(0.0, self.kwh - idle.over(window).kwh))

    def per_instance(self, n: int) -> Energy | None:
        """None for no instances: a per-instance figure of nothing is not 0, it does not exist."""
        return Energy(self.kwh / n) if n > 0 else None

    def per_1k(self, n: int) -> Energy | None:
        each = self.per_instance(n)
        return Energy(each.kwh * PER) if each is not None else None

    def co2e(self, intensity_g_per_kwh: float, pue: float) -> Co2e:
        """Energy x grid intensity x PUE, as ``benchmark.carbon.co2e_kg`` prices it."""
        return Co2e(self.kwh * pue * intensity_g_per_kwh / 1000.0)


@dataclass(frozen=True, order=True)
class Co2e:
    kg: float

    def __post_init__(self) -> None:
        _finite(self.kg, "a CO2e mass")


@dataclass(frozen=True, order=True)
class Flops:
    """A FLOP count (a whole number when counted; a mean over instances need not be)."""

    count: float

    def __post_init__(self) -> None:
        if _finite(self.count, "a FLOP count") < 0:
            raise ValueError(f"a FLOP count cannot be negative, got {self.count}")

    def per_instance(self, n: int) -> Flops | None:
        return Flops(self.count / n) if n > 0 else None

    def times(self, n: int) -> Flops:
        return Flops(self.count * n)


@dataclass(frozen=True)
class Rate:
    """Instances per second."""

    per_s: float

    @classmethod
    def of(cls, n: int, seconds: Duration) -> Rate | None:
        return cls(n / seconds.seconds) if seconds.seconds > 0 else None
