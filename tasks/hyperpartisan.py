"""Hyperpartisan News Detection, by-article (SemEval-2019 Task 4): long-document binary classification.

The split is ours, not Longformer's: their ``hp-splits.json`` puts 51 of its 65 test articles in
train as well. We de-duplicate the 645 articles by normalised body text (first id kept; exact
duplicates share their label in this data), then split each class with a seeded shuffle into
70% train, 10% dev and 20% test. The split depends only on the data and ``SPLIT_SEED``.
"""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

from benchmark.errors import DataError
from tasks.base import (
    DataFile,
    EvalSet,
    Instance,
    TaskData,
    TaskInfo,
    checked_file,
    load_hub_dataset,
    normalise_space,
)

INFO = TaskInfo(
    name="hyperpartisan",
    kind="classification",
    input_fields=("title", "text"),
    label_names=("false", "true"),
    positive_label=1,
)
ARTICLES = DataFile(
    "articles-training-byarticle-20181122.xml", "d93839c366c03560c6f82ed4090ad6fccd55ab90b75c0f23be7befda026f8f02"
)
LABELS = DataFile(
    "ground-truth-training-byarticle-20181122.xml", "17cd01260c99739d4f3ac25f99ed39361cfde851bf018b675800a2b639bce790"
)
HUB_ID = ("hyperpartisan_news_detection", "byarticle")
SPLIT_SEED = 20190601
FRACTIONS = {"train": 0.7, "dev": 0.1, "test": 0.2}


def dedup_key(text: str) -> str:
    """Case, punctuation and whitespace do not make two articles different."""
    return re.sub(r"\W+", " ", text.lower()).strip()


def deduplicate(instances: Iterable[Instance]) -> list[Instance]:
    seen: set[str] = set()
    out = []
    for inst in instances:
        key = dedup_key(inst.inputs["text"])
        if key not in seen:
            seen.add(key)
            out.append(inst)
    return out


def stratified_split(instances: Sequence[Instance], seed: int = SPLIT_SEED) -> dict[str, tuple[Instance, ...]]:
    """Per class: seeded shuffle, then cut by ``FRACTIONS``; each split keeps file order."""
    parts: dict[str, list[Instance]] = {name: [] for name in FRACTIONS}
    for label in sorted({i.label for i in instances if i.label is not None}):
        members = [i for i in instances if i.label == label]
        random.Random(f"{seed}-{label}").shuffle(members)
        n_train = round(len(members) * FRACTIONS["train"])
        n_dev = round(len(members) * FRACTIONS["dev"])
        parts["train"] += members[:n_train]
        parts["dev"] += members[n_train : n_train + n_dev]
        parts["test"] += members[n_train + n_dev :]
    order = {inst.id: k for k, inst in enumerate(instances)}
    return {name: tuple(sorted(part, key=lambda i: order[i.id])) for name, part in parts.items()}


def read_articles(articles_path: Path, labels_path: Path) -> list[Instance]:
    try:
        articles = ET.parse(articles_path).getroot()
        labels = {a.get("id"): a.get("hyperpartisan") for a in ET.parse(labels_path).getroot()}
    except ET.ParseError as exc:
        raise DataError(f"hyperpartisan XML is not well-formed ({exc}): restore the original Zenodo files") from exc
    out = []
    for article in articles.iter("article"):
        article_id = article.get("id")
        flag = labels.get(article_id)
        if flag not in {"true", "false"}:
            raise DataError(f"{labels_path}: article {article_id} has no true/false label: restore the original file")
        text = normalise_space("".join(article.itertext()))
        inputs = {"title": normalise_space(article.get("title") or ""), "text": text}
        out.append(Instance(f"hp-{article_id}", inputs, 1 if flag == "true" else 0))
    return out


class HyperpartisanTask:
    info = INFO
    train_configs: tuple[str, ...] = ()
    default_train_config: str | None = None

    def load(self, data_dir: Path | None, train_config: str | None = None) -> TaskData:
        if data_dir is not None:
            everything = read_articles(
                checked_file(data_dir, INFO.name, ARTICLES), checked_file(data_dir, INFO.name, LABELS)
            )
            source, files = f"local:{data_dir}", {f"{INFO.name}/{f.relpath}": f.sha256 for f in (ARTICLES, LABELS)}
        else:
            rows = load_hub_dataset(*HUB_ID)["train"]  # type: ignore[index]
            everything = [
                Instance(
                    f"hp-{i:07d}",
                    {"title": normalise_space(r["title"]), "text": normalise_space(r["text"])},
                    int(bool(r["hyperpartisan"])),
                )
                for i, r in enumerate(rows)
            ]
            source, files = f"hub:{HUB_ID[0]}/{HUB_ID[1]}", {}
        splits = stratified_split(deduplicate(everything))
        return TaskData(INFO, splits["train"], (EvalSet("test", splits["test"]),), source, files, dev=splits["dev"])
