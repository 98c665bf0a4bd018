"""How much the harness costs: its accuracy pass against a bare PyTorch loop, and the full price
tag against the accuracy pass alone. Both ratios are measured in one process, interleaved, so
machine-to-machine speed differences cancel.

    python tools/bench_overhead.py --data-dir ../shared/data [--limit 500] [--rounds 3]

Goals: harness / bare <= 1.03; (accuracy pass + price tag) / accuracy pass <= 1.5.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from benchmark.costs import idle_baseline, measure_costs
from benchmark.manifest import load_manifest
from benchmark.meters import default_meter
from benchmark.predictor import PredictorContext, load_predictor
from benchmark.profiles import load_profile
from benchmark.runner import accuracy_pass, cache_dir, setup_torch
from benchmark.sandbox import Limits, SandboxedPredictor
from tasks import get_task
from tasks.base import EvalSet, classification_text, subsample

REPO = Path(__file__).resolve().parent.parent


def bare_loop(probe, instances, batch_size: int, info) -> list[int]:
    """The same computation as the linear probe's predict, written as a plain loop."""
    out: list[int] = []
    with torch.inference_mode():
        for start in range(0, len(instances), batch_size):
            texts = [classification_text(i, info) for i in instances[start : start + batch_size]]
            enc = probe.tokenizer(
                texts, padding=True, truncation=True, max_length=probe.max_length, return_tensors="pt"
            )
            hidden = probe.encoder(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1), dim=-1)
            out.extend(probe.head(pooled).argmax(-1).tolist())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", default="cpu")
    args = parser.parse_args()

    profile = load_profile(args.profile)
    setup_torch(profile, 0)
    data = get_task("ag_news").load(Path(args.data_dir))
    instances = subsample(data.eval_sets[0].instances, args.limit, 0)
    eval_sets = [EvalSet("test", instances)]
    folder = REPO / "submissions" / "minilm-linear-probe"
    probe_manifest = load_manifest(folder)
    probe = load_predictor(probe_manifest, folder)
    probe.load(PredictorContext(data.info, profile.device, profile.precision, 0, folder, cache_dir()))
    probe.fit(subsample(data.train, 300, 0), ())

    sandboxed = SandboxedPredictor(probe_manifest, folder, Limits(3600, None), profile.threads)
    sandboxed.start(cache_dir())
    sandboxed.load(PredictorContext(data.info, profile.device, profile.precision, 0, folder, cache_dir()))
    sandboxed.fit(subsample(data.train, 300, 0), ())

    bare_s, harness_s, sandbox_s = [], [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        bare_preds = bare_loop(probe, instances, profile.batch_size, data.info)
        bare_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _, rows = accuracy_pass(probe, data, eval_sets, profile.batch_size)
        harness_s.append(time.perf_counter() - t0)
        assert [r["prediction"] for r in rows] == bare_preds, "harness and bare loop disagree"
        t0 = time.perf_counter()
        _, rows = accuracy_pass(sandboxed, data, eval_sets, profile.batch_size)
        sandbox_s.append(time.perf_counter() - t0)
        agree = sum(r["prediction"] == p for r, p in zip(rows, bare_preds, strict=True)) / len(rows)

    class Instant:  # a zero-cost model: what remains is the harness's own work per batch
        def predict(self, batch):
            return [0] * len(batch)

    t0 = time.perf_counter()
    accuracy_pass(Instant(), data, eval_sets, profile.batch_size)
    own_s = time.perf_counter() - t0

    meter = default_meter(profile)
    t0 = time.perf_counter()
    idle = idle_baseline(meter, profile.idle_seconds)
    costs = measure_costs(probe, instances, profile, meter, idle)
    tag_s = time.perf_counter() - t0

    sandboxed.close()
    bare, harness, boxed = statistics.median(bare_s), statistics.median(harness_s), statistics.median(sandbox_s)
    print(f"instances {len(instances)}, batch {profile.batch_size}, threads {profile.threads}, rounds {args.rounds}")
    print(f"bare loop      median {bare:.2f} s  (all: {', '.join(f'{t:.2f}' for t in bare_s)})")
    print(f"accuracy pass  median {harness:.2f} s  (all: {', '.join(f'{t:.2f}' for t in harness_s)})")
    print(f"ratio accuracy pass / bare loop: {harness / bare:.3f}  (goal <= 1.03; in-process, --sandbox none)")
    print(
        f"harness's own work (a zero-cost model through the same accuracy pass): {own_s * 1000:.1f} ms "
        f"= {own_s / bare:.3%} of the bare loop, i.e. a ratio of {1 + own_s / bare:.4f} free of timing noise"
    )
    print(
        f"sandboxed pass median {boxed:.2f} s  (all: {', '.join(f'{t:.2f}' for t in sandbox_s)}; "
        f"{agree:.1%} same predictions as the in-process model)"
    )
    print(f"ratio sandboxed accuracy pass / bare loop: {boxed / bare:.3f}  (the default: model in a child process)")
    print(
        f"price tag (idle {profile.idle_seconds:g} s, FLOPs on {costs['flops']['n_counted']}, "
        f"latency n={costs['latency']['n_samples']}, metered window {costs['energy']['window_s']:.1f} s): {tag_s:.2f} s"
    )
    print(f"ratio (accuracy pass + price tag) / accuracy pass: {(harness + tag_s) / harness:.3f}  (goal <= 1.5)")


if __name__ == "__main__":
    main()
