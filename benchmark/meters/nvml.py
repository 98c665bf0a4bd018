"""GPU energy through NVML: the total-energy counter (Volta and newer), power sampling otherwise.

The counter is the reference the best harnesses use (zeus, codecarbon); power polling sees only
part of the runtime on recent GPUs, so it is the fallback and is labelled as such.
"""

from __future__ import annotations

import threading
import time

from benchmark.meters.base import EnergyMeter, EnergyReading


def nvml_available() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
        return count > 0
    except Exception:  # pynvml.NVMLError (no driver), ImportError
        return False


class NvmlMeter(EnergyMeter):
    measured = True

    def __init__(self, indices: list[int] | None = None, sample_interval_s: float = 0.05) -> None:
        super().__init__()
        import pynvml

        self.nvml = pynvml
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        self.handles = {
            i: pynvml.nvmlDeviceGetHandleByIndex(i) for i in (indices if indices is not None else range(count))
        }
        self.sample_interval_s = sample_interval_s
        self.counter_ok = {i: self._counter(h) is not None for i, h in self.handles.items()}
        self.source = "nvml" if all(self.counter_ok.values()) else "nvml-power-sampling"

    def _counter(self, handle: object) -> int | None:
        try:
            return int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(handle))  # millijoules
        except self.nvml.NVMLError:
            return None

    def _sample(self) -> None:
        last = time.perf_counter()
        while not self._stop_event.is_set():
            time.sleep(self.sample_interval_s)
            now = time.perf_counter()
            for i, handle in self.handles.items():
                if not self.counter_ok[i]:
                    watts = self.nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
                    self._sampled[i] += watts * (now - last)
            last = now

    def _start(self) -> None:
        self._start_mj = {i: self._counter(h) for i, h in self.handles.items() if self.counter_ok[i]}
        self._sampled = {i: 0.0 for i in self.handles}
        self._stop_event = threading.Event()
        self._thread = None
        if not all(self.counter_ok.values()):
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _stop(self, seconds: float) -> EnergyReading:
        joules = {}
        for i, handle in self.handles.items():
            if self.counter_ok[i]:
                joules[f"gpu{i}"] = (self._counter(handle) - self._start_mj[i]) / 1000.0  # type: ignore[operator]
        if self._thread is not None:
            self._stop_event.set()
            self._thread.join()
            joules.update({f"gpu{i}": j for i, j in self._sampled.items() if not self.counter_ok[i]})
        notes = () if self.source == "nvml" else ("GPU without the energy counter: power sampled every 50 ms",)
        return EnergyReading(joules, seconds, self.source, True, notes)
