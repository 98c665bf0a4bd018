"""Build time and page weight of the leaderboard for N synthetic records (goal: < 5 s for 10,000).

python tools/bench_leaderboard.py [--records 10000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from leaderboard.build import build_site
from leaderboard.synthetic import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "results", args.records)
        os.sync()  # the generator's 40,000 new files are flushed before the clock starts
        t0 = time.perf_counter()
        report = build_site(Path(tmp) / "site", [root])
        wall = time.perf_counter() - t0
        site = Path(tmp) / "site"
        sizes = {p.name: p.stat().st_size for p in site.glob("*.html")}
    largest = max(sizes, key=sizes.get)
    task_pages = sorted(name for name in sizes if name.startswith("task-"))
    print(f"records {report['runs']} (incl. committed), boards {report['boards']}, entries {report['entries']}")
    print(f"build time {wall:.2f} s (goal < 5 s)")
    print(
        f"workers {report['workers']}; site weight {report['bytes'] / 1e6:.2f} MB; "
        f"largest page {largest} {sizes[largest] / 1e6:.2f} MB"
    )
    print("task pages: " + ", ".join(f"{name} {sizes[name] / 1e3:.0f} kB" for name in task_pages))


if __name__ == "__main__":
    main()
