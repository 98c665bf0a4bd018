"""What a record says about the code that made it: the harness is dirty only when its code is."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from benchmark.fingerprint import HARNESS_CODE, git_commit

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.mark.parametrize(
    ("change", "dirty"),
    [
        (None, False),
        ("leaderboard/records/ag_news/run.json", False),  # a new record in the store
        ("submissions/x/README.md", False),
        ("benchmark/new_module.py", True),
        ("benchmark/runner.py", True),  # an edit to tracked code
        ("pyproject.toml", True),
    ],
)
def test_the_harness_is_dirty_only_when_its_code_is(tmp_path, change, dirty):
    repo = tmp_path / "repo"
    for rel in ("benchmark/runner.py", "tasks/base.py", "pyproject.toml"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text("x = 1\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    if change:
        (repo / change).parent.mkdir(parents=True, exist_ok=True)
        (repo / change).write_text("y = 2\n")
    info = git_commit(repo, HARNESS_CODE)
    assert info["dirty"] is dirty and len(info["commit"]) == 40
    assert git_commit(repo)["dirty"] is (change is not None)  # the whole tree, as a submission folder is asked
