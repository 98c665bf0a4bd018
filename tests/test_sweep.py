"""Sweep files, the local and Ray executors, resuming after a killed driver, one GPU per job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.errors import UserError
from benchmark.record import find_runs, read_run
from benchmark.spec import RunOptions
from benchmark.sweep import expand, load_sweep
from benchmark.sweep_run import load_jobs

REPO = Path(__file__).resolve().parent.parent


def sweep_file(tmp_path: Path, data_dir: Path, fast_profile: Path, body: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"out: store\ndata_dir: {data_dir}\n" + body.replace("PROFILE", str(fast_profile)))
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("groups: []\n", "groups: List should have at least 1 item"),
        ("groups:\n  - {submissions: [x], tasks: [ag_news], seedz: [0]}\n", "groups.0.seedz: unknown key"),
        ("groups:\n  - {tasks: [ag_news]}\n", "groups.0.submissions: Field required"),
        ("groups:\n  - {submissions: [x], tasks: [ag_news], limit: 0}\n", "groups.0.limit"),
        ("outt: store\ngroups: []\n", "outt: unknown key"),
        ("- a list\n", "must be a mapping"),
        ("groups: [\n", "not valid UTF-8 YAML"),
    ],
)
def test_bad_sweep_files_name_the_key(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as err:
        load_sweep(path)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_a_pattern_matching_no_entry_is_an_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("groups:\n  - {submissions: [nowhere/*], tasks: [ag_news]}\n")
    with pytest.raises(UserError, match="matches no folder"):
        expand(load_sweep(path), tmp_path)


def test_grid_seeds_and_tasks_expand_to_every_job(tmp_path, data_dir, fast_profile):
    path = sweep_file(
        tmp_path,
        data_dir,
        fast_profile,
        f"groups:\n  - submissions: [{REPO}/submissions/early-exit]\n    tasks: [ag_news, hyperpartisan]\n"
        "    grid: {threshold: [0.6, 0.8, 1.01]}\n    seeds: [0, 1]\n    profiles: [PROFILE]\n"
        "    intensity_file: hours.csv\n",
    )
    jobs, options = load_jobs(path, RunOptions(), out_given=False)
    assert len(jobs) == 2 * 3 * 2 and options.out == path.parent / "store"
    assert {dict(j.params)["threshold"] for j in jobs} == {0.6, 0.8, 1.01}
    assert {j.intensity_file for j in jobs} == {path.parent / "hours.csv"}  # relative to the sweep file


BOARD = (
    "groups:\n  - submissions: [{repo}/submissions/majority-class, {repo}/submissions/minilm-linear-probe]\n"
    "    tasks: [ag_news, winogrande, hyperpartisan]\n    profiles: [PROFILE]\n    limit: 12\n    train_limit: 40\n"
    "    measure_costs: false\n"
)


def _predictions(store: Path) -> dict[str, list]:
    out = {}
    for run_dir in find_runs(store):
        record = read_run(run_dir)
        out[record.run["job_key"]] = sorted((p["eval_set"], p["id"], p["prediction"]) for p in record.predictions)
    return out


@pytest.mark.slow
def test_local_and_ray_executors_run_the_same_jobs(tmp_path, data_dir, fast_profile, isolated_cache):
    pytest.importorskip("ray")
    from benchmark.sweep_run import executor_for, run_sweep
    from benchmark.validate import validate_paths

    stores = {}
    for executor in ("local", "ray"):
        folder = tmp_path / executor
        folder.mkdir()
        path = sweep_file(folder, data_dir, fast_profile, BOARD.format(repo=REPO))
        jobs, options = load_jobs(path, RunOptions(quiet=True), out_given=False)
        outcomes = run_sweep(jobs, options, executor_for(executor, None))
        assert [(o.status, o.message) for o in outcomes] == [("complete", "")] * 6
        stores[executor] = folder / "store"
    local, ray = _predictions(stores["local"]), _predictions(stores["ray"])
    assert len(local) == 6 and local.keys() == ray.keys()
    assert local == ray  # same jobs, same keys, identical predictions
    for store in stores.values():
        report = validate_paths([store], data_dir)
        assert {run: problems for run, problems in report.items() if problems} == {}


@pytest.mark.slow
def test_a_killed_driver_redoes_nothing_that_completed(tmp_path, data_dir, fast_profile, isolated_cache):
    body = (
        f"groups:\n  - submissions: [{REPO}/submissions/majority-class]\n    tasks: [ag_news, hyperpartisan]\n"
        "    seeds: [0, 1, 2, 3]\n    profiles: [PROFILE]\n    limit: 12\n    sandbox: none\n"
    )
    path = sweep_file(tmp_path, data_dir, fast_profile, body)
    store = tmp_path / "store"
    cmd = [sys.executable, "-m", "benchmark.cli", "sweep", str(path), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(find_runs(store) if store.exists() else []) < 2:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {run: (run / "run.json").stat().st_mtime_ns for run in find_runs(store)}
    assert 2 <= len(before) < 8, "the driver was killed mid-sweep"
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("skipped:") == len(before) and done.stderr.count("complete:") == 8 - len(before)
    assert all((run / "run.json").stat().st_mtime_ns == mtime for run, mtime in before.items())
    assert len(find_runs(store)) == 8


@pytest.mark.slow
def test_each_ray_job_sees_and_meters_only_its_own_gpu():
    """Four fake GPUs on one Ray node: a GPU-profile job's resources give it one GPU, and the NVML
    meter built inside it reads only that one (CUDA_VISIBLE_DEVICES, set by Ray)."""
    ray = pytest.importorskip("ray")
    from benchmark.executors import _resources

    assert _resources_for("h200") == {"num_gpus": 1, "num_cpus": 1}
    assert _resources_for("cpu")["resources"] == {"greenbench_cpu_node": 1}
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=4, num_gpus=4, include_dashboard=False, log_to_driver=False)
    try:

        @ray.remote(**_resources(_request("h200")))
        def job() -> tuple[str, list[int]]:
            import sys
            import types

            fake = types.ModuleType("pynvml")
            fake.NVMLError = RuntimeError
            fake.nvmlInit = lambda: None
            fake.nvmlShutdown = lambda: None
            fake.nvmlDeviceGetCount = lambda: 4
            fake.nvmlDeviceGetHandleByIndex = lambda i: i
            fake.nvmlDeviceGetUUID = lambda h: f"GPU-{h}"
            fake.nvmlDeviceGetTotalEnergyConsumption = lambda h: 1000 * (h + 1)
            fake.nvmlDeviceGetPowerUsage = lambda h: 100_000
            sys.modules["pynvml"] = fake
            from benchmark.meters.nvml import NvmlMeter

            time.sleep(0.5)  # hold the GPU so the four jobs overlap
            return os.environ.get("CUDA_VISIBLE_DEVICES", ""), sorted(NvmlMeter().handles)

        seen = ray.get([job.remote() for _ in range(4)])
    finally:
        ray.shutdown()
    visible = sorted(v for v, _ in seen)
    assert visible == ["0", "1", "2", "3"]
    assert all(metered == [int(v)] for v, metered in seen)


def _request(profile: str):
    from benchmark.spec import JobRequest

    return JobRequest(task="ag_news", submission=REPO / "submissions" / "majority-class", profile=profile)


def _resources_for(profile: str) -> dict:
    from benchmark.executors import _resources

    return _resources(_request(profile))
