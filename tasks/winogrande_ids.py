"""The WinoGrande dev ids (``qID``) for data that comes without them.

The local ``dev.jsonl`` carries each problem's ``qID``, and every committed record names its
predictions by it. The Hub's parquet files were written by the old loading script, which dropped
``qID``; they keep the rows in ``dev.jsonl`` order. This table gives, per row in that order, the
``qID`` and an 8-hex digest of the row's content (sentence, options, answer), so the Hub loader
names each row by its ``qID`` and proves, row by row, that it is the same problem with the same
answer, instead of trusting the order. It holds identifiers and digests only, no text.

Regenerate it from the pinned original with ``python -m tasks.winogrande_ids <data folder>``; a test
checks that the committed table equals the one the local file gives.
"""

from __future__ import annotations

import hashlib
import json
import sys
from functools import cache
from pathlib import Path

from tasks.base import DataFile, checked_file
from tasks.errors import DataError

# The pinned dev file the table is made from (here, not in tasks.winogrande, which reads the table).
DEV = DataFile("dev.jsonl", "1aeac79cf46a3dcbe59a71ca7e5372a1490cde2b4ae2387dc56f00378104d2e8")

TABLE = Path(__file__).parent / "data" / "winogrande_dev_qids.tsv"


def row_digest(sentence: object, option1: object, option2: object, answer: object) -> str:
    """8 hex digits of the row's content: enough to catch a shifted or edited row, not to rebuild it."""
    joined = "\x1f".join(str(v) for v in (sentence, option1, option2, answer))  # str: a hostile None still hashes
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:8]


def table_text(dev_jsonl: Path) -> str:
    """The table for a ``dev.jsonl``: one ``qID<TAB>digest`` line per row, in file order."""
    lines = []
    with dev_jsonl.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            lines.append(f"{row['qID']}\t{row_digest(row['sentence'], row['option1'], row['option2'], row['answer'])}")
    return "\n".join(lines) + "\n"


@cache
def dev_ids() -> tuple[tuple[str, str], ...]:
    """(qID, digest) per dev row, in ``dev.jsonl`` order."""
    try:
        pairs = [tuple(line.split("\t")) for line in TABLE.read_text(encoding="utf-8").splitlines() if line]
    except OSError as exc:
        raise DataError(f"the WinoGrande dev id table {TABLE} is missing ({exc}): reinstall greenbench") from exc
    if any(len(p) != 2 for p in pairs):
        raise DataError(f"the WinoGrande dev id table {TABLE} is malformed: regenerate it with python -m tasks.winogrande_ids")
    return tuple((p[0], p[1]) for p in pairs)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tasks.winogrande_ids <data folder holding winogrande/dev.jsonl>", file=sys.stderr)
        return 2
    TABLE.write_text(table_text(checked_file(Path(argv[0]), "winogrande", DEV)), encoding="utf-8")
    print(f"wrote {TABLE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
