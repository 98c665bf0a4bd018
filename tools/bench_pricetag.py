"""What the price tag costs next to the accuracy pass, now that the pass itself is metered.

The linear-probe entry (fitted on 300 AG News training instances, outside the clock) in a
sandboxed child, on AG News test instances, interleaved over rounds in one process:
  - new: the metered accuracy pass (``metered_predict``), then the price tag reusing its windows
    (FLOPs, latency, and a top-up window only if the pass was shorter than energy_min_seconds);
  - old: an unmetered accuracy pass, then the price tag with its own separate metered window.

    python tools/bench_pricetag.py --data-dir ../shared/data [--limit 500] [--rounds 2]

Goal: (accuracy pass + price tag) / accuracy pass <= 1.3 at 500 instances, <= 1.1 on the full split.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.costs import idle_baseline, measure_costs, metered_predict  # noqa: E402
from benchmark.manifest import load_manifest  # noqa: E402
from benchmark.meters import default_meter  # noqa: E402
from benchmark.model import open_model  # noqa: E402
from benchmark.predictor import PredictorContext  # noqa: E402
from benchmark.profiles import load_profile  # noqa: E402
from benchmark.runner import predict_all  # noqa: E402
from tasks import get_task  # noqa: E402
from tasks.base import subsample  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--limit", type=int, default=500, help="eval instances; 0 = the full test split")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--isolation", default="process")
    args = parser.parse_args()

    profile = load_profile("cpu")
    torch.set_num_threads(profile.threads)
    data = get_task("ag_news").load(Path(args.data_dir), None)
    instances = subsample(data.eval_sets[0].instances, args.limit or None, 0)
    folder = REPO / "submissions" / "minilm-linear-probe"
    weights = Path(tempfile.mkdtemp(prefix="bench-pricetag-"))
    ctx = PredictorContext(data.info, "cpu", profile.precision, 0, folder, weights)
    model = open_model(load_manifest(folder), folder, ctx, args.isolation, profile.threads, None, None)
    model.fit(subsample(data.train, 300, 0), ())
    meter = default_meter(profile)
    n_labels = len(data.info.label_names)
    predict_all(model, instances, profile.batch_size, n_labels, "warm-up")
    times: dict[str, list[float]] = {"new pass": [], "new tag": [], "old pass": [], "old tag": []}
    detail = {}
    for r in range(args.rounds):
        for way in ("new", "old") if r % 2 == 0 else ("old", "new"):
            t0 = time.perf_counter()
            if way == "new":
                _, _, windows = metered_predict(model, instances, profile, meter)
            else:
                predict_all(model, instances, profile.batch_size, n_labels, "accuracy")
                windows = None
            t1 = time.perf_counter()
            idle = idle_baseline(meter, profile.idle_seconds)
            costs = measure_costs(model, instances, profile, meter, idle, accuracy_windows=windows)
            t2 = time.perf_counter()
            times[f"{way} pass"].append(t1 - t0)
            times[f"{way} tag"].append(t2 - t1)
            detail[way] = costs
    model.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"AG News {len(instances)} instances, linear probe ({args.isolation} isolation), cpu profile "
        f"(batch {profile.batch_size}, energy_min_seconds {profile.energy_min_seconds:g}, idle {profile.idle_seconds:g} s), "
        f"{args.rounds} rounds interleaved; load average {os.getloadavg()[0]:.2f} (shared machine)"
    )
    for k, v in times.items():
        print(f"  {k:9s} median {med[k]:.2f} s  (all: {', '.join(f'{t:.2f}' for t in v)})")
    for way in ("new", "old"):
        c = detail[way]
        print(
            f"{way}: (accuracy pass + price tag) / accuracy pass = {(med[way + ' pass'] + med[way + ' tag']) / med[way + ' pass']:.3f}"
            f"  [throughput from {c['throughput']['window_source']}, {c['throughput']['seconds']:.1f} s metered; "
            f"FLOPs on {c['flops']['n_counted']}; latency n={c['latency']['n_samples']}; "
            f"energy {c['energy']['energy_source']}, unstable={c['energy']['unstable']}]"
        )
    print("goal: <= 1.3 at 500 instances, <= 1.1 on the full split")


if __name__ == "__main__":
    main()
