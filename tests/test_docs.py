"""The README's commands are the ones CI runs and the CLI accepts."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from benchmark.cli import build_parser

REPO = Path(__file__).resolve().parent.parent


def readme_command(marker: str) -> str:
    script = (REPO / ".ci" / "run").read_text()
    function = script[script.index("readme_command() {") : script.index("\n}\n") + 3]
    out = subprocess.run(
        ["bash", "-c", f"{function}\nreadme_command {marker}"], cwd=REPO, capture_output=True, text=True
    )
    return out.stdout.strip()


def test_ci_reads_setup_and_test_commands_from_readme():
    assert readme_command("setup-command") == "python3 -m pip install -e '.[dev,ray]'"
    assert readme_command("test-command").endswith("python3 -m pytest")


def test_main_command_parses_and_names_real_paths():
    words = shlex.split(readme_command("main-command"))
    assert words[0] == "greenbench"
    args = build_parser().parse_args(words[1:])
    assert (REPO / args.submission / "submission.yaml").is_file()
    assert args.task == "ag_news" and args.profile == "cpu"
