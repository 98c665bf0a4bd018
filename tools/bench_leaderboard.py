"""Build time and page weight of the leaderboard for N synthetic records (goal: < 5 s for 10,000).

python tools/bench_leaderboard.py [--records 10000]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from leaderboard.build import build_site
from leaderboard.synthetic import generate


def _cpu() -> float:
    """CPU seconds of this process and its finished workers: on a shared machine, wall time says
    how busy the others were; CPU time says what the build costs."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3, help="builds to time (the machine may be shared)")
    args = parser.parse_args()
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "results", args.records)
        os.sync()  # the generator's 40,000 new files are flushed before the clock starts
        cpus = []
        for k in range(args.repeats):
            site = Path(tmp) / f"site{k}"
            c0, t0 = _cpu(), time.perf_counter()
            report = build_site(site, [root])
            walls.append(time.perf_counter() - t0)
            cpus.append(_cpu() - c0)
        sizes = {p.name: p.stat().st_size for p in site.glob("*.html")}
    largest = max(sizes, key=sizes.get)
    task_pages = sorted(name for name in sizes if name.startswith("task-"))
    print(f"records {report['runs']}, boards {report['boards']}, entries {report['entries']}")
    spread = ", ".join(f"{w:.2f}" for w in walls)
    print(
        f"CPU seconds (this process + workers) min {min(cpus):.2f}, max {max(cpus):.2f}; load average {os.getloadavg()}"
    )
    print(f"build time min {min(walls):.2f} s, max {max(walls):.2f} s over {len(walls)} builds ({spread}) (goal < 5 s)")
    print(
        f"workers {report['workers']}; site weight {report['bytes'] / 1e6:.2f} MB; "
        f"largest page {largest} {sizes[largest] / 1e6:.2f} MB"
    )
    print("task pages: " + ", ".join(f"{name} {sizes[name] / 1e3:.0f} kB" for name in task_pages))


if __name__ == "__main__":
    main()
