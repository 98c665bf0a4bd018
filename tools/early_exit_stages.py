"""Model selection for early exit's training schedule, on training data only (issue 19).

Why: the joint schedule's last exit trails the separately fine-tuned baseline by 2.4 points on AG
News, so no threshold gets within a point of it. This trains one model with the baseline's own
schedule (final exit only), then compares ways of adding the earlier exits: heads on the frozen
backbone (DeeBERT's second stage), with or without distillation from the final exit, and a short
joint pass distilled from a frozen copy of the stage-one model. Every candidate is scored on
``--val`` instances of the AG News *training* file that the job's 3,000-instance sample does not
hold (the test split is never read), as accuracy and mean exit depth per threshold.

    python3 tools/early_exit_stages.py --data-dir ../shared/data --seed 0
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import random
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmark import entry  # noqa: E402
from tasks.ag_news import AgNewsTask  # noqa: E402
from tasks.base import subsample  # noqa: E402

THRESHOLDS = (1.01, 0.99, 0.95, 0.9, 0.8, 0.7, 0.6)


def entry_module():
    spec = importlib.util.spec_from_file_location("ee_predictor", ROOT / "submissions/early-exit/predictor.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def encode(tok, insts, device="cpu"):
    enc = entry.tokenize(tok, [inst.inputs["text"] for inst in insts], 128, device)
    return enc["input_ids"], enc["attention_mask"]


def layer_features(model, tok, insts) -> list[torch.Tensor]:
    """The entry's own pooled states after each layer, eval mode: (n, hidden) per layer."""
    model.eval()
    out: list[list[torch.Tensor]] = [[] for _ in model.heads]
    with torch.no_grad():
        for start in range(0, len(insts), 64):
            for k, pooled in enumerate(model.pooled_states(*encode(tok, insts[start : start + 64]))):
                out[k].append(pooled)
    return [torch.cat(chunks) for chunks in out]


def score(mod, logits_dev, dev_y, logits_val, val_y) -> list[dict]:
    temps = [mod.fit_temperature(lg, dev_y) for lg in logits_dev]
    probs = [torch.softmax(lg / t, -1) for lg, t in zip(logits_val, temps, strict=True)]
    rows = []
    for thr in THRESHOLDS:
        chosen = mod.exit_layers(probs, thr)
        preds = torch.stack([p.argmax(-1) for p in probs], 1).gather(1, chosen[:, None])[:, 0]
        rows.append({"threshold": thr, "acc": round(float((preds == val_y).float().mean()), 4),
                     "mean_layers": round(float(chosen.float().mean() + 1), 3)})
    per_exit = [round(float((p.argmax(-1) == val_y).float().mean()), 4) for p in probs]
    return [{"per_exit_acc": per_exit}] + rows


def train_heads(heads, feats, y, teacher, distill, epochs, lr, seed):
    """Exit heads 0..n-2 on frozen features; the final head is kept as trained."""
    torch.manual_seed(seed)
    params = [p for h in heads[:-1] for p in h.parameters()]
    opt = torch.optim.AdamW(params, lr=lr)
    n = y.shape[0]
    gen = torch.Generator().manual_seed(seed)
    drop = nn.Dropout(0.1)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n, 16):
            idx = perm[start : start + 16]
            loss = 0.0
            for k, head in enumerate(heads[:-1]):
                logits = head(drop(feats[k][idx]))
                loss = loss + (1 - distill) * nn.functional.cross_entropy(logits, y[idx])
                if distill:
                    loss = loss + distill * nn.functional.kl_div(
                        torch.log_softmax(logits, -1), teacher[idx], reduction="batchmean")
            opt.zero_grad()
            loss.backward()
            opt.step()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/early_exit_stages.jsonl"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    mod = entry_module()
    data = AgNewsTask().load(args.data_dir)
    train = tuple(subsample(data.train, 3000, args.seed))
    held = {inst.id for inst in train}
    rest = [inst for inst in data.train if inst.id not in held]
    val = random.Random(1000 + args.seed).sample(rest, args.val)
    rng = random.Random(args.seed)
    order = list(train)
    rng.shuffle(order)
    dev, order = order[:300], order[300:]
    tok = entry.minilm_tokenizer()
    model = mod.ExitModel(entry.minilm_encoder(attn_implementation="eager"), 4)
    torch.manual_seed(args.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5)
    t0 = time.time()
    model.train()
    for step, total, batch in entry.epoch_batches(order, 2, 16, rng):
        ids, mask = encode(tok, batch)
        y = torch.tensor([i.label for i in batch])
        loss = nn.functional.cross_entropy(model.all_exits(ids, mask)[-1], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            print(f"stage1 {step}/{total} loss {float(loss):.3f} {time.time() - t0:.0f}s", flush=True)
    ys = {name: torch.tensor([i.label for i in s]) for name, s in (("tr", order), ("dev", dev), ("val", val))}
    feats = {name: layer_features(model, tok, s) for name, s in (("tr", order), ("dev", dev), ("val", val))}
    print(f"stage1 done {time.time() - t0:.0f}s", flush=True)
    results = []

    def record(name, heads):
        with torch.no_grad():
            lg = {s: [h(f) for h, f in zip(heads, feats[s], strict=True)] for s in ("dev", "val")}
        res = {"variant": name, "seed": args.seed, "rows": score(mod, lg["dev"], ys["dev"], lg["val"], ys["val"])}
        print(json.dumps(res), flush=True)
        results.append(res)

    with torch.no_grad():
        teacher = torch.softmax(model.heads[-1](feats["tr"][-1]), -1)
    for distill, epochs, lr in ((0.0, 3, 1e-3), (0.5, 3, 1e-3), (1.0, 3, 1e-3), (0.5, 10, 1e-3)):
        heads = copy.deepcopy(model.heads)
        train_heads(heads, feats["tr"], ys["tr"], teacher, distill, epochs, lr, args.seed)
        record(f"frozen d={distill} ep={epochs}", heads)
    # Joint pass distilled from the frozen stage-one model (all exits, final included).
    teacher_model = copy.deepcopy(model).eval()
    for p in teacher_model.parameters():
        p.requires_grad_(False)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    for step, total, batch in entry.epoch_batches(order, 1, 16, rng):
        ids, mask = encode(tok, batch)
        y = torch.tensor([i.label for i in batch])
        with torch.no_grad():
            t = torch.softmax(teacher_model.all_exits(ids, mask)[-1], -1)
        exits = model.all_exits(ids, mask)
        loss = nn.functional.cross_entropy(exits[-1], y)
        for lg in exits[:-1]:
            loss = loss + 0.5 * nn.functional.cross_entropy(lg, y) + 0.5 * nn.functional.kl_div(
                torch.log_softmax(lg, -1), t, reduction="batchmean")
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            print(f"joint {step}/{total} loss {float(loss):.3f} {time.time() - t0:.0f}s", flush=True)
    feats = {name: layer_features(model, tok, s) for name, s in (("tr", order), ("dev", dev), ("val", val))}
    record("joint-after-stage1 d=0.5 ep=1 lr=2e-5", model.heads)
    with args.out.open("a") as fh:
        for res in results:
            fh.write(json.dumps(res) + "\n")
    print(f"done {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
