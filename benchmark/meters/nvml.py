"""GPU energy through NVML, for the job's visible GPUs only.

The total-energy counter (Volta and newer) is the reference the best harnesses use (zeus,
codecarbon); power polling sees only part of the runtime on recent GPUs, so it is the fallback
and is labelled as such. Power is sampled in every window anyway: the integrated samples
cross-check the counter, a disagreement above ``CROSS_CHECK_TOLERANCE`` is flagged, and the
sample count is recorded. The counter updates about every 100 ms and power is averaged over up
to 1 s by the driver, so windows shorter than ``MIN_WINDOW_S`` are flagged, not trusted.

Only the GPUs the job can see are read: ``CUDA_VISIBLE_DEVICES`` by index or UUID, with CUDA's
rule that the list ends at the first entry that names no device (as zeus's monitor does), so a
job on one GPU of an eight-GPU node is charged for one.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from benchmark.meters.base import EnergyMeter, EnergyReading

CROSS_CHECK_TOLERANCE = 0.05
MIN_WINDOW_S = 1.0
MIN_SAMPLES_FOR_CHECK = 5


def nvml_available() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
        return count > 0
    except Exception:  # pynvml.NVMLError (no driver), ImportError
        return False


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def visible_indices(nvml: Any, env: Mapping[str, str] | None = None) -> list[int]:
    """NVML indices of the GPUs this job sees, in CUDA's order."""
    env = os.environ if env is None else env
    count = int(nvml.nvmlDeviceGetCount())
    spec = env.get("CUDA_VISIBLE_DEVICES")
    if spec is None:
        return list(range(count))
    uuids = [_text(nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i))) for i in range(count)]
    out: list[int] = []
    for token in (t.strip() for t in spec.split(",")):
        if token.lstrip("-").isdigit():
            index = int(token)
            if not 0 <= index < count:
                break
        else:
            matches = [i for i, uuid in enumerate(uuids) if token and uuid.startswith(token)]
            if len(matches) != 1:  # unknown, ambiguous prefix, or a MIG instance: CUDA stops here too
                break
            index = matches[0]
        if index in out:
            break
        out.append(index)
    return out


class NvmlMeter(EnergyMeter):
    measured = True
    min_window_s = MIN_WINDOW_S

    def __init__(
        self,
        indices: list[int] | None = None,
        sample_interval_s: float = 0.1,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        import pynvml

        self.nvml = pynvml
        pynvml.nvmlInit()
        chosen = indices if indices is not None else visible_indices(pynvml, env)
        self.handles = {i: pynvml.nvmlDeviceGetHandleByIndex(i) for i in chosen}
        self.sample_interval_s = sample_interval_s
        self.counter_ok = {i: self._counter(h) is not None for i, h in self.handles.items()}
        self.source = "nvml" if all(self.counter_ok.values()) else "nvml-power-sampling"

    def _counter(self, handle: object) -> int | None:
        try:
            return int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(handle))  # millijoules
        except self.nvml.NVMLError:
            return None

    def _power_w(self) -> dict[int, float]:
        return {i: self.nvml.nvmlDeviceGetPowerUsage(h) / 1000.0 for i, h in self.handles.items()}

    def _sample(self) -> None:
        """Trapezoids between consecutive power readings, closed by the last reading at stop."""
        last_t, last_w = time.perf_counter(), self._power_w()
        while not self._stop_event.wait(self.sample_interval_s):
            now, watts = time.perf_counter(), self._power_w()
            for i, w in watts.items():
                self._sampled[i] += (w + last_w[i]) / 2 * (now - last_t)
            self._samples += 1
            last_t, last_w = now, watts
        now = time.perf_counter()
        for i, w in last_w.items():
            self._sampled[i] += w * (now - last_t)

    def _start(self) -> None:
        self._start_mj = {i: self._counter(h) for i, h in self.handles.items() if self.counter_ok[i]}
        self._sampled = {i: 0.0 for i in self.handles}
        self._samples = 0
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _stop(self, seconds: float) -> EnergyReading:
        counted = {
            i: (self._counter(h) - self._start_mj[i]) / 1000.0  # type: ignore[operator]
            for i, h in self.handles.items()
            if self.counter_ok[i]
        }
        self._stop_event.set()
        self._thread.join()
        joules = {f"gpu{i}": counted.get(i, self._sampled[i]) for i in self.handles}
        notes: list[str] = []
        flags: list[str] = []
        if self.source != "nvml":
            notes.append(f"GPU without the energy counter: power sampled every {self.sample_interval_s * 1000:g} ms")
        if seconds < self.min_window_s:
            flags.append("window-under-1s")
            notes.append(f"window {seconds:.2f} s is under {self.min_window_s:g} s: too short for NVML")
        for i, counter_j in counted.items():
            sampled = self._sampled[i]
            if self._samples < MIN_SAMPLES_FOR_CHECK or counter_j <= 0:
                continue
            gap = abs(counter_j - sampled) / counter_j
            if gap > CROSS_CHECK_TOLERANCE:
                flags.append("counter-disagrees-with-power-samples")
                notes.append(
                    f"gpu{i}: counter {counter_j:.1f} J vs integrated power samples {sampled:.1f} J ({gap:.0%})"
                )
        notes.append(f"{self._samples} power samples over {len(self.handles)} visible GPU(s)")
        return EnergyReading(
            joules, seconds, self.source, True, tuple(notes), samples=self._samples, flags=tuple(flags)
        )
