"""Frozen MiniLM embeddings + a linear head: a cheap, honest baseline that trains in minutes on CPU."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from benchmark import entry
from benchmark.entry import Instance, PredictorContext

EMBED_BATCH = 32


class LinearProbe:
    def __init__(self, max_length: Mapping[str, int] | int = 128, l2: float = 1e-4, max_iter: int = 200) -> None:
        self.max_length_option = max_length
        self.l2 = l2
        self.max_iter = max_iter

    def load(self, ctx: PredictorContext) -> None:
        self.ctx = ctx
        self.max_length = entry.task_option(ctx, self.max_length_option, 128)
        self.tokenizer = entry.minilm_tokenizer()
        self.encoder = entry.minilm_encoder(dtype=getattr(torch, ctx.dtype)).to(ctx.device).eval()
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, entry.head_size(ctx.task)).to(ctx.device)

    @torch.inference_mode()
    def _embed(self, texts: list[str]) -> torch.Tensor:
        pooled = entry.pooled_embeddings(self.encoder, self.tokenizer, texts, self.max_length, self.ctx.device)
        return torch.nn.functional.normalize(pooled.float(), dim=-1)

    def _features(self, batch: Sequence[Instance]) -> torch.Tensor:
        """(n, d) for classification, (n, choices, d) for multiple choice."""
        feats = self._embed(entry.instance_texts(batch, self.ctx.task))
        choices = entry.n_choices(self.ctx.task)
        return feats.view(len(batch), choices, -1) if choices else feats

    def _logits(self, feats: torch.Tensor) -> torch.Tensor:
        out = self.head(feats)
        return out.squeeze(-1) if entry.n_choices(self.ctx.task) else out

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        # The encoder is frozen, so training is one L-BFGS solve on cached features: nothing worth
        # saving for restore(); the harness runs this fit every time (and charges it every time).
        feats = torch.cat([self._features(train[i : i + EMBED_BATCH]) for i in range(0, len(train), EMBED_BATCH)])
        labels = torch.tensor([inst.label for inst in train], device=feats.device)
        torch.manual_seed(self.ctx.seed)
        self.head.reset_parameters()
        optimiser = torch.optim.LBFGS(self.head.parameters(), max_iter=self.max_iter, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(self._logits(feats), labels)
            loss = loss + self.l2 * self.head.weight.pow(2).sum()
            loss.backward()
            return loss

        optimiser.step(closure)
        self.ctx.report_progress(1, 1, note="L-BFGS solve done")

    @torch.inference_mode()
    def predict(self, batch: Sequence[Instance]) -> list[int]:
        return self._logits(self._features(batch)).argmax(-1).tolist()
