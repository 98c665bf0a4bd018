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


def _entry_tables():
    spec = importlib.util.spec_from_file_location("entry_tables", REPO / "tools" / "entry_tables.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_entry_readme_tables_are_generated_from_the_index():
    module = _entry_tables()
    stale = [str(p) for p, text in module.updated_readmes(REPO).items() if p.read_text(encoding="utf-8") != text]
    assert stale == [], "run python tools/entry_tables.py"


def test_comparison_with_the_baseline_averages_each_points_seeds():
    """Means over seeds, the difference in points and the FLOPs ratio; a point lacking a FLOPs
    figure is left out rather than shown as free."""

    def row(point, seed, acc, flops):
        return {"params": {"t": point}, "seed": seed, "accuracy": {"test": acc}, "flops_per_instance": flops}

    baseline = [row(None, 0, 0.90, 1.2e9), row(None, 1, 0.88, 1.0e9)]
    rows = [row(0.8, 0, 0.885, 3e8), row(0.8, 1, 0.875, 2.5e8), row(0.6, 0, 0.80, None)]
    lines = _entry_tables().versus_baseline(rows, baseline, ["t"])
    assert "test accuracy 89.00%" in lines[0] and "1.1 GFLOP" in lines[0]
    assert [line for line in lines if line.startswith("| t=")] == ["| t=0.8 | 0, 1 | 88.00 | -1.00 | 0.275 | 4.00x |"]
    assert _entry_tables().versus_baseline(rows, [], ["t"]) == []
    assert _entry_tables().versus_baseline(rows, [row(None, 0, 0.9, None)], ["t"]) == []  # unknown, not free


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
