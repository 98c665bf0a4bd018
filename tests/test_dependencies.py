"""Every declared runtime dependency is imported by the code it is declared for.

A dependency nobody imports costs every user an install (``evaluate`` pulled in a second copy of
the metric stack and was never called) and tells readers of pyproject.toml something false.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CODE_DIRS = ("benchmark", "tasks", "leaderboard")
# Distribution names whose import name is not the name with '-' as '_'.
IMPORT_NAMES = {
    "nvidia-ml-py": "pynvml",
    "pyyaml": "yaml",
    "scikit-learn": "sklearn",
    "pillow": "PIL",
    "beautifulsoup4": "bs4",
    "protobuf": "google.protobuf",
}


def distribution(requirement: str) -> str:
    """``"torch==2.13.0"`` -> ``"torch"``; markers, extras and versions dropped."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, f"cannot read requirement {requirement!r}"
    return match.group(1).lower().replace("_", "-")


def import_name(dist: str) -> str:
    return IMPORT_NAMES.get(dist, dist.replace("-", "_"))


def _is_find_spec(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    first = node.args[0]
    return name == "find_spec" and isinstance(first, ast.Constant) and isinstance(first.value, str)


def imported_modules(folders: list[Path]) -> set[str]:
    """Every module imported anywhere in the folders' Python files (top-level and dotted prefixes),
    including imports inside functions: the code defers heavy imports on purpose. A package
    located with ``importlib.util.find_spec("name")`` counts too: the harness reads codecarbon's
    data tables that way, without running its heavy ``__init__``."""
    found: set[str] = set()
    for folder in folders:
        for path in folder.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif _is_find_spec(node):
                    names = [node.args[0].value]
                for name in names:
                    parts = name.split(".")
                    found.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return found


def unused_dependencies(pyproject: Path, folders: list[Path]) -> list[str]:
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    used = imported_modules(folders)
    return sorted(d for d in map(distribution, declared) if import_name(d) not in used)


def test_every_runtime_dependency_is_imported():
    unused = unused_dependencies(REPO / "pyproject.toml", [REPO / d for d in CODE_DIRS])
    assert unused == [], f"declared in pyproject.toml but imported nowhere under {CODE_DIRS}: {unused}"


@pytest.mark.parametrize("dist", ["pandas", "huggingface-hub", "codecarbon", "nvidia-ml-py"])
def test_the_named_dependencies_are_really_used(dist):
    assert import_name(dist) in imported_modules([REPO / d for d in CODE_DIRS])


def test_the_check_catches_an_unused_dependency(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\ndependencies = ["PyYAML>=6", "nvidia-ml-py>=12", "evaluate>=0.4", "numpy; python_version>\'3\'"]\n'
    )
    code = tmp_path / "pkg"
    code.mkdir()
    (code / "a.py").write_text("import yaml\n\ndef f():\n    from pynvml import nvmlInit\n    import numpy.linalg\n")
    assert unused_dependencies(tmp_path / "pyproject.toml", [code]) == ["evaluate"]


def test_a_package_located_by_find_spec_counts_as_used(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["evaluate>=0.4", "codecarbon>=2"]\n')
    code = tmp_path / "pkg"
    code.mkdir()
    (code / "a.py").write_text("import importlib.util\n\nname = 'evaluate'\nimportlib.util.find_spec(name)\n")
    assert unused_dependencies(tmp_path / "pyproject.toml", [code]) == ["codecarbon", "evaluate"]  # a variable is not a name
    (code / "b.py").write_text("from importlib.util import find_spec\n\nfind_spec('codecarbon')\n")
    assert unused_dependencies(tmp_path / "pyproject.toml", [code]) == ["evaluate"]
