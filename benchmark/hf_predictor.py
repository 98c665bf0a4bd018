"""Predictor for ``kind: hf`` entries: a fine-tuned model evaluated through transformers' Auto classes."""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.errors import ManifestError
from benchmark.predictor import PredictorContext
from tasks.base import Instance, choice_texts, classification_text

DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


class HFPredictor:
    """Sequence classification for classification tasks, multiple choice for two-option tasks."""

    def __init__(self, model_ref: str, max_length: int = 128) -> None:
        self.model_ref = model_ref
        self.max_length = max_length

    def load(self, ctx: PredictorContext) -> None:
        import torch
        import transformers

        self.ctx = ctx
        auto = (
            transformers.AutoModelForMultipleChoice
            if ctx.task.kind == "multiple_choice"
            else transformers.AutoModelForSequenceClassification
        )
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(self.model_ref)
            self.model = auto.from_pretrained(self.model_ref, dtype=getattr(torch, DTYPES[ctx.dtype]))
        except (OSError, ValueError) as exc:
            first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise ManifestError(
                f"model {self.model_ref!r} could not be loaded ({first}): give 'model' as a folder inside "
                f"the submission, or a Hub id reachable from this machine"
            ) from exc
        n_labels = getattr(self.model.config, "num_labels", None)
        if ctx.task.kind == "classification" and n_labels != len(ctx.task.label_names):
            raise ManifestError(
                f"model {self.model_ref!r} has {n_labels} labels but task {ctx.task.name} has "
                f"{len(ctx.task.label_names)}: fine-tune a head for this task"
            )
        self.model.to(ctx.device).eval()

    def predict(self, batch: Sequence[Instance]) -> list[int]:
        import torch

        info = self.ctx.task
        with torch.inference_mode():
            if info.kind == "multiple_choice":
                n_choices = len(info.choice_fields)
                flat = [text for inst in batch for text in choice_texts(inst, info)]
                enc = self.tokenizer(
                    flat, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
                )
                enc = {k: v.view(len(batch), n_choices, -1).to(self.ctx.device) for k, v in enc.items()}
            else:
                texts = [classification_text(inst, info) for inst in batch]
                enc = self.tokenizer(
                    texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
                )
                enc = {k: v.to(self.ctx.device) for k, v in enc.items()}
            logits = self.model(**enc).logits
        return logits.argmax(dim=-1).tolist()
