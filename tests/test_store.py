"""The committed records store: its index and the entry READMEs' generated tables are current,
and records live only there, never inside the entries' code folders."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from benchmark.record import find_runs
from benchmark.store import REFERENCE_STORE, index_row, read_index

REPO = Path(__file__).resolve().parent.parent
STORE = REPO / REFERENCE_STORE


def test_index_lists_every_record_of_the_store():
    rows = read_index(STORE)
    runs = find_runs(STORE)
    assert len(rows) == len(runs) >= 50
    assert rows == sorted((index_row(STORE, run) for run in runs), key=lambda r: r["path"])


def test_records_live_in_the_store_not_in_the_entries():
    assert find_runs(REPO / "submissions") == []
    for row in read_index(STORE):
        assert row["path"].split("/")[:3] == [row["task"], row["profile"], row["entry"]]


def test_entry_readme_tables_are_generated_from_the_index():
    spec = importlib.util.spec_from_file_location("entry_tables", REPO / "tools" / "entry_tables.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stale = [str(p) for p, text in module.updated_readmes(REPO).items() if p.read_text(encoding="utf-8") != text]
    assert stale == [], "run python tools/entry_tables.py"


def test_generated_block_is_outside_the_code_digest(tmp_path):
    from benchmark.fingerprint import GENERATED_BEGIN, GENERATED_END, code_digest

    folder = tmp_path / "e"
    folder.mkdir()
    (folder / "predictor.py").write_text("x = 1\n")
    (folder / "README.md").write_text(f"# e\n{GENERATED_BEGIN}\n| a |\n{GENERATED_END}\n")
    before = code_digest(folder)
    (folder / "README.md").write_text(f"# e\n{GENERATED_BEGIN}\n| b |\n{GENERATED_END}\n")
    assert code_digest(folder) == before
    (folder / "README.md").write_text(f"# e, edited\n{GENERATED_BEGIN}\n| b |\n{GENERATED_END}\n")
    assert code_digest(folder) != before  # the rest of the README is code like any other file
