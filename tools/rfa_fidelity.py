"""How well RFA's sin/cos features estimate attention inside pretrained MiniLM, by sigma and D.

    python tools/rfa_fidelity.py [--data-dir ../shared/data] [--sigmas matched 1.0 0.7] [--features 64 256]

Takes one Hyperpartisan training article (512 tokens), the pretrained layer-0 and layer-3 queries,
keys and values, and compares RFA's output with the exact attention it estimates (softmax of
sigma^2 q^.k^ over l2-normalised queries and keys): relative error (Frobenius), mean of 3 draws.
"matched" is the per-head sigma that gives the pretrained heads' own temperature. Two more columns
say how far a warm start is from what the pretrained layer computes (its softmax(q.k / sqrt(d))):
the exact unit-vector kernel at that sigma, and RFA's estimate of it. The first error grows with
sigma, the second shrinks: the rfa entry's starting sigma is where their sum is lowest.
"""

from __future__ import annotations

from pathlib import Path

import _rfa_setup as setup

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = setup.parser(__doc__.splitlines()[0])
    parser.add_argument("--sigmas", nargs="+", default=["matched", "1.0", "0.7"])
    parser.add_argument("--features", nargs="+", type=int, default=[64, 256])
    args = parser.parse_args()

    import torch

    task, data = setup.hyperpartisan(args.data_dir)
    from benchmark.entry import classification_text, minilm_encoder, minilm_tokenizer

    rfa = setup.entry_module("rfa")
    draw_projection, rfa_attention, softmax_attention_unit = (
        rfa.draw_projection,
        rfa.rfa_attention,
        rfa.softmax_attention_unit,
    )
    tokenizer, encoder = minilm_tokenizer(), minilm_encoder().eval()
    model = setup.entry_module("model").LongEncoder(encoder, "rfa", 64, 0)
    enc = tokenizer(
        [classification_text(data.train[0], task.info)], truncation=True, max_length=512, return_tensors="pt"
    )
    print(f"{'layer':>5} {'sigma':>10} {'D':>5} {'rel. error':>11} {'exact vs pre':>13} {'RFA vs pre':>11}")
    with torch.no_grad():
        matched = model.matched_sigma(enc["input_ids"], enc["attention_mask"])
        hidden = encoder.embeddings(input_ids=enc["input_ids"])
        for index, layer in enumerate(encoder.encoder.layer):
            if index in (0, 3):
                sa = layer.attention.self
                q, k, v = (model._split(f(hidden)) for f in (sa.query, sa.key, sa.value))
                pretrained = torch.nn.functional.scaled_dot_product_attention(q, k, v)
                for name in args.sigmas:
                    sigma = torch.tensor(matched[index]) if name == "matched" else torch.full((12,), float(name))
                    exact = softmax_attention_unit(q, k, v, sigma)
                    target = float((exact - pretrained).norm() / pretrained.norm())
                    for features in args.features:
                        errors, vs_pre = [], []
                        for seed in range(3):
                            w = draw_projection(12, features, 32, torch.Generator().manual_seed(seed))
                            est = rfa_attention(q, k, v, w, sigma)
                            errors.append(float((est - exact).norm() / exact.norm()))
                            vs_pre.append(float((est - pretrained).norm() / pretrained.norm()))
                        label = f"{name}~{sigma.mean():.2f}" if name == "matched" else name
                        print(
                            f"{index:>5} {label:>10} {features:>5} {sum(errors) / 3:>11.3g} {target:>13.3g}"
                            f" {sum(vs_pre) / 3:>11.3g}"
                        )
            out = layer(hidden)
            hidden = out[0] if isinstance(out, tuple) else out


if __name__ == "__main__":
    main()
