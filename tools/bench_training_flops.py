"""The error of sampled training FLOPs against one full count, and what the counter costs a fit.

For an entry (default the linear probe) on AG News: one fit of N training instances counted whole
under FlopCounterMode, the harness's estimate (a counted fit on 256 of them x N/256), and the wall
time of the same fit with and without the counter.

    python tools/bench_training_flops.py --data-dir ../shared/data [--train 1024]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.flops import count_flops  # noqa: E402
from benchmark.loading import load_predictor  # noqa: E402
from benchmark.manifest import load_manifest  # noqa: E402
from benchmark.predictor import PredictorContext  # noqa: E402
from benchmark.training_flops import TRAIN_FLOPS_SAMPLE, sampled_training_flops  # noqa: E402
from tasks import get_task  # noqa: E402
from tasks.base import subsample  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--entry", default="minilm-linear-probe")
    parser.add_argument("--train", type=int, default=1024)
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = get_task("ag_news").load(Path(args.data_dir), None)
    train = subsample(data.train, args.train, 0)
    folder = REPO / "submissions" / args.entry
    predictor = load_predictor(load_manifest(folder), folder)
    predictor.load(PredictorContext(data.info, "cpu", "float32", 0, folder, Path(tempfile.mkdtemp())))
    t0 = time.perf_counter()
    full = count_flops(lambda: predictor.fit(train, ()))
    counted_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    predictor.fit(train, ())
    plain_s = time.perf_counter() - t0
    sampled = sampled_training_flops(predictor, train, ())
    error = (sampled.estimate - full) / full
    print(f"{args.entry} on AG News, {len(train)} training instances; load average {os.getloadavg()[0]:.1f}")
    print(f"full count {full:.4e} FLOPs; sampled ({TRAIN_FLOPS_SAMPLE} x {sampled.scale:.2f}) {sampled.estimate:.4e}")
    print(f"sampled vs full: {error:+.2%}")
    print(
        f"fit wall time: {plain_s:.1f} s without the counter, {counted_s:.1f} s under it ({counted_s / plain_s:.2f}x)"
    )


if __name__ == "__main__":
    main()
