"""AG News: 4-class news topic classification (Zhang, Zhao & LeCun, NIPS 2015)."""

from __future__ import annotations

import csv
from pathlib import Path

from benchmark.errors import DataError
from tasks.base import DataFile, EvalSet, Instance, TaskData, TaskInfo, checked_file, load_hub_dataset

INFO = TaskInfo(
    name="ag_news",
    kind="classification",
    input_fields=("text",),
    label_names=("World", "Sports", "Business", "Sci/Tech"),
)
TEST = DataFile("test.csv", "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699")
# The shared train.csv is a documented 32,087-row verbatim subset of the official split.
TRAIN = DataFile("train.csv", "e9db6e9628c20996c0c0773beb570cb636bfb01e1ad7096ccb0665372aeaabcf")
HUB_ID = "fancyzhx/ag_news"


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
                text = f"{row[1]} {row[2]}".replace("\\n", " ")
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
        dataset = load_hub_dataset(HUB_ID)

        def convert(split: str) -> tuple[Instance, ...]:
            rows = dataset[split]  # type: ignore[index]
            return tuple(Instance(f"{split}-{i}", {"text": r["text"]}, int(r["label"])) for i, r in enumerate(rows))

        return TaskData(INFO, convert("train"), (EvalSet("test", convert("test")),), f"hub:{HUB_ID}")
