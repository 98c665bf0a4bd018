"""Full fine-tuning of MiniLM: the baseline the efficient entries must match.

Classification tasks get a linear head over the classes; two-choice tasks (WinoGrande) put each
option in the blank, score each filled sentence with a one-output head and take a softmax over the
options, so the same encoder and pooling serve both.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from benchmark import entry
from benchmark.entry import Instance, PredictorContext


class FineTune:
    def __init__(
        self, epochs: int = 2, lr: float = 5e-5, batch_size: int = 16, max_length: Mapping[str, int] | int = 128
    ) -> None:
        self.config = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "max_length": max_length}

    def load(self, ctx: PredictorContext) -> None:
        self.ctx = ctx
        self.tokenizer = entry.minilm_tokenizer()
        self.encoder = entry.minilm_encoder().to(ctx.device)
        self.head = nn.Linear(self.encoder.config.hidden_size, entry.head_size(ctx.task)).to(ctx.device)
        # Longer inputs than the checkpoint's 512 positions are truncated by the tokenizer.
        self.max_length = min(
            entry.task_option(ctx, self.config["max_length"], 128), self.encoder.config.max_position_embeddings
        )

    def _logits(self, batch: Sequence[Instance]) -> torch.Tensor:
        """(n, classes), or (n, options) for a two-choice task."""
        texts = entry.instance_texts(batch, self.ctx.task)
        pooled = entry.pooled_embeddings(self.encoder, self.tokenizer, texts, self.max_length, self.ctx.device)
        return entry.group_choices(self.head(pooled), len(batch), self.ctx.task)

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        rng = random.Random(self.ctx.seed)
        torch.manual_seed(self.ctx.seed)
        params = list(self.encoder.parameters()) + list(self.head.parameters())
        optimiser = torch.optim.AdamW(params, lr=self.config["lr"])
        self.encoder.train()
        for step, total, batch in entry.epoch_batches(train, self.config["epochs"], self.config["batch_size"], rng):
            labels = torch.tensor([inst.label for inst in batch], device=self.ctx.device)
            loss = nn.functional.cross_entropy(self._logits(batch), labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            entry.report_training(self.ctx, step, total, loss)
        self.encoder.eval()
        entry.save_modules(self.ctx, {"encoder": self.encoder, "head": self.head})

    def restore(self) -> None:
        entry.restore_modules(self.ctx, {"encoder": self.encoder, "head": self.head})

    @torch.inference_mode()
    def predict(self, batch: Sequence[Instance]) -> list[int]:
        return self._logits(batch).argmax(-1).tolist()
