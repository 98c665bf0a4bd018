"""Does the trained rfa model's output depend on which fixed projection W it evaluates with?

    python tools/rfa_draws.py [--data-dir ../shared/data] [--n 40] [--draws 3] [--weights-dir DIR]

Restores the entry's weights from ``--weights-dir`` (a folder holding the entry's ``model.pt``: by
default this tool's own, which its first run fills by training once), predicts the first ``n``
test articles with the saved evaluation draw and with ``draws - 1`` fresh ones, and reports how
many predictions change. If none do, the attention contributes next to nothing to the decision (a
flat kernel makes every draw alike).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import _rfa_setup as setup

ROOT = Path(__file__).resolve().parent.parent


def default_weights_dir() -> Path:
    return Path(os.environ.get("GREENBENCH_CACHE") or Path.home() / ".cache" / "greenbench") / "tools" / "rfa_draws"


def main() -> None:
    parser = setup.parser(__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--weights-dir", type=Path, default=None, help="folder with the entry's model.pt")
    args = parser.parse_args()

    import torch

    task, data = setup.hyperpartisan(args.data_dir)
    from benchmark.predictor import PredictorContext

    draw_projection = setup.entry_module("rfa").draw_projection
    weights_dir = args.weights_dir or default_weights_dir()
    test = [inst.without_label() for inst in data.eval_sets[0].instances[: args.n]]
    gold = [inst.label for inst in data.eval_sets[0].instances[: args.n]]
    model = setup.entry_module("predictor").LongDocClassifier()
    model.load(PredictorContext(task.info, "cpu", "float32", 0, ROOT / "submissions" / "rfa", weights_dir))
    if (weights_dir / "model.pt").is_file():
        model.restore()
    else:
        print(f"note: no model.pt in {weights_dir}, so this trains a fresh model there", file=sys.stderr)
        model.fit(data.train, data.dev)
    saved = model.model.projection.clone()
    first: list[int] = []
    for draw in range(args.draws):
        if draw:
            gen = torch.Generator().manual_seed(1000 + draw)
            model.model.projection.copy_(torch.stack([draw_projection(*p.shape, gen) for p in saved]))
        pred = model.predict(test)
        first = first or pred
        acc = sum(a == b for a, b in zip(pred, gold, strict=True)) / len(gold)
        changed = sum(a != b for a, b in zip(pred, first, strict=True))
        print(
            f"draw {draw}: accuracy {acc:.3f}, predicted label 1 for {sum(pred)}/{len(pred)}, {changed} differ from draw 0"
        )


if __name__ == "__main__":
    main()
