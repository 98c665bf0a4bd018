"""WinoGrande v1.1 (Sakaguchi et al., AAAI 2020), with WSC273 as the out-of-distribution set.

Both are two-option fill-in-the-blank problems: ``sentence`` holds one ``_`` and the label says
which of ``option1``/``option2`` fills it. WSC problems are converted to the same form by putting
the blank where the ambiguous pronoun was (possessive pronouns become a bare name, as in the
usual conversion).

Hub sources, both read as files at a pinned commit (see ``tasks.hub``):

- ``allenai/winogrande`` at ``df8eb8fe2e3ab788ec6eada56b9203a86a34c93d`` ("Add 'winogrande_debiased'
  config data files"), files ``winogrande_<size>/{train,validation}-00000-of-00001.parquet``. Why:
  the upstream repository, whose parquet files the Hub's staff added per config; that commit still
  holds ``winogrande.py``, so ``datasets.load_dataset`` refuses it, but its files load fine. The
  rows are the original jsonl rows in file order without ``qID``: train ids are positional in both
  sources (``train_<size>-<row>``), and dev ids are the ``qID`` in both, the Hub's looked up by row
  in ``tasks/data/winogrande_dev_qids.tsv`` and checked against each row's content digest.
- ``lighteval/winograd_wsc`` at ``dede54fde0e0d2c51697a0dfc66556f27acc71d3`` ("Convert dataset to
  Parquet"), file ``wsc285/test-00000-of-00001.parquet`` (the file that commit adds), first 273 rows.
  Why: the original ``winograd_wsc`` is a loading script; lm-evaluation-harness moved its wsc273
  task to this mirror (PR #3946) after finding all 273 rows equal to the Hub's own conversion of the
  original, and the script defines wsc273 as the first 273 schemas of the same 285. Ids are
  positional in both sources (``wsc-<index>`` in collection order); the rows carry the script's
  ``text``, ``pronoun``, ``pronoun_loc``, ``options`` and ``label``, which this module turns into the
  same fill-in-the-blank form as the local XML. A commit holding only the wsc273 config also works.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tasks import hub
from tasks.base import (
    DataFile,
    EvalSet,
    Instance,
    TaskData,
    TaskInfo,
    checked_file,
    hub_source,
    normalise_space,
)
from tasks.errors import DataError
from tasks.winogrande_ids import DEV, dev_ids, row_digest

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
WSC = DataFile("WSCollection.xml", "8d72fe16331cfcddfc2f8ec6f87c5a07e186f913e023705a998a5cc6011994e4")
WSC273_SIZE = 273
HUB = hub.HubRepo("allenai/winogrande", "df8eb8fe2e3ab788ec6eada56b9203a86a34c93d")
HUB_WSC = hub.HubRepo("lighteval/winograd_wsc", "dede54fde0e0d2c51697a0dfc66556f27acc71d3")
WSC_COLUMNS = ("text", "pronoun", "pronoun_loc", "options", "label")
# WSC285 holds WSC273 as its first 273 rows; either config's file, in either layout, will do.
WSC_PATHS = (
    "wsc285/test-00000-of-00001.parquet",
    "wsc285/test/0000.parquet",
    "wsc273/test-00000-of-00001.parquet",
    "wsc273/test/0000.parquet",
)


def hub_paths(folder: str, split: str) -> tuple[str, str]:
    """The repository's own parquet layout, then the refs/convert/parquet layout (see tasks.hub)."""
    return (f"{folder}/{split}-00000-of-00001.parquet", f"{folder}/{split}/0000.parquet")


def _read_jsonl(path: Path, split: str, by_qid: bool) -> tuple[Instance, ...]:
    """Dev rows are named by ``qID`` (every record uses it); train rows by position, as on the Hub."""
    out: list[Instance] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            try:
                row = json.loads(line)
                inst = grande_instance(row, str(row["qID"]) if by_qid else f"{split}-{line_no - 1}")
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(
                    f"{path} line {line_no}: not a WinoGrande record with qID, sentence, option1, option2 "
                    f"and answer 1/2 ({type(exc).__name__}): restore the original file"
                ) from exc
            out.append(inst)
    return tuple(out)


def grande_instance(row: dict, instance_id: str) -> Instance:
    """One WinoGrande row (a jsonl line or a Hub parquet row: same field names and values)."""
    label = {"1": 0, "2": 1}[str(row["answer"])]
    return Instance(instance_id, {k: str(row[k]) for k in INFO.input_fields}, label)


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
            train = _read_jsonl(checked_file(data_dir, INFO.name, train_file), f"train_{config}", by_qid=False)
            dev = _read_jsonl(checked_file(data_dir, INFO.name, DEV), "dev", by_qid=True)
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
        return _load_hub(config)


def _hub_rows(repo: hub.HubRepo, paths: tuple[str, ...], columns: tuple[str, ...], files: dict[str, str]) -> list[dict]:
    rows, path, digest = hub.read_parquet(repo, paths, columns)
    files[hub.file_key(repo, path)] = digest
    return rows


def _bad_row(repo: hub.HubRepo, what: str, row_no: int, exc: Exception) -> DataError:
    return DataError(
        f"{repo.repo_id}@{repo.revision} {what} row {row_no} is not a valid record ({type(exc).__name__}: {exc}): "
        f"pin the documented commit or pass --data-dir with the original files"
    )


def hub_train(repo: hub.HubRepo, rows: list[dict], config: str) -> tuple[Instance, ...]:
    out = []
    for row_no, row in enumerate(rows):
        try:
            out.append(grande_instance(row, f"train_{config}-{row_no}"))
        except (KeyError, TypeError) as exc:
            raise _bad_row(repo, "train", row_no, exc) from exc
    return tuple(out)


def hub_dev(repo: hub.HubRepo, rows: list[dict]) -> tuple[Instance, ...]:
    """Dev rows named by ``qID``: the table's row must carry the same content digest, or nothing loads."""
    table = dev_ids()
    if len(rows) != len(table):
        raise DataError(
            f"{repo.repo_id}@{repo.revision} validation split has {len(rows)} rows, WinoGrande dev has {len(table)}: "
            f"pin the documented commit or pass --data-dir with the original files"
        )
    out = []
    for row_no, (row, (qid, digest)) in enumerate(zip(rows, table, strict=True)):
        if row_digest(row["sentence"], row["option1"], row["option2"], row["answer"]) != digest:
            raise DataError(
                f"{repo.repo_id}@{repo.revision} validation row {row_no} is not WinoGrande dev problem {qid} "
                f"(content differs): pin the documented commit or pass --data-dir with the original files"
            )
        try:
            out.append(grande_instance(row, qid))
        except (KeyError, TypeError) as exc:
            raise _bad_row(repo, "validation", row_no, exc) from exc
    return tuple(out)


def hub_wsc(repo: hub.HubRepo, rows: list[dict]) -> tuple[Instance, ...]:
    """WSC273 from the script's columns: the pronoun at ``pronoun_loc`` becomes the blank."""
    if len(rows) not in (WSC273_SIZE, 285):
        raise DataError(
            f"{repo.repo_id}@{repo.revision} has {len(rows)} WSC rows, neither 273 (wsc273) nor 285 (wsc285): "
            f"pin the documented commit or pass --data-dir with the original files"
        )
    out = []
    for i, r in enumerate(rows[:WSC273_SIZE]):
        try:
            loc, text, label = int(r["pronoun_loc"]), str(r["text"]), int(r["label"])
            if label not in (0, 1) or text[loc : loc + len(r["pronoun"])] != r["pronoun"]:
                raise ValueError(f"label {label} or pronoun {r['pronoun']!r} at {loc} does not fit the text")
            left, right = text[:loc], text[loc + len(r["pronoun"]) :]
            out.append(wsc_instance(i, left, right, list(r["options"]), "AB"[label]))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise _bad_row(repo, "wsc273", i, exc) from exc
    return tuple(out)


def _load_hub(config: str) -> TaskData:
    grande, wsc_repo = hub.pinned(HUB), hub.pinned(HUB_WSC)
    files: dict[str, str] = {}
    columns = ("sentence", "option1", "option2", "answer")
    folder = f"winogrande_{config}"
    train = hub_train(grande, _hub_rows(grande, hub_paths(folder, "train"), columns, files), config)
    dev = hub_dev(grande, _hub_rows(grande, hub_paths(folder, "validation"), columns, files))
    wsc = hub_wsc(wsc_repo, _hub_rows(wsc_repo, WSC_PATHS, WSC_COLUMNS, files))
    revisions = {grande.repo_id: grande.revision, wsc_repo.repo_id: wsc_repo.revision}
    return TaskData(
        INFO,
        train,
        (EvalSet("dev", dev, "id"), EvalSet("wsc273", wsc, "ood")),
        hub_source(revisions),
        files,
        revisions=revisions,
    )
