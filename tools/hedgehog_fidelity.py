"""How closely distilled feature maps reproduce pretrained MiniLM's attention, before and after.

    python tools/hedgehog_fidelity.py [--features 32] [--train 128] [--held-out 32] [--epochs 2] [--lr 0.05]

Training articles only (the test split is never read): the first ``--held-out`` are scored, the
next ``--train`` distil the maps (Adam, ``--lr``, batches of ``--batch`` articles cut to
``--length`` tokens, as the rfa entry's hedgehog step does). Prints, per layer, the relative error
(Frobenius, real tokens) of the linear attention's output against the pretrained softmax head's,
each layer fed the teacher's q, k, v; the same figure for RFA at sigma = 1 (D = 64) is 0.70-0.72
(tools/rfa_fidelity.py).
"""

from __future__ import annotations

import time

import _rfa_setup as setup


def main() -> None:
    parser = setup.parser(__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--train", type=int, default=128)
    parser.add_argument("--held-out", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=512)
    args = parser.parse_args()

    import torch

    task, data = setup.hyperpartisan(args.data_dir)
    from benchmark.entry import classification_text, minilm_encoder, minilm_tokenizer

    distil = setup.entry_module("distill")
    tokenizer = minilm_tokenizer()
    model = setup.entry_module("model").LongEncoder(minilm_encoder().eval(), "hedgehog", args.features, 0).eval()

    def batches(instances: list) -> list[tuple[torch.Tensor, torch.Tensor]]:
        out = []
        for start in range(0, len(instances), args.batch):
            texts = [classification_text(x, task.info) for x in instances[start : start + args.batch]]
            enc = tokenizer(texts, truncation=True, max_length=args.length, padding=True, return_tensors="pt")
            out.append((enc["input_ids"], enc["attention_mask"]))
        return out

    held = batches(data.train[: args.held_out])
    train = batches(data.train[args.held_out : args.held_out + args.train])
    before = distil.output_error(model, held)
    t0 = time.perf_counter()
    losses = distil.distill(model, lambda epoch: train, args.epochs, args.lr)
    seconds = time.perf_counter() - t0
    after = distil.output_error(model, held)
    print(f"distillation: {args.train} articles x {args.epochs} epochs in {seconds:.0f} s, loss by epoch {losses}")
    print(f"{'layer':>5} {'error before':>13} {'error after':>12}")
    for index, (b, a) in enumerate(zip(before, after, strict=True)):
        print(f"{index:>5} {b:>13.3f} {a:>12.3f}")


if __name__ == "__main__":
    main()
