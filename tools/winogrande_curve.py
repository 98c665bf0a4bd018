"""Learning curve of MiniLM fine-tuned as a WinoGrande two-choice scorer, from ONE training run.

Why: issue 19 asks whether all-MiniLM-L6-v2 can beat chance on WinoGrande at all on this machine's
budget. Separate harness runs per training size would cost the sum of all sizes; evaluating the
whole dev split at checkpoints of instances seen inside one run costs one training plus the evals.
Each point is printed and appended to a JSON-lines file as it comes, so a run stopped early (the
machine is shared, the deadline is fixed) still leaves every point it reached.

The scorer is the ``minilm-finetune`` entry's two-choice scorer, built from the same
``benchmark.entry`` helpers the entry uses (fill the blank with each option, mean-pool MiniLM, one
linear output per filled sentence, softmax over the two), with the entry's optimiser (AdamW,
constant lr) so a point here predicts what a harness record of the same size would measure.

    python3 tools/winogrande_curve.py --data-dir /work/shared/data --train-config xl \
        --checkpoints 1000,2000,4000,8000,16000 --stop-by 22:10 --out /tmp/winogrande_curve.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark.entry import epoch_batches  # noqa: E402
from benchmark.errors import UserError  # noqa: E402
from benchmark.metrics import bootstrap_ci  # noqa: E402
from tasks.base import Instance  # noqa: E402


class Scorer(Protocol):
    """What the curve needs from a model: one optimiser step, and predictions without training."""

    def train_step(self, batch: Sequence[Instance]) -> tuple[float, int]:
        """Loss of the batch and how many of its instances the pre-step scores got right."""
        ...

    def predict(self, batch: Sequence[Instance]) -> list[int]: ...


@dataclass(frozen=True)
class CurvePoint:
    seen: int  # training instances seen (each two-choice instance counts once)
    epochs: float  # seen / training sample size
    dev_accuracy: float
    dev_correct: int
    dev_n: int
    wilson_low: float
    wilson_high: float
    bootstrap_low: float
    bootstrap_high: float
    significant: bool  # both 95% lower bounds above chance (0.5)
    train_loss: float | None  # mean loss over the steps since the previous point
    train_accuracy: float | None  # running accuracy of the training batches since the previous point
    train_seconds: float  # cumulative training wall time, evals excluded
    eval_seconds: float  # this point's dev evaluation
    instances_per_s: float  # training throughput since the previous point
    load_average: tuple[float, float, float]  # os.getloadavg() at the point: the machine is shared
    at: str  # local wall-clock time of the point


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion: unlike the normal approximation it stays in [0, 1]."""
    if n <= 0:
        raise ValueError("wilson_interval needs n > 0")
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def parse_checkpoints(text: str) -> list[int]:
    """'1000,2000,4k' -> [1000, 2000, 4000], sorted, positive, unique."""
    values: set[int] = set()
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        scale = 1000 if part.endswith("k") else 1
        try:
            value = int(float(part.rstrip("k")) * scale)
        except ValueError:
            raise UserError(f"--checkpoints: {part!r} is not a number; write e.g. 1000,2000,4k") from None
        if value <= 0:
            raise UserError(f"--checkpoints: {part!r} must be a positive number of instances")
        values.add(value)
    if not values:
        raise UserError("--checkpoints is empty; write e.g. 1000,2000,4000")
    return sorted(values)


def parse_stop_by(text: str | None, now: datetime) -> float | None:
    """'HH:MM' today (local) -> a time.time() deadline; None means no deadline."""
    if not text:
        return None
    try:
        hour, minute = (int(x) for x in text.split(":"))
        target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    except ValueError:
        raise UserError(f"--stop-by {text!r} is not a time of day; write HH:MM, e.g. 22:10") from None
    return target.timestamp()


def evaluate(scorer: Scorer, dev: Sequence[Instance], batch_size: int) -> list[bool]:
    """Per-instance correctness on the whole dev split."""
    correct: list[bool] = []
    for start in range(0, len(dev), batch_size):
        batch = dev[start : start + batch_size]
        correct.extend(p == inst.label for p, inst in zip(scorer.predict(batch), batch, strict=True))
    return correct


def append_point(path: Path, point: CurvePoint) -> None:
    """One JSON line per point, flushed at once: a killed run keeps every point it reached."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(point)) + "\n")


def read_points(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class _Since:
    """Training statistics accumulated between two points."""

    losses: float = 0.0
    steps: int = 0
    right: int = 0
    seen: int = 0
    seconds: float = 0.0


def run_curve(
    scorer: Scorer,
    train: Sequence[Instance],
    dev: Sequence[Instance],
    checkpoints: Sequence[int],
    *,
    batch_size: int,
    seed: int,
    out: Path | None,
    stop_by: float | None = None,
    eval_batch_size: int = 64,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
    log: Callable[[str], None] = print,
) -> list[CurvePoint]:
    """Train through ``train`` (reshuffled each pass, as the entry does) and evaluate the whole dev
    split once ``seen`` first reaches each checkpoint; stop after the last checkpoint, or at
    ``stop_by`` (a ``wall()`` time) with one final point at whatever was reached."""
    if not train or not dev:
        raise UserError("the curve needs a non-empty training sample and dev split")
    pending = sorted(checkpoints)
    epochs = -(-pending[-1] // len(train))
    rng = random.Random(seed)
    points: list[CurvePoint] = []
    since, seen, train_seconds = _Since(), 0, 0.0
    for _, _, batch in epoch_batches(train, epochs, batch_size, rng):
        start = clock()
        loss, right = scorer.train_step(batch)
        elapsed = clock() - start
        seen += len(batch)
        train_seconds += elapsed
        since.losses, since.steps, since.right = since.losses + loss, since.steps + 1, since.right + right
        since.seen, since.seconds = since.seen + len(batch), since.seconds + elapsed
        out_of_time = stop_by is not None and wall() >= stop_by
        if seen >= pending[0] or out_of_time:
            while pending and seen >= pending[0]:
                pending.pop(0)
            points.append(_point(scorer, dev, seen, len(train), since, train_seconds, eval_batch_size, clock, wall))
            log(_describe(points[-1]))
            if out is not None:
                append_point(out, points[-1])
            since = _Since()
        if not pending or out_of_time:
            break
    return points


def _point(
    scorer: Scorer,
    dev: Sequence[Instance],
    seen: int,
    n_train: int,
    since: _Since,
    train_seconds: float,
    eval_batch_size: int,
    clock: Callable[[], float],
    wall: Callable[[], float],
) -> CurvePoint:
    start = clock()
    correct = evaluate(scorer, dev, eval_batch_size)
    eval_seconds = clock() - start
    n_right = sum(correct)
    w_low, w_high = wilson_interval(n_right, len(correct))
    b_low, b_high = bootstrap_ci(correct)
    return CurvePoint(
        seen=seen,
        epochs=round(seen / n_train, 4),
        dev_accuracy=n_right / len(correct),
        dev_correct=n_right,
        dev_n=len(correct),
        wilson_low=w_low,
        wilson_high=w_high,
        bootstrap_low=b_low,
        bootstrap_high=b_high,
        significant=w_low > 0.5 and b_low > 0.5,
        train_loss=since.losses / since.steps if since.steps else None,
        train_accuracy=since.right / since.seen if since.seen else None,
        train_seconds=round(train_seconds, 2),
        eval_seconds=round(eval_seconds, 2),
        instances_per_s=round(since.seen / since.seconds, 3) if since.seconds > 0 else 0.0,
        load_average=tuple(round(x, 2) for x in os.getloadavg()),  # type: ignore[arg-type]
        at=datetime.fromtimestamp(wall()).strftime("%H:%M:%S"),
    )


def markdown_table(rows: Sequence[dict]) -> str:
    """The curve as the doc's table, from :func:`read_points` rows, so the doc is never retyped."""
    lines = [
        "| instances seen | dev accuracy | 95% CI (Wilson) | 95% CI (bootstrap) | train loss | train acc. "
        "| training wall time (s) | instances/s | load avg (1 min) | at |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        loss = "n/a" if r["train_loss"] is None else f"{r['train_loss']:.4f}"
        acc = "n/a" if r["train_accuracy"] is None else f"{r['train_accuracy']:.3f}"
        lines.append(
            f"| {r['seen']:,} | {r['dev_accuracy']:.3f} ({r['dev_correct']}/{r['dev_n']}) "
            f"| {r['wilson_low']:.3f}-{r['wilson_high']:.3f} | {r['bootstrap_low']:.3f}-{r['bootstrap_high']:.3f} "
            f"| {loss} | {acc} | {r['train_seconds']:.0f} | {r['instances_per_s']:.2f} | {r['load_average'][0]:.1f} "
            f"| {r['at']} |"
        )
    return "\n".join(lines)


def _describe(p: CurvePoint) -> str:
    loss = "n/a" if p.train_loss is None else f"{p.train_loss:.4f}"
    return (
        f"[{p.at}] seen {p.seen} ({p.epochs} ep): dev {p.dev_accuracy:.4f} "
        f"(Wilson {p.wilson_low:.3f}-{p.wilson_high:.3f}, bootstrap {p.bootstrap_low:.3f}-{p.bootstrap_high:.3f})"
        f"{' SIGNIFICANT' if p.significant else ''}; train loss {loss}, train acc {p.train_accuracy}; "
        f"train {p.train_seconds:.0f} s at {p.instances_per_s} inst/s, eval {p.eval_seconds:.0f} s; "
        f"load {p.load_average}"
    )


def after_blank_mask(offsets, starts, attention):  # noqa: ANN001, ANN201 - torch tensors; torch loads lazily
    """1 for the real tokens that start at or after each text's blank (character ``starts``), 0
    elsewhere: the special tokens' (0, 0) offsets and the padding drop out."""
    return attention * ((offsets[..., 0] >= starts[:, None]) & (offsets[..., 1] > 0))


class MiniLMScorer:
    """The minilm-finetune entry's two-choice scorer and optimiser, outside the harness (see the
    module docstring); torch and the model load only here, so the bookkeeping tests stay light."""

    def __init__(self, lr: float, max_length: int, seed: int, pooling: str = "mean") -> None:
        import torch
        from torch import nn

        from benchmark import entry
        from tasks import get_task

        torch.manual_seed(seed)
        self.torch, self.nn, self.entry = torch, nn, entry
        self.info = get_task("winogrande").info
        self.tokenizer = entry.minilm_tokenizer()
        self.encoder = entry.minilm_encoder()
        self.head = nn.Linear(self.encoder.config.hidden_size, entry.head_size(self.info))
        self.max_length = max_length
        self.pooling = pooling
        params = list(self.encoder.parameters()) + list(self.head.parameters())
        self.optimiser = torch.optim.AdamW(params, lr=lr)

    def _logits(self, batch: Sequence[Instance]):  # noqa: ANN202 - a torch.Tensor; torch loads lazily
        texts = self.entry.instance_texts(batch, self.info)
        if self.pooling == "after-blank":
            pooled = self._after_blank(batch, texts)
        else:
            pooled = self.entry.pooled_embeddings(self.encoder, self.tokenizer, texts, self.max_length, "cpu")
        return self.entry.group_choices(self.head(pooled), len(batch), self.info)

    def _after_blank(self, batch: Sequence[Instance], texts: list[str]):  # noqa: ANN202
        """Mean of the states from the filled-in option to the sentence's end: the two filled
        sentences differ only there, and what follows the blank is what must agree with the option
        (the encoder's analogue of Trinh & Le's partial scoring). The entry pools every token."""
        n = len(self.info.choice_fields)
        starts = self.torch.tensor([inst.inputs["sentence"].index("_") for inst in batch for _ in range(n)])
        enc = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt",
            return_offsets_mapping=True,
        )  # fmt: skip
        mask = after_blank_mask(enc.pop("offset_mapping"), starts, enc["attention_mask"])
        return self.entry.mean_pool(self.encoder(**enc).last_hidden_state, mask)

    def train_step(self, batch: Sequence[Instance]) -> tuple[float, int]:
        self.encoder.train()
        labels = self.torch.tensor([inst.label for inst in batch])
        logits = self._logits(batch)
        loss = self.nn.functional.cross_entropy(logits, labels)
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        return float(loss.detach()), int((logits.detach().argmax(-1) == labels).sum())

    def predict(self, batch: Sequence[Instance]) -> list[int]:
        self.encoder.eval()
        with self.torch.inference_mode():
            return self._logits(batch).argmax(-1).tolist()


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--train-config", default="xl", help="WinoGrande train file: xs, s, m, l or xl (default xl)")
    parser.add_argument("--train-limit", type=int, default=None, help="seeded sample of the train file (default all)")
    parser.add_argument("--checkpoints", default="1000,2000,4000,8000,16000,32000")
    parser.add_argument("--stop-by", default=None, help="HH:MM local: stop training then with one final point")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--pooling",
        choices=("mean", "after-blank"),
        default="mean",
        help="mean: every token (the entry's scorer); after-blank: the option and what follows it",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dev-limit", type=int, default=None, help="for smoke runs only; the curve uses all 1,267")
    parser.add_argument("--out", type=Path, default=Path("/tmp/winogrande_curve.jsonl"))
    parser.add_argument("--table", type=Path, default=None, help="print a curve file as a markdown table and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _args(argv)
        if args.table is not None:
            if not args.table.is_file():
                raise UserError(f"--table {args.table}: no such curve file; pass the --out file of a curve run")
            print(markdown_table(read_points(args.table)))
            return 0
        checkpoints = parse_checkpoints(args.checkpoints)
        stop_by = parse_stop_by(args.stop_by, datetime.now())
        import torch

        from tasks import get_task
        from tasks.base import subsample

        torch.set_num_threads(args.threads)
        data = get_task("winogrande").load(args.data_dir, args.train_config)
        train = subsample(data.train, args.train_limit, args.seed)
        dev = next(e.instances for e in data.eval_sets if e.name == "dev")
        dev = subsample(dev, args.dev_limit, args.seed)
        print(f"train_{args.train_config}: {len(train)} instances; dev {len(dev)}; checkpoints {checkpoints}")
        scorer = MiniLMScorer(args.lr, args.max_length, args.seed, args.pooling)
        run_curve(
            scorer, train, dev, checkpoints, batch_size=args.batch_size, seed=args.seed, out=args.out, stop_by=stop_by
        )
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
