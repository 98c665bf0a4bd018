from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from benchmark.costs import energy_block, idle_baseline
from benchmark.meters import CompositeMeter, EstimateMeter, ReplayMeter, default_meter
from benchmark.meters.cputime import descendants, own_tree_source, tree_cpu_seconds
from benchmark.meters.nvml import NvmlMeter, nvml_available, visible_indices
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


def test_estimate_charges_declared_watts_per_core_for_cpu_seconds():
    """A fake CPU-time source: the charge is exact, whatever else runs on the machine."""
    clock = {"cpu": 10.0}
    meter = EstimateMeter({"cpu": 20.0, "dram": 5.0}, cores=2, cpu_time=lambda: clock["cpu"])
    with meter:
        clock["cpu"] += 3.0  # 3 CPU seconds of the job's processes
    busy = meter.reading
    assert busy.measured is False and busy.source == "estimate:cpu-time"
    assert busy.joules["cpu"] == pytest.approx(10.0 * 3.0)  # 20 W over 2 cores = 10 W per CPU second
    assert busy.cpu_seconds == pytest.approx(3.0)
    assert busy.joules["dram"] == pytest.approx(5.0 * busy.seconds)
    assert any("per CPU second" in note for note in busy.notes)
    with meter:
        pass
    assert meter.reading.joules["cpu"] == 0.0


def test_estimate_follows_own_cpu_time_not_machine_load():
    """Busy for 0.2 s of *this process's* CPU time: charged for about 0.2 s at 10 W, on a quiet or a
    loaded machine alike (the loop waits on CPU time, not wall time)."""
    meter = EstimateMeter({"cpu": 20.0}, cores=2)
    with meter:
        t0 = time.process_time()
        while time.process_time() - t0 < 0.2:
            pass
    assert meter.reading.cpu_seconds == pytest.approx(0.2, abs=0.05)
    assert meter.reading.joules["cpu"] == pytest.approx(2.0, abs=0.5)


BURN = "import time\nt=time.process_time()\nwhile time.process_time()-t<{s}: pass\n"


def test_cpu_time_counts_children_but_not_neighbours():
    """A child's CPU time counts (the sandboxed worker is one); a neighbour's does not, so it can
    neither inflate an idle window nor a busy one."""
    source = own_tree_source()
    before = source()
    subprocess.run([sys.executable, "-c", BURN.format(s=0.3)], check=True)  # a child, reaped
    assert source() - before >= 0.25
    neighbour = subprocess.Popen(  # double fork: the burner is reparented away from this tree
        ["sh", "-c", f"{sys.executable} -c '{BURN.format(s=1.0)}' >/dev/null 2>&1 &"]
    )
    neighbour.wait()
    meter = EstimateMeter({"cpu": 20.0}, cores=2)
    with meter:
        time.sleep(0.4)
    assert meter.reading.cpu_seconds < 0.05


def test_tree_cpu_seconds_reads_a_fake_proc(tmp_path):
    """Parsing survives a command name with spaces and parentheses; descendants are summed."""

    def stat(pid: int, ppid: int, ticks: tuple[int, int, int, int], name: str = "python") -> None:
        folder = tmp_path / str(pid)
        (folder / "task" / str(pid)).mkdir(parents=True)
        rest = ["S", str(ppid)] + ["0"] * 9 + [str(t) for t in ticks] + ["0"] * 5
        (folder / "stat").write_text(f"{pid} ({name}) " + " ".join(rest) + "\n")

    stat(10, 1, (100, 50, 20, 5), name="weird ) name (")
    stat(11, 10, (30, 10, 0, 0))
    stat(12, 11, (5, 5, 0, 0))
    stat(13, 1, (999, 999, 0, 0))  # a neighbour
    (tmp_path / "10" / "task" / "10" / "children").write_text("11")
    (tmp_path / "11" / "task" / "11" / "children").write_text("12 ")
    (tmp_path / "12" / "task" / "12" / "children").write_text("")
    assert descendants(10, tmp_path) == [10, 11, 12]
    ticks = os.sysconf("SC_CLK_TCK")
    assert tree_cpu_seconds(10, tmp_path) == pytest.approx((175 + 40 + 10) / ticks)
    for pid in (10, 11, 12):  # a kernel without children files: one scan of /proc instead
        (tmp_path / str(pid) / "task" / str(pid) / "children").unlink()
    assert sorted(descendants(10, tmp_path)) == [10, 11, 12]


def test_idle_baseline_of_the_estimate_needs_no_window():
    meter = EstimateMeter({"cpu": 15.0, "dram": 3.0}, cores=2)
    idle = idle_baseline(meter, 2.0)
    assert any("no window" in note for note in idle.notes)
    assert idle.joules == {"cpu": 0.0, "dram": pytest.approx(6.0)} and idle.seconds == 2.0


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
    assert meter.reading.measured is False and meter.reading.source == "replay+estimate:cpu-time"


def fake_multi_nvml(uuids: list[str], watts: list[float], counter_factor: float = 1.0) -> types.ModuleType:
    """Several GPUs, each drawing constant power; the counter advances with wall time (x factor)."""
    fake = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    t0 = time.perf_counter()
    fake.NVMLError = NVMLError
    fake.nvmlInit = lambda: None
    fake.nvmlShutdown = lambda: None
    fake.nvmlDeviceGetCount = lambda: len(uuids)
    fake.nvmlDeviceGetHandleByIndex = lambda i: i
    fake.nvmlDeviceGetUUID = lambda h: uuids[h].encode()
    fake.nvmlDeviceGetPowerUsage = lambda h: int(watts[h] * 1000)
    fake.nvmlDeviceGetTotalEnergyConsumption = lambda h: int(
        (time.perf_counter() - t0) * watts[h] * counter_factor * 1000
    )
    return fake


UUIDS = ["GPU-aaaa1111", "GPU-bbbb2222", "GPU-bbbb3333", "GPU-cccc4444"]


@pytest.mark.parametrize(
    ("visible", "expected"),
    [
        (None, [0, 1, 2, 3]),  # unset: every GPU
        ("", []),  # set but empty: none
        ("2", [2]),
        ("3,1", [3, 1]),  # CUDA's order, not NVML's
        ("1,7,2", [1]),  # the list ends at the first index that names no device
        ("-1,0", []),
        ("GPU-cccc", [3]),  # a unique UUID prefix
        ("GPU-bbbb", []),  # ambiguous prefix: CUDA stops there
        ("GPU-aaaa1111,2", [0, 2]),  # UUIDs and indices mixed
        ("MIG-dead", []),  # a MIG instance has no energy counter of its own
        ("0,0", [0]),
    ],
)
def test_visible_gpus_follow_cuda_visible_devices(visible, expected):
    nvml = fake_multi_nvml(UUIDS, [100.0] * 4)
    env = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    assert visible_indices(nvml, env) == expected


def test_nvml_meter_reads_only_visible_gpus_and_counts_samples(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_multi_nvml(UUIDS, [100.0, 200.0, 300.0, 400.0]))
    meter = NvmlMeter(sample_interval_s=0.02, env={"CUDA_VISIBLE_DEVICES": "1"})
    with meter:
        time.sleep(0.3)
    reading = meter.reading
    assert set(reading.joules) == {"gpu1"}
    assert reading.joules["gpu1"] == pytest.approx(200.0 * reading.seconds, rel=0.1)
    assert reading.samples >= 5
    assert "window-under-1s" in reading.flags  # 0.3 s is shorter than NVML resolves
    assert "counter-disagrees-with-power-samples" not in reading.flags


def test_counter_that_disagrees_with_power_samples_is_flagged(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_multi_nvml(UUIDS[:1], [100.0], counter_factor=1.2))
    meter = NvmlMeter(sample_interval_s=0.02)
    with meter:
        time.sleep(0.3)
    assert "counter-disagrees-with-power-samples" in meter.reading.flags
    assert any(note.startswith("gpu0: counter") for note in meter.reading.notes)


@pytest.mark.parametrize(
    ("visible", "names", "matched"),
    [
        (None, ["NVIDIA H200", "NVIDIA H200"], True),
        (None, ["NVIDIA H200", "NVIDIA A100-SXM4-80GB"], False),  # the second GPU counts too
        ("0", ["NVIDIA H200", "NVIDIA A100-SXM4-80GB"], True),  # the job sees only the H200
        ("1", ["NVIDIA H200", "NVIDIA A100-SXM4-80GB"], False),
        ("", ["NVIDIA H200"], False),  # no visible GPU at all
    ],
)
def test_fingerprint_lists_and_checks_every_visible_gpu(monkeypatch, visible, names, matched):
    from benchmark.fingerprint import _gpus, profile_match

    fake = fake_multi_nvml([f"GPU-{i:04d}" for i in range(len(names))], [100.0] * len(names))
    fake.nvmlSystemGetDriverVersion = lambda: b"550.54"
    fake.nvmlDeviceGetName = lambda h: names[h].encode()
    fake.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(total=141 * 1024**3)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    gpus, driver = _gpus()
    assert driver == "550.54" and all(g["uuid"].startswith("GPU-") for g in gpus)
    ok, reasons = profile_match(load_profile("h200"), {"gpus": gpus, "cpu_cores": 16, "cpu_model": "x"})
    assert ok is matched, reasons
