"""Cartography entry: map the training data, then retrain on a region of the data map.

Classification tasks get a linear head over the classes; two-choice tasks (WinoGrande, the paper's
setting) score each option-filled sentence with a one-output head, and p(gold) is the softmax over
the options, as in the paper's multiple-choice model.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from benchmark import entry
from benchmark.entry import Instance, PredictorContext

from . import cartography as carto


class Cartography:
    def __init__(
        self,
        subset: str = "ambiguous",
        fraction: float = 0.33,
        map_epochs: int = 3,
        epochs: int = 2,
        lr: float = 5e-5,
        batch_size: int = 16,
        max_length: Mapping[str, int] | int = 128,
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
        self.ctx = ctx
        self.max_length = entry.task_option(ctx, self.config["max_length"], 128)
        self.tokenizer = entry.minilm_tokenizer()
        self._fresh_model()

    def _fresh_model(self) -> None:
        torch.manual_seed(self.ctx.seed)
        self.encoder = entry.minilm_encoder().to(self.ctx.device)
        self.head = nn.Linear(self.encoder.config.hidden_size, entry.head_size(self.ctx.task)).to(self.ctx.device)

    def _logits(self, batch: Sequence[Instance]) -> torch.Tensor:
        """(n, classes), or (n, options) for a two-choice task."""
        texts = entry.instance_texts(batch, self.ctx.task)
        pooled = entry.pooled_embeddings(self.encoder, self.tokenizer, texts, self.max_length, self.ctx.device)
        return entry.group_choices(self.head(pooled), len(batch), self.ctx.task)

    def _train(self, data: Sequence[Instance], epochs: int, record: bool) -> dict[str, dict[str, list]]:
        """Fine-tune; with ``record``, keep p(gold) and correctness of every training forward pass."""
        rng = random.Random(self.ctx.seed)
        optimiser = torch.optim.AdamW(
            list(self.encoder.parameters()) + list(self.head.parameters()), lr=self.config["lr"]
        )
        probs: dict[str, list[float]] = {inst.id: [] for inst in data}
        right: dict[str, list[bool]] = {inst.id: [] for inst in data}
        self.encoder.train()
        for step, total, batch in entry.epoch_batches(data, epochs, self.config["batch_size"], rng):
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
            entry.report_training(
                self.ctx, step, total, loss, note="mapping run" if record else f"{self.subset} subset"
            )
        self.encoder.eval()
        return {"probs": probs, "right": right}

    def _map(self, train: Sequence[Instance]) -> set[str]:
        """The mapping run, then the ids of the chosen region. It runs inside every subset job's fit
        and is no longer cached across subsets: its cost is charged to each run that uses the map,
        rather than to whichever subset happened to run first. The map is saved beside the weights."""
        t0 = time.perf_counter()
        dynamics = self._train(train, self.config["map_epochs"], record=True)
        stats = carto.statistics(dynamics["probs"], dynamics["right"])
        folder = self.ctx.weights_dir
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "dynamics.json").write_text(json.dumps(dynamics))
        (folder / "data-map.svg").write_text(carto.data_map_svg(stats, f"Data map: {self.ctx.task.name}"))
        self.report.update(mapping="ran in this fit", mapping_s=time.perf_counter() - t0)
        self._fresh_model()  # retrain from the pretrained weights, as the paper does
        return set(carto.select(stats, self.subset, self.fraction, seed=self.ctx.seed))

    def fit(self, train: Sequence[Instance], dev: Sequence[Instance]) -> None:
        chosen = list(train)
        if self.subset != "full":  # the 100% control needs no map
            keep = self._map(train)
            chosen = [inst for inst in train if inst.id in keep]
        t1 = time.perf_counter()
        self._train(chosen, self.config["epochs"], record=False)
        self.report.update(subset=self.subset, n_subset=len(chosen), subset_training_s=time.perf_counter() - t1)
        entry.save_modules(self.ctx, {"encoder": self.encoder, "head": self.head}, report=self.report)

    def restore(self) -> None:
        self.report.update(entry.restore_modules(self.ctx, {"encoder": self.encoder, "head": self.head})["report"])

    @torch.inference_mode()
    def predict(self, batch: Sequence[Instance]) -> list[int]:
        return self._logits(batch).argmax(-1).tolist()

    def diagnostics(self) -> dict[str, object]:
        return dict(self.report)
