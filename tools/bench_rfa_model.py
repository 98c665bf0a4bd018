"""The whole rfa-entry encoder, RFA and hedgehog vs softmax, at growing length: batch-1 time in one process.

    python tools/bench_rfa_model.py [--lengths 256 512 1024 2048 4096] [--rounds 5] [--hedgehog-features 32]
        [--hybrid 1 2]

``--hybrid N`` adds hedgehog with softmax kept in its N leading layers (``softmax_layers=N``).

Separate `greenbench run` records time each model in its own process, minutes apart, and
timings on these machines vary by up to 30% run to run, so their throughput ratio is not a
measurement of RFA's speed. Here both encoders (pretrained MiniLM weights, the entry's own
`LongEncoder`: RFA with D = 64, hedgehog with F = 32 learned features, i.e. 64 after the
[softmax(Wx), softmax(-Wx)] pair, as in its records) run the same token ids, interleaved round by round, in one process with the
profile's 2 threads; the ratio of their medians is the figure. Layer-alone figures:
`tools/bench_rfa.py`.
"""

from __future__ import annotations

import statistics
import time

import _rfa_setup as setup


def main() -> None:
    parser = setup.parser(__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hedgehog-features", type=int, default=32)
    parser.add_argument("--hybrid", type=int, nargs="*", default=[])
    args = parser.parse_args()
    setup.hyperpartisan(args.data_dir)  # import paths and threads; the data itself is not needed

    import torch

    from benchmark.entry import minilm_encoder

    model = setup.entry_module("model")
    LongEncoder, extend_positions = model.LongEncoder, model.extend_positions
    models = {}
    variants = [("softmax", "softmax", 64, 0), ("rfa", "rfa", 64, 0), ("hedgehog", "hedgehog", args.hedgehog_features, 0)]
    variants += [(f"hybrid{n}", "hedgehog", args.hedgehog_features, n) for n in args.hybrid]
    for name, attention, features, kept in variants:
        encoder = minilm_encoder()
        extend_positions(encoder, max(args.lengths))
        models[name] = LongEncoder(encoder, attention, features, seed=0, softmax_layers=kept).eval()
    print(f"{'length':>7} {'softmax ms':>11}" + "".join(f" {name + ' ms':>12} {'speed-up':>9}" for name in list(models)[1:]))
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for n in args.lengths:
            ids = torch.randint(1000, 20000, (1, n), generator=gen)
            mask = torch.ones_like(ids)
            times: dict[str, list[float]] = {name: [] for name in models}
            for model in models.values():  # warm-up
                model(ids, mask)
            for _ in range(args.rounds):
                for name, model in models.items():
                    t0 = time.perf_counter()
                    model(ids, mask)
                    times[name].append(1000 * (time.perf_counter() - t0))
            medians = {name: statistics.median(t) for name, t in times.items()}
            s = medians["softmax"]
            cols = "".join(f" {m:>12.1f} {s / m:>8.2f}x" for name, m in medians.items() if name != "softmax")
            print(f"{n:>7} {s:>11.1f}{cols}", flush=True)


if __name__ == "__main__":
    main()
