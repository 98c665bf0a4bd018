"""Scheduling overhead per job of a sweep, local vs Ray, on N majority-class jobs (one run each).

The jobs are majority-class on AG News with distinct seeds, accuracy only, in the sandbox: the
cheapest real jobs, so what is left over is the executor's own cost. Overhead per job = (sweep
wall time - sum of the jobs' own times) / N; both executors run in this one process, one after
the other, into fresh stores.

    python tools/bench_sweep.py [--jobs 20] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.spec import JobRequest, RunOptions  # noqa: E402
from benchmark.sweep_run import executor_for, run_sweep  # noqa: E402


def jobs(n: int, data_dir: Path) -> list[JobRequest]:
    return [
        JobRequest(
            task="ag_news",
            submission=REPO / "submissions" / "majority-class",
            profile=str(REPO / "tests" / "fixtures" / "fast-cpu.yaml"),
            data_dir=data_dir,
            limit=50,
            seed=seed,
            measure_costs=False,
        )
        for seed in range(n)
    ]


def measure(executor: str, n: int, data_dir: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as store:
        t0 = time.perf_counter()
        runner = executor_for(executor, None)
        started = time.perf_counter()
        outcomes = run_sweep(jobs(n, data_dir), RunOptions(out=Path(store), quiet=True), runner)
        wall = time.perf_counter() - started
    bad = [o for o in outcomes if o.status != "complete"]
    if bad:
        raise SystemExit(f"{executor}: {len(bad)} jobs did not complete: {bad[0].message}")
    inside = [o.seconds for o in outcomes]
    return {
        "start_s": started - t0,
        "wall_s": wall,
        "job_median_s": statistics.median(inside),
        "overhead_per_job_s": (wall - sum(inside)) / n,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    results = {name: measure(name, args.jobs, args.data_dir) for name in ("local", "ray")}
    for name, r in results.items():
        print(
            f"{name:5s}: start {r['start_s']:.1f} s, sweep {r['wall_s']:.1f} s for {args.jobs} jobs, "
            f"job median {r['job_median_s']:.2f} s, overhead per job {r['overhead_per_job_s']:.3f} s"
        )
    ratio = results["ray"]["wall_s"] / results["local"]["wall_s"]
    print(f"ray / local sweep wall time: {ratio:.2f}x (ray start-up of {results['ray']['start_s']:.1f} s not included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
