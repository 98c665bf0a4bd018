from __future__ import annotations

import sys
import time
import types
from pathlib import Path

import pytest

from benchmark.costs import energy_block, idle_baseline
from benchmark.meters import CompositeMeter, EstimateMeter, ReplayMeter, default_meter
from benchmark.meters.nvml import NvmlMeter, nvml_available
from benchmark.meters.rapl import RaplMeter, rapl_zones
from benchmark.profiles import load_profile


def test_replayed_meter_through_energy_block():
    """Idle 10 W, busy 60 W on the GPU: active energy is the 50 W difference over the window."""
    meter = ReplayMeter([{"gpu0": 10.0, "dram0": 2.0}, {"gpu0": 60.0, "dram0": 2.0}])
    idle = idle_baseline(meter, 0.05)
    with meter:
        time.sleep(0.1)
    reading = meter.reading
    block = energy_block(reading, idle, n_instances=100, profile=load_profile("cpu"))
    assert block["energy_source"] == "replay" and block["measured"] is True
    assert block["components_j_active"]["gpu0"] == pytest.approx(50.0 * reading.seconds, rel=1e-6)
    assert block["components_j_active"]["dram0"] == pytest.approx(0.0, abs=1e-9)
    assert block["energy_kwh_per_1k"] == pytest.approx(50.0 * reading.seconds / 3.6e6 * 10, rel=1e-6)
    assert block["idle_power_w"]["gpu0"] == pytest.approx(10.0)


def test_estimate_is_labelled_and_scales_with_load():
    meter = EstimateMeter({"cpu": 20.0, "dram": 5.0})
    with meter:
        time.sleep(0.2)
    idle = meter.reading
    with meter:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 0.2:
            sum(range(1000))
    busy = meter.reading
    assert idle.measured is False and idle.source.startswith("estimate:")
    assert busy.joules["cpu"] > idle.joules["cpu"] * 5
    assert busy.joules["dram"] == pytest.approx(5.0 * busy.seconds)
    assert any("declared" in note for note in busy.notes)


def make_powercap(root: Path, package_uj: int, dram_uj: int, wrap: int = 1_000_000) -> None:
    for name, path, value in (("package-0", "intel-rapl:0", package_uj), ("dram", "intel-rapl:0:0", dram_uj)):
        zone = root / path
        zone.mkdir(parents=True, exist_ok=True)
        (zone / "name").write_text(name + "\n")
        (zone / "energy_uj").write_text(f"{value}\n")
        (zone / "max_energy_range_uj").write_text(f"{wrap}\n")


def test_rapl_reads_zones_and_handles_wrap(tmp_path):
    make_powercap(tmp_path, package_uj=900_000, dram_uj=100)
    assert set(rapl_zones(tmp_path)) == {"cpu_package0", "dram0"}
    meter = RaplMeter(tmp_path)
    with meter:
        make_powercap(tmp_path, package_uj=400_000, dram_uj=2_100)  # package wrapped past 1,000,000
    assert meter.reading.joules["cpu_package0"] == pytest.approx(0.5)
    assert meter.reading.joules["dram0"] == pytest.approx(0.002)
    assert meter.reading.measured and meter.reading.source == "rapl"


def test_no_rapl_no_nvml_here_degrades_to_estimate():
    if Path("/sys/class/powercap").is_dir() or nvml_available():
        pytest.skip("this machine has hardware energy counters")
    meter = default_meter(load_profile("cpu"))
    assert isinstance(meter, EstimateMeter)
    gpu_profile = default_meter(load_profile("h200"))  # GPU profile on a machine with no NVML
    assert isinstance(gpu_profile, EstimateMeter) and gpu_profile.include_gpu


def test_pynvml_errors_mean_unavailable(monkeypatch):
    fake = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    def fail() -> None:
        raise NVMLError("Driver Not Loaded")

    fake.NVMLError = NVMLError
    fake.nvmlInit = fail
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    assert nvml_available() is False


def fake_nvml(counter_supported: bool) -> types.ModuleType:
    fake = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    state = {"mj": 1_000_000}
    fake.NVMLError = NVMLError
    fake.nvmlInit = lambda: None
    fake.nvmlShutdown = lambda: None
    fake.nvmlDeviceGetCount = lambda: 1
    fake.nvmlDeviceGetHandleByIndex = lambda i: f"handle{i}"

    def energy(handle: str) -> int:
        if not counter_supported:
            raise NVMLError("Not Supported")
        state["mj"] += 250_000  # each read: +250 J
        return state["mj"]

    fake.nvmlDeviceGetTotalEnergyConsumption = energy
    fake.nvmlDeviceGetPowerUsage = lambda handle: 100_000  # 100 W in milliwatts
    return fake


def test_nvml_counter(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(True))
    meter = NvmlMeter()
    with meter:
        pass
    assert meter.reading.source == "nvml" and meter.reading.joules == {"gpu0": pytest.approx(250.0)}


def test_nvml_power_sampling_fallback_is_labelled(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(False))
    meter = NvmlMeter(sample_interval_s=0.01)
    with meter:
        time.sleep(0.3)
    assert meter.reading.source == "nvml-power-sampling" and meter.reading.measured
    assert meter.reading.joules["gpu0"] == pytest.approx(100.0 * 0.3, rel=0.25)
    assert meter.reading.notes


def test_composite_meter_merges_and_marks_estimates():
    meter = CompositeMeter([ReplayMeter([{"gpu0": 100.0}]), EstimateMeter({"cpu": 10.0, "dram": 1.0})])
    with meter:
        time.sleep(0.05)
    assert set(meter.reading.joules) == {"gpu0", "cpu", "dram"}
    assert meter.reading.measured is False and meter.reading.source == "replay+estimate:declared-power"
