"""Long-document classification with MiniLM: softmax or random feature attention, 512 or more tokens."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from benchmark import entry
from benchmark.entry import Instance, PredictorContext

from .distill import distill
from .model import ATTENTIONS, LongEncoder, extend_positions


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random, pool: int = 8) -> list[list[int]]:
    """Index batches of similar length: shuffle, sort within pools of ``pool`` batches, shuffle the
    batches. Long documents padded to a short neighbour's length would waste most of the step."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    span = batch_size * pool
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches.extend(chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def micro_batches(lengths: Sequence[int], indices: Sequence[int], max_tokens: int) -> Iterator[list[int]]:
    """Split ``indices`` (longest first) so each piece's padded size stays within ``max_tokens``."""
    piece: list[int] = []
    for i in sorted(indices, key=lambda i: -lengths[i]):
        longest = lengths[piece[0]] if piece else lengths[i]
        if piece and longest * (len(piece) + 1) > max_tokens:
            yield piece
            piece = []
        piece.append(i)
    if piece:
        yield piece


class LongDocClassifier:
    def __init__(
        self,
        attention: str = "rfa",
        max_length: int = 2048,
        features: int = 64,
        epochs: int = 2,
        lr: float = 5e-5,
        sigma_lr: float = 0.02,
        batch_size: int = 16,
        max_tokens: int = 8192,
        distill_epochs: int = 1,
        distill_lr: float = 0.05,
        distill_length: int = 512,
        softmax_layers: int = 0,
    ) -> None:
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}")
        self.config = {
            "attention": attention,
            "max_length": max_length,
            "features": features,
            "epochs": epochs,
            "lr": lr,
            "sigma_lr": sigma_lr,
            "batch_size": batch_size,
            "max_tokens": max_tokens,
            "distill_epochs": distill_epochs,
            "distill_lr": distill_lr,
            "distill_length": distill_length,
            "softmax_layers": softmax_layers,
        }
        self.report: dict[str, object] = {}

    def load(self, ctx: PredictorContext) -> None:
        self.ctx = ctx
        self.tokenizer = entry.minilm_tokenizer()
        self.tokenizer.model_max_length = self.config["max_length"]
        torch.manual_seed(ctx.seed)
        encoder = entry.minilm_encoder()
        extend_positions(encoder, self.config["max_length"])
        self.model = LongEncoder(
            encoder, self.config["attention"], self.config["features"], ctx.seed, self.config["softmax_layers"]
        ).to(ctx.device)
        self.head = nn.Linear(encoder.config.hidden_size, len(ctx.task.label_names)).to(ctx.device)

    def _encode(self, batch: Sequence[Instance]) -> list[list[int]]:
        texts = [entry.classification_text(inst, self.ctx.task) for inst in batch]
        return self.tokenizer(texts, truncation=True, max_length=self.config["max_length"])["input_ids"]

    def _logits(self, ids: Sequence[Sequence[int]]) -> torch.Tensor:
        input_ids, mask = self._padded(ids)
        return self.head(entry.mean_pool(self.model(input_ids, mask), mask))

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        t0 = time.perf_counter()
        ids = self._encode(train)
        lengths = [len(x) for x in ids]
        labels = [inst.label for inst in train]
        if self.config["attention"] == "rfa":
            first = list(micro_batches(lengths, range(min(16, len(ids))), self.config["max_tokens"]))[0]
            self.model.eval()
            self.report["sigma_matching_pretrained"] = self.model.matched_sigma(*self._padded([ids[i] for i in first]))
        if self.config["attention"] == "hedgehog":
            self._distill(ids)
        rng = random.Random(self.ctx.seed)
        torch.manual_seed(self.ctx.seed)
        # sigma gets its own learning rate and no weight decay: at the encoder's 5e-5 it did not
        # move from 1.000 in 116 steps (the first records), so the learned temperature was not learned.
        weights = [p for name, p in self.model.named_parameters() if name != "log_sigma"]
        optimiser = torch.optim.AdamW(
            [
                {"params": weights + list(self.head.parameters()), "lr": self.config["lr"]},
                {"params": [self.model.log_sigma], "lr": self.config["sigma_lr"], "weight_decay": 0.0},
            ]
        )
        losses: list[float] = []
        sigma_mean: list[float] = []
        self.model.train()
        epochs = self.config["epochs"]
        for epoch in range(epochs):
            total = 0.0
            batches = length_batches(lengths, self.config["batch_size"], rng)
            for step, batch in enumerate(batches, 1):
                optimiser.zero_grad()
                batch_loss = 0.0
                for piece in micro_batches(lengths, batch, self.config["max_tokens"]):
                    target = torch.tensor([labels[i] for i in piece], device=self.ctx.device)
                    loss = nn.functional.cross_entropy(self._logits([ids[i] for i in piece]), target, reduction="sum")
                    (loss / len(batch)).backward()
                    value = float(loss.detach())
                    total += value
                    batch_loss += value
                optimiser.step()
                # Every step: the loss is read off the device here anyway, and a step is long.
                self.ctx.report_progress(
                    epoch * len(batches) + step, epochs * len(batches), batch_loss / len(batch), f"epoch {epoch + 1}"
                )
            losses.append(round(total / len(ids), 4))
            sigma_mean.append(round(float(self.model.log_sigma.detach().exp().mean()), 4))
        self.model.eval()
        self.report.update(
            epoch_mean_loss=losses,
            train_tokens_mean=round(sum(lengths) / len(lengths), 1),
            train_truncated_fraction=round(sum(n >= self.config["max_length"] for n in lengths) / len(lengths), 4),
            training_s=round(time.perf_counter() - t0, 1),
        )
        if self.config["attention"] == "rfa":
            self.report["sigma_mean_by_epoch"] = sigma_mean
            self.report["sigma_final"] = [
                [round(float(s), 3) for s in row] for row in self.model.log_sigma.detach().exp()
            ]
        entry.save_modules(self.ctx, {"model": self.model, "head": self.head}, report=self.report)

    def _distill(self, ids: Sequence[Sequence[int]]) -> None:
        """Fit the feature maps to the pretrained softmax heads (the encoder frozen), one shuffled
        pass per epoch over the training articles cut to ``distill_length`` tokens."""
        t0 = time.perf_counter()
        cut = [list(x[: self.config["distill_length"] - 1]) + [x[-1]] if len(x) > self.config["distill_length"] else list(x) for x in ids]
        lengths = [len(x) for x in cut]
        rng = random.Random(self.ctx.seed + 1)
        size = 8

        def batches(epoch: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
            return [self._padded([cut[i] for i in b]) for b in length_batches(lengths, size, rng)]

        epochs = self.config["distill_epochs"]
        self.model.eval()  # the encoder is the teacher: no dropout
        losses = distill(
            self.model,
            batches,
            epochs,
            self.config["distill_lr"],
            lambda done, total, loss: self.ctx.report_progress(done, total, loss, "distilling attention"),
        )
        self.report.update(distill_loss_by_epoch=losses, distill_s=round(time.perf_counter() - t0, 1))

    def restore(self) -> None:
        self.report.update(entry.restore_modules(self.ctx, {"model": self.model, "head": self.head})["report"])

    def _padded(self, ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([list(x) + [pad] * (width - len(x)) for x in ids], device=self.ctx.device)
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], device=self.ctx.device)
        return input_ids, mask

    @torch.inference_mode()
    def predict(self, batch: Sequence[Instance]) -> list[int]:
        ids = self._encode(batch)
        lengths = [len(x) for x in ids]
        out = [0] * len(ids)
        for piece in micro_batches(lengths, range(len(ids)), self.config["max_tokens"]):
            for i, label in zip(piece, self._logits([ids[i] for i in piece]).argmax(-1).tolist(), strict=True):
                out[i] = label
        return out

    def diagnostics(self) -> dict[str, object]:
        return dict(self.report)
