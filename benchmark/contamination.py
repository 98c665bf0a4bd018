"""Refuse submissions that carry the eval set: its text (a long span of any eval instance) or its ids.

A sandbox hides the data folder from the entry's code, but a submitter can simply commit the
answers: a lookup table of test texts, a pickle of ids. ``submit`` and ``validate`` scan every file
of the submission (binary files through their printable runs, as ``strings`` would) for runs of
``SPAN_WORDS`` consecutive words of an eval instance and for eval ids. Compressed or encrypted
copies get past a text scan: the code review and the hidden-split reruns are what catch those.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from tasks.base import Instance

SPAN_WORDS = 12  # a 12-word run shared with an eval instance is a copy, not a coincidence
MIN_INSTANCES = 3  # quoting one or two instances (an example in a README) is not a copy of the set
MIN_IDS = 20
MAX_SCAN_BYTES = 64 << 20
SKIP_DIRS = {".git", "results", "__pycache__"}
WORD = re.compile(r"[a-z0-9]+")
PRINTABLE_RUN = re.compile(rb"[\x20-\x7e\t\n\r\x80-\xff]{24,}")
ID_TOKEN = re.compile(r"[A-Za-z0-9_.:/-]+")


def _words(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def _spans(words: Sequence[str]) -> Iterable[int]:
    for start in range(len(words) - SPAN_WORDS + 1):
        yield hash(tuple(words[start : start + SPAN_WORDS]))


def eval_index(instances: Iterable[Instance]) -> tuple[dict[int, str], set[str]]:
    """Span hash -> the id of an instance holding it, and the set of ids."""
    spans: dict[int, str] = {}
    ids: set[str] = set()
    for inst in instances:
        ids.add(inst.id)
        for value in inst.inputs.values():
            for span in _spans(_words(str(value))):
                spans.setdefault(span, inst.id)
    return spans, ids


def _file_text(path: Path) -> str:
    with path.open("rb") as handle:
        raw = handle.read(MAX_SCAN_BYTES)
    if b"\0" in raw[:8192]:  # binary: keep its printable runs (text inside a pickle, an array of bytes)
        raw = b"\n".join(PRINTABLE_RUN.findall(raw))
    return raw.decode("utf-8", errors="replace")


def _files(folder: Path) -> Iterable[Path]:
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in SKIP_DIRS for part in rel.parts[:-1]) or path.is_symlink() or not path.is_file():
            continue
        yield path


def scan_submission(folder: Path, eval_instances: Iterable[Instance]) -> list[str]:
    """One problem line per file of ``folder`` holding eval-set text or many eval ids; [] when clean."""
    spans, ids = eval_index(eval_instances)
    problems = []
    for path in _files(folder):
        try:
            text = _file_text(path)
        except OSError:
            continue
        rel = path.relative_to(folder)
        hit = {spans[s] for s in _spans(_words(text)) if s in spans}
        if len(hit) >= MIN_INSTANCES:
            problems.append(
                f"{rel}: holds text of {len(hit)} eval instances (e.g. {sorted(hit)[0]}): a submission must not "
                f"carry the eval set; remove that data"
            )
            continue
        named = {token for token in ID_TOKEN.findall(text) if token in ids}
        if len(named) >= MIN_IDS:
            problems.append(
                f"{rel}: names {len(named)} eval instance ids (e.g. {sorted(named)[0]}): a submission must not "
                f"carry the eval set; remove that list"
            )
    return problems


def scan_for_task(folder: Path, task: str, data_dir: str | Path | None, train_config: str | None = None) -> list[str]:
    """``scan_submission`` against every eval set of ``task`` (all instances, not a run's subsample).
    Cached per folder and task: ``validate`` asks once per record, and a submission has many."""
    return list(
        _scan_cached(str(Path(folder).resolve()), task, None if data_dir is None else str(data_dir), train_config)
    )


@functools.lru_cache(maxsize=32)
def _scan_cached(folder: str, task: str, data_dir: str | None, train_config: str | None) -> tuple[str, ...]:
    from tasks import get_task
    from tasks.base import resolve_data_dir

    data = get_task(task).load(resolve_data_dir(data_dir), train_config)
    return tuple(scan_submission(Path(folder), (i for eval_set in data.eval_sets for i in eval_set.instances)))
