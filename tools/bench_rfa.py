"""The attention layer alone, RFA vs softmax, at growing length: time and peak memory.

    python tools/bench_rfa.py [--lengths 512 1024 2048 4096 8192] [--features 64]

MiniLM's shapes (12 heads x 32 dims), batch 1, fp32, the profile's 2 threads. Each (method,
length) runs in a fresh process so its peak resident memory (ru_maxrss) is its own; the process's
baseline (torch imported, inputs built) is subtracted. Goal at 4,096 tokens: RFA >= 2x faster.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, statistics, sys, time, importlib.util
import torch
torch.set_num_threads(2)
spec = importlib.util.spec_from_file_location("rfa", sys.argv[1]); rfa = importlib.util.module_from_spec(spec); spec.loader.exec_module(rfa)
method, n, features = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
g = torch.Generator().manual_seed(0)
q, k, v = (torch.randn(1, 12, n, 32, generator=g) for _ in range(3))
w, sigma = rfa.draw_projection(12, features, 32, g), torch.ones(12)
fn = (lambda: rfa.rfa_attention(q, k, v, w, sigma)) if method == "rfa" else (lambda: rfa.softmax_attention_unit(q, k, v, sigma))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with torch.inference_mode():
    fn()
    times = []
    for _ in range(3):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ms": 1000 * statistics.median(times), "peak_mib": (peak - base) / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 1024, 2048, 4096, 8192])
    parser.add_argument("--features", type=int, default=64)
    args = parser.parse_args()
    module = Path(__file__).resolve().parent.parent / "submissions" / "rfa" / "rfa.py"
    print(f"{'length':>7} {'softmax ms':>11} {'rfa ms':>8} {'speed-up':>9} {'softmax MiB':>12} {'rfa MiB':>8}")
    for n in args.lengths:
        out = {}
        for method in ("softmax", "rfa"):
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, str(module), method, str(n), str(args.features)],
                capture_output=True,
                text=True,
                check=True,
            )
            out[method] = json.loads(proc.stdout)
        s, r = out["softmax"], out["rfa"]
        print(
            f"{n:>7} {s['ms']:>11.1f} {r['ms']:>8.1f} {s['ms'] / r['ms']:>8.1f}x {s['peak_mib']:>12.0f} {r['peak_mib']:>8.0f}"
        )


if __name__ == "__main__":
    main()
