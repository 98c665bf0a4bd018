"""Hostile entries, one per attack found in issue 13, run at the isolated level (bwrap).

Each test asserts the attack failed (the entry reports what it reached through diagnostics(), and
the host is checked directly) and that an honest job run next in the same process completes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmark import protocol
from benchmark.isolation import available_isolation
from benchmark.sandbox import Limits, SandboxedPredictor
from tests.hostile.driver import TEST, Outcome, make_entry, run_entry

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        available_isolation() != "bwrap", reason="the hostile entries need the isolated level (install bubblewrap)"
    ),
]


@dataclass
class Layout:
    """A repository-like tree around the submissions: labels, records and another entry's cache."""

    root: Path
    data_dir: Path

    @property
    def canary(self) -> Path:
        return self.root / "repo" / "data" / "ag_news" / "test.csv"

    @property
    def other_cache(self) -> Path:
        return self.root / "cache" / "other-entry" / "model.bin"

    @property
    def marker(self) -> Path:
        return self.root / "host-marker"

    def params(self) -> dict:
        real = [str(self.data_dir / "ag_news" / n) for n in ("test.csv", "train.csv")]
        return {
            "targets": [str(self.canary), *real, str(self.root / "repo" / "leaderboard" / "records" / "run.json")],
            "marker": str(self.marker),
            "other_cache": str(self.other_cache),
            "harness_pid": os.getpid(),
            "fill_bytes": 0,
            "fill_mib": 0,
            "forks": 0,
        }

    def job(self, name: str, limits: Limits | None = None, gap_s: float = 0.0, **params) -> Outcome:
        folder = make_entry(self.root / "repo" / "submissions", name, {**self.params(), **params})
        return run_entry(folder, self.root / "cache" / name, limits, gap_s=gap_s)


@pytest.fixture
def layout(tmp_path: Path, data_dir: Path) -> Layout:
    lay = Layout(tmp_path, data_dir)
    lay.canary.parent.mkdir(parents=True)
    lay.canary.write_text('"3","CANARY label","evaluation text number 0"\n')
    (tmp_path / "repo" / "leaderboard" / "records").mkdir(parents=True)
    (tmp_path / "repo" / "leaderboard" / "records" / "run.json").write_text("{}")
    lay.other_cache.parent.mkdir(parents=True)
    lay.other_cache.write_text("ORIGINAL")
    return lay


def honest_next(layout: Layout) -> None:
    """The next job of the sweep, in the same process, still completes."""
    done = layout.job("honest") if not (layout.root / "repo" / "submissions" / "honest").exists() else None
    if done is None:
        import shutil

        shutil.rmtree(layout.root / "repo" / "submissions" / "honest")
        done = layout.job("honest")
    assert done.failure is None and done.error is None, done.failure or done.error
    assert done.predictions == [0] * 4 and done.leaked == []


def assert_clean(outcome: Outcome) -> None:
    """Nothing the child started survives the job: its cgroups are gone (rmdir needs them empty)."""
    assert all(not group.exists() for group in outcome.groups)


def completed_without_leaks(outcome: Outcome) -> None:
    assert outcome.failure is None and outcome.error is None, outcome.failure or outcome.error
    assert outcome.leaked == [], outcome.leaked


# -- 1. labels, by every route ----------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["labels_walk_up", "labels_known_path", "labels_proc_cmdline", "labels_env_home", "labels_repo_records"],
)
def test_labels_are_out_of_reach(layout, name, monkeypatch):
    monkeypatch.setenv("GREENBENCH_DATA_DIR", str(layout.data_dir))
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    outcome = layout.job(name)
    completed_without_leaks(outcome)
    honest_next(layout)


def test_instance_ids_are_opaque_and_map_back(layout):
    outcome = layout.job("labels_instance_ids")
    completed_without_leaks(outcome)
    seen = outcome.diagnostics["seen"]
    assert len(seen) == 8 and not any("test" in i or "train" in i for i in seen)
    assert {outcome.sandbox.original_id(i) for i in seen[4:]} == {t.id for t in TEST[:2]}
    honest_next(layout)


# -- 2. escape --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["escape_remount", "escape_umount", "escape_capabilities", "escape_write_host"])
def test_the_child_cannot_escape(layout, name):
    outcome = layout.job(name)
    completed_without_leaks(outcome)
    assert not layout.marker.exists()
    assert not (layout.root / "repo" / "submissions" / name / "planted.py").exists()
    honest_next(layout)


# -- 3. signals and daemons ---------------------------------------------------------------------
def test_the_child_cannot_signal_the_harness(layout):
    outcome = layout.job("signal_parent")
    completed_without_leaks(outcome)
    honest_next(layout)


def test_kill_everything_only_kills_the_child(layout):
    outcome = layout.job("signal_everyone")
    assert outcome.failure is None or outcome.failure.kind == "crash", outcome.failure
    assert_clean(outcome)
    honest_next(layout)


@pytest.mark.parametrize("name", ["daemon_double_fork", "daemon_subprocess"])
def test_daemons_die_with_the_job(layout, name):
    outcome = layout.job(name)
    completed_without_leaks(outcome)
    assert_clean(outcome)
    time.sleep(3)  # past the moment the daemon would have acted
    assert not (layout.root / "cache" / name / "late.txt").exists() and not layout.marker.exists()
    sleepers = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p).endswith("sleep\x00987.654\x00")]
    assert sleepers == []
    honest_next(layout)


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return ""


# -- 4. limits --------------------------------------------------------------------------------
def test_tmpfs_counts_against_the_memory_cap(layout):
    limits = Limits(120.0, 700 << 20)
    outcome = layout.job("limit_tmpfs_memory", limits, fill_bytes=1536 << 20)
    assert outcome.failure is not None and outcome.failure.kind == "oom" or outcome.leaked == []
    assert outcome.failure is None or "wrote" not in str(outcome.diagnostics)
    assert_clean(outcome)
    honest_next(layout)


def test_scratch_is_size_capped(layout):
    outcome = layout.job("limit_scratch_size", Limits(120.0, None, scratch_bytes=16 << 20), fill_mib=64)
    completed_without_leaks(outcome)
    assert outcome.diagnostics["written"] <= 16 << 20
    honest_next(layout)


def test_file_size_is_capped(layout):
    outcome = layout.job("limit_file_size", Limits(120.0, None, file_bytes=8 << 20), fill_mib=32)
    completed_without_leaks(outcome)
    assert outcome.diagnostics["written"] <= 8 << 20
    assert (layout.root / "cache" / "limit_file_size" / "huge.bin").stat().st_size <= 8 << 20
    honest_next(layout)


def test_processes_are_capped_and_reaped(layout):
    outcome = layout.job("limit_processes", Limits(120.0, None, max_procs=64), forks=200)
    completed_without_leaks(outcome)
    assert outcome.diagnostics["started"] < 64
    assert_clean(outcome)
    honest_next(layout)


# -- 5. protocol ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,text",
    [
        ("proto_deep", "nested deeper"),
        ("proto_list", "not an object"),
        ("proto_early", "for request 2, expected 1"),
        ("proto_extra", ""),
        ("proto_wrong_seq", "expected"),
        ("proto_wrong_type", "predict reply whose"),
        ("proto_not_utf8", "not UTF-8"),
        ("proto_partial_exit", "partial message"),
        ("proto_huge", "over"),
        ("proto_nan", "not JSON"),
    ],
)
def test_protocol_violations_fail_the_run_not_the_harness(layout, monkeypatch, name, text):
    monkeypatch.setattr(protocol, "MAX_LINE_BYTES", 4 << 20)
    outcome = layout.job(name, fill_mib=8)
    assert outcome.failure is not None and outcome.failure.kind == "protocol", outcome.failure or outcome.diagnostics
    assert text in outcome.failure.reason
    assert_clean(outcome)
    honest_next(layout)


# -- 6. hiding the work -------------------------------------------------------------------------
def test_fit_cannot_precompute_from_the_test_files(layout):
    outcome = layout.job("precompute_in_fit")
    completed_without_leaks(outcome)
    assert outcome.predictions == [0] * 4
    honest_next(layout)


@pytest.mark.parametrize(
    "name,gap_s", [("background_thread_fit", 0.0), ("background_process_load", 0.0), ("background_delayed", 1.0)]
)
def test_work_outside_a_request_fails_the_run(layout, monkeypatch, name, gap_s):
    monkeypatch.setattr(SandboxedPredictor, "idle_allowance_s", 0.5)
    outcome = layout.job(name, gap_s=gap_s)
    assert outcome.failure is not None and outcome.failure.kind == "background-work", outcome.failure
    assert_clean(outcome)
    honest_next(layout)


# -- 7. code outside the digest ----------------------------------------------------------------
def test_code_behind_a_symlink_out_of_the_folder_does_not_run(layout):
    outside = layout.root / "elsewhere"
    outside.mkdir()
    (outside / "outside.py").write_text("VALUE = 'from outside'\n")
    folder = make_entry(layout.root / "repo" / "submissions", "digest_symlink_code", layout.params())
    (folder / "lib").symlink_to(outside)
    from tests.hostile.driver import run_entry as run

    outcome = run(folder, layout.root / "cache" / "digest_symlink_code")
    completed_without_leaks(outcome)
    honest_next(layout)


# -- 8. another entry's cache -------------------------------------------------------------------
def test_other_entries_caches_are_out_of_reach(layout):
    outcome = layout.job("cache_other_entry")
    completed_without_leaks(outcome)
    assert layout.other_cache.read_text() == "ORIGINAL"
    assert not (layout.root / "cache" / "planted").exists()
    honest_next(layout)


def test_links_left_in_the_weights_folder_are_removed(layout):
    outcome = layout.job("cache_symlink_plant")
    completed_without_leaks(outcome)
    weights = layout.root / "cache" / "cache_symlink_plant"
    assert list(weights.iterdir()) == []
    assert layout.other_cache.read_text() == "ORIGINAL"
    honest_next(layout)
