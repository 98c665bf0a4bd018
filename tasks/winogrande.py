"""WinoGrande v1.1 (Sakaguchi et al., AAAI 2020), with WSC273 as the out-of-distribution set.

Both are two-option fill-in-the-blank problems: ``sentence`` holds one ``_`` and the label says
which of ``option1``/``option2`` fills it. WSC problems are converted to the same form by putting
the blank where the ambiguous pronoun was (possessive pronouns become a bare name, as in the
usual conversion).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
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
    name="winogrande",
    kind="multiple_choice",
    input_fields=("sentence", "option1", "option2"),
    label_names=("option1", "option2"),
    choice_fields=("option1", "option2"),
)
TRAIN_FILES = {
    "xs": DataFile("train_xs.jsonl", "2f159f8216e54cdf835399ac10ebdd66699ca53934f4fc21a42d222512571dae"),
    "s": DataFile("train_s.jsonl", "959778b5a77819891ba9cbfc591925e94c853c6de3019992e292765176c69daf"),
    "m": DataFile("train_m.jsonl", "b02e7d92b5e44147ee4d1879fbf0e484510053f06c50a6fa6400265058f3ed42"),
    "l": DataFile("train_l.jsonl", "4263afcab36b27dc6c3683a60806d3bc11ac593ca1814f27c5b51f9357d399c8"),
    "xl": DataFile("train_xl.jsonl", "4ba3ebf88d222bc16b9e61be51a008396cac714724063b01a84a2da037e05843"),
}
DEV = DataFile("dev.jsonl", "1aeac79cf46a3dcbe59a71ca7e5372a1490cde2b4ae2387dc56f00378104d2e8")
WSC = DataFile("WSCollection.xml", "8d72fe16331cfcddfc2f8ec6f87c5a07e186f913e023705a998a5cc6011994e4")
WSC273_SIZE = 273
HUB_ID = "allenai/winogrande"
HUB_WSC = ("winograd_wsc", "wsc273")


def _read_jsonl(path: Path, split: str) -> tuple[Instance, ...]:
    out: list[Instance] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            try:
                row = json.loads(line)
                label = {"1": 0, "2": 1}[str(row["answer"])]
                inputs = {k: str(row[k]) for k in INFO.input_fields}
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(
                    f"{path} line {line_no}: not a WinoGrande record with sentence, option1, option2 "
                    f"and answer 1/2 ({type(exc).__name__}): restore the original file"
                ) from exc
            out.append(Instance(str(row.get("qID") or f"{split}-{line_no - 1}"), inputs, label))
    return tuple(out)


def wsc_instance(index: int, txt1: str, txt2: str, answers: list[str], correct: str) -> Instance:
    """One WSC schema in WinoGrande form; ``correct`` is the raw letter ('A', ' B. ', ...)."""
    letter = correct.strip().rstrip(".").strip().upper()
    if letter not in {"A", "B"} or len(answers) != 2:
        raise DataError(f"WSC schema {index}: expected two answers and a correct letter A/B, got {correct!r}")
    sentence = normalise_space(f"{txt1} _ {txt2}")
    sentence = sentence.replace(" _ .", " _.").replace(" _ ,", " _,")
    inputs = {"sentence": sentence, "option1": normalise_space(answers[0]), "option2": normalise_space(answers[1])}
    return Instance(f"wsc-{index}", inputs, 0 if letter == "A" else 1)


def read_wsc(path: Path, limit: int = WSC273_SIZE) -> tuple[Instance, ...]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise DataError(f"{path} is not well-formed XML ({exc}): restore the original WSCollection.xml") from exc
    out = []
    for index, schema in enumerate(root.iter("schema")):
        if index >= limit:
            break
        text = schema.find("text")
        if text is None:
            raise DataError(f"{path}: schema {index} has no <text>: restore the original WSCollection.xml")
        answers = [a.text or "" for a in schema.iter("answer")]
        out.append(
            wsc_instance(
                index,
                text.findtext("txt1") or "",
                text.findtext("txt2") or "",
                answers,
                schema.findtext("correctAnswer") or "",
            )
        )
    if len(out) < limit:
        raise DataError(f"{path} holds {len(out)} schemas, fewer than {limit}: restore the original file")
    return tuple(out)


class WinoGrandeTask:
    info = INFO
    train_configs: tuple[str, ...] = tuple(TRAIN_FILES)
    default_train_config: str | None = "xl"

    def load(self, data_dir: Path | None, train_config: str | None = None) -> TaskData:
        config = train_config or self.default_train_config
        if config not in TRAIN_FILES:
            raise DataError(f"unknown WinoGrande train config {config!r}: choose one of {', '.join(TRAIN_FILES)}")
        if data_dir is not None:
            train_file = TRAIN_FILES[config]
            train = _read_jsonl(checked_file(data_dir, INFO.name, train_file), f"train_{config}")
            dev = _read_jsonl(checked_file(data_dir, INFO.name, DEV), "dev")
            wsc = read_wsc(checked_file(data_dir, "wsc", WSC))
            files = {f"{INFO.name}/{f.relpath}": f.sha256 for f in (train_file, DEV)}
            files[f"wsc/{WSC.relpath}"] = WSC.sha256
            return TaskData(
                INFO,
                train,
                (EvalSet("dev", dev, "id"), EvalSet("wsc273", wsc, "ood")),
                f"local:{data_dir}",
                files,
            )
        grande = load_hub_dataset(HUB_ID, f"winogrande_{config}")
        wsc_rows = load_hub_dataset(*HUB_WSC)

        def convert(rows: object, split: str) -> tuple[Instance, ...]:
            return tuple(
                Instance(f"{split}-{i}", {k: r[k] for k in INFO.input_fields}, int(r["answer"]) - 1)
                for i, r in enumerate(rows)  # type: ignore[call-overload]
            )

        wsc = tuple(
            wsc_instance(
                i,
                r["text"][: r["pronoun_loc"]],
                r["text"][r["pronoun_loc"] + len(r["pronoun"]) :],
                list(r["options"]),
                "AB"[int(r["label"])],
            )
            for i, r in enumerate(wsc_rows["test"])  # type: ignore[index]
        )
        return TaskData(
            INFO,
            convert(grande["train"], f"train_{config}"),  # type: ignore[index]
            (EvalSet("dev", convert(grande["validation"], "dev"), "id"), EvalSet("wsc273", wsc, "ood")),  # type: ignore[index]
            f"hub:{HUB_ID}",
        )
