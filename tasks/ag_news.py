"""AG News: 4-class news topic classification (Zhang, Zhao & LeCun, NIPS 2015).

Hub source: ``fancyzhx/ag_news`` at commit ``eb185aade064a813bc0b7f42de02595523103ca4`` ("Convert
dataset to Parquet (#5)"), files ``data/train-00000-of-00001.parquet`` and
``data/test-00000-of-00001.parquet``. Why this one: it is the upstream repository itself, script-free
since that commit, and the same commit and paths are pinned by public evaluation code (MTEB's AgNews
task among others), so the pin is not ours alone. The parquet rows were written by the old loading
script from the same ``test.csv`` as the local copy, in file order, as ``text = title + " " +
description`` with the label shifted to 0-3; so a test row's id is its position in both sources
(``test-<row>``) and its text gets the local reader's one normalisation (``\\n`` -> space). The
Hub's train split is the full 120,000-row official file; the local ``train.csv`` is a documented
32,087-row subset in another order, so train ids (``train-<row>``) name rows of different files and
the two sources are different jobs (the data identity says so).
"""

from __future__ import annotations

import csv
from pathlib import Path

from tasks import hub
from tasks.base import DataFile, EvalSet, Instance, TaskData, TaskInfo, checked_file, hub_source
from tasks.errors import DataError

INFO = TaskInfo(
    name="ag_news",
    kind="classification",
    input_fields=("text",),
    label_names=("World", "Sports", "Business", "Sci/Tech"),
)
TEST = DataFile("test.csv", "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699")
# The shared train.csv is a documented 32,087-row verbatim subset of the official split.
TRAIN = DataFile("train.csv", "e9db6e9628c20996c0c0773beb570cb636bfb01e1ad7096ccb0665372aeaabcf")
HUB = hub.HubRepo("fancyzhx/ag_news", "eb185aade064a813bc0b7f42de02595523103ca4")
# The repository's own layout first, then the refs/convert/parquet layout (see tasks.hub).
HUB_FILES = {split: (f"data/{split}-00000-of-00001.parquet", f"default/{split}/0000.parquet") for split in ("train", "test")}


def clean_text(title_and_description: str) -> str:
    """The one normalisation both sources get: line breaks are stored as a backslash and ``n``."""
    return title_and_description.replace("\\n", " ")


def _read_csv(path: Path, split: str) -> tuple[Instance, ...]:
    out: list[Instance] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for row_no, row in enumerate(csv.reader(handle, strict=True), start=1):
                if len(row) != 3 or row[0] not in {"1", "2", "3", "4"}:
                    raise DataError(
                        f"{path} line {row_no}: expected 3 fields (class 1-4, title, description), "
                        f"got {len(row)}: replace the file with the original AG News CSV"
                    )
                text = clean_text(f"{row[1]} {row[2]}")
                out.append(Instance(f"{split}-{row_no - 1}", {"text": text}, int(row[0]) - 1))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a readable AG News CSV ({exc}): restore the original file") from exc
    return tuple(out)


class AgNewsTask:
    info = INFO
    train_configs: tuple[str, ...] = ()
    default_train_config: str | None = None

    def load(self, data_dir: Path | None, train_config: str | None = None) -> TaskData:
        if data_dir is not None:
            test_path = checked_file(data_dir, INFO.name, TEST)
            train_path = checked_file(data_dir, INFO.name, TRAIN)
            return TaskData(
                info=INFO,
                train=_read_csv(train_path, "train"),
                eval_sets=(EvalSet("test", _read_csv(test_path, "test")),),
                source=f"local:{data_dir}",
                files={f"{INFO.name}/{f.relpath}": f.sha256 for f in (TEST, TRAIN)},
            )
        return _load_hub()


def _read_hub_split(repo: hub.HubRepo, split: str, files: dict[str, str]) -> tuple[Instance, ...]:
    rows, path, digest = hub.read_parquet(repo, HUB_FILES[split], ("text", "label"))
    files[hub.file_key(repo, path)] = digest
    out = []
    for row_no, row in enumerate(rows):
        if not isinstance(row["text"], str) or row["label"] not in (0, 1, 2, 3):
            raise DataError(
                f"{hub.file_key(repo, path)} row {row_no}: expected a text and a label 0-3, got {row['label']!r}: "
                f"pin the documented commit or pass --data-dir with the original CSV files"
            )
        out.append(Instance(f"{split}-{row_no}", {"text": clean_text(row["text"])}, int(row["label"])))
    return tuple(out)


def _load_hub() -> TaskData:
    repo = hub.pinned(HUB)
    files: dict[str, str] = {}
    train = _read_hub_split(repo, "train", files)
    test = _read_hub_split(repo, "test", files)
    revisions = {repo.repo_id: repo.revision}
    return TaskData(INFO, train, (EvalSet("test", test),), hub_source(revisions), files, revisions=revisions)
