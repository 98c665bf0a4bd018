"""The same job with and without a CPU-burning neighbour: does its (estimated) active energy move?

Runs one real job (`greenbench run`, sandboxed, the cpu profile) several times, alternating a
quiet machine and one with a neighbour process spinning on a core (started outside the job's
process tree, as another user's job would be), and compares active energy per 1k instances.

    python tools/bench_energy_noise.py --data-dir ../shared/data [--pairs 2]

Goal: loaded / quiet active energy within 20% (it was up to 100x with machine-wide utilisation).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
from bench_gate import start_neighbour  # noqa: E402 - one neighbour burner for both benchmarks (run from tools/)


def run_once(args: argparse.Namespace, out: Path) -> dict:
    cmd = [sys.executable, "-m", "benchmark.cli", "run", "--submission", str(REPO / "submissions" / args.entry)]
    cmd += ["--task", "ag_news", "--limit", str(args.limit), "--train-limit", str(args.train_limit)]
    cmd += ["--data-dir", args.data_dir, "--out", str(out), "--force", "--quiet"]
    subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    (metrics,) = sorted(out.rglob("metrics.json"), key=lambda p: p.stat().st_mtime)[-1:]
    return json.loads(metrics.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--entry", default="minilm-linear-probe")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--train-limit", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"quiet": [], "loaded": []}
    out = Path(tempfile.mkdtemp(prefix="bench-energy-noise-"))
    for k in range(args.pairs):
        for state in ("quiet", "loaded") if k % 2 == 0 else ("loaded", "quiet"):
            pid = start_neighbour() if state == "loaded" else None
            try:
                metrics = run_once(args, out)
            finally:
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
            energy = metrics["energy"]
            results[state].append(
                {
                    "kwh_per_1k": energy["energy_kwh_per_1k"],
                    "cpu_s": energy.get("cpu_seconds"),
                    "source": energy["energy_source"],
                    "p50_ms": metrics["latency"]["latency_ms_p50"],
                    "load": os.getloadavg()[0],
                }
            )
            print(state, json.dumps(results[state][-1]), flush=True)
    quiet = statistics.median(r["kwh_per_1k"] for r in results["quiet"])
    loaded = statistics.median(r["kwh_per_1k"] for r in results["loaded"])
    all_values = [r["kwh_per_1k"] for rows in results.values() for r in rows]
    print(
        f"{args.entry} on AG News (--limit {args.limit} --train-limit {args.train_limit}), {args.pairs} pairs: "
        f"active energy/1k quiet median {quiet:.3e} kWh, loaded median {loaded:.3e} kWh, "
        f"loaded/quiet {loaded / quiet:.3f} (goal within 20%); max/min over all runs "
        f"{max(all_values) / min(all_values):.3f}"
    )


if __name__ == "__main__":
    main()
