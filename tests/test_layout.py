"""The package structure: no import cycles between or inside the packages, a README that lists
the modules that exist, and a built wheel that works outside the repository."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("benchmark", "tasks", "leaderboard")


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            rel = path.relative_to(REPO).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out[".".join(parts)] = path
    return out


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every module of ours that ``path`` imports, at module level or inside a function."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
            targets = submodules or [base]  # `from pkg import mod` depends on mod, not on pkg's __init__
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, set(modules)) for name, path in modules.items()}


def test_packages_form_no_cycle():
    """tasks is the bottom, benchmark the harness, leaderboard reads records; only the CLI (the
    top, in benchmark.cli) imports the board."""
    graph = _graph()
    for module, targets in graph.items():
        top = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if top == "tasks":
                assert other == "tasks", f"{module} imports {target}: tasks must import nothing of the harness"
            if top == "benchmark" and other == "leaderboard":
                assert module == "benchmark.cli", f"{module} imports {target}: only the CLI imports the board"


def test_modules_form_no_cycle():
    """Not even through an import inside a function: a lazy import is a cycle waiting to bite."""
    modules = _modules()
    # A package's __init__ that imports its own submodules (a registry) is not a cycle of design.
    graph = {
        name: {t for t in targets if not (modules[name].name == "__init__.py" and t.startswith(name + "."))}
        for name, targets in _graph().items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_readme_layout_lists_the_modules_that_exist():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    for package in PACKAGES:
        row = next(line for line in section.splitlines() if line.startswith(f"| `{package}/`"))
        listed = set(re.findall(r"`([a-z_]+)(?:\.py|/)`", row)) - {package}
        actual = {p.stem for p in (REPO / package).glob("*.py") if p.stem != "__init__"}
        actual |= {p.name for p in (REPO / package).iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
        folders = {p.name for p in (REPO / package).iterdir() if p.is_dir()}  # data folders may be named too
        stale = listed - actual - folders
        assert not (actual - listed) and not stale, f"README's {package}/ row: missing {sorted(actual - listed)}, stale {sorted(stale)}"


@pytest.mark.slow
def test_built_wheel_builds_the_board_outside_the_repository(tmp_path):
    """A non-editable install must not read repository paths (it used to find no records)."""
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(REPO)],
        check=True,
        timeout=300,
    )
    (wheel,) = dist.glob("greenbench-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        timeout=300,
    )
    records = REPO / "leaderboard" / "records" / "ag_news"
    out = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = (
        "import benchmark, leaderboard, sys; from pathlib import Path; "
        "assert str(Path(leaderboard.__file__).resolve()).startswith(sys.prefix), leaderboard.__file__; "
        "from benchmark.cli import main; "
        f"sys.exit(main(['leaderboard', '--out', {str(out)!r}, '--records', {str(records)!r}]))"
    )
    done = subprocess.run([str(python), "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "index.html").is_file()
    pages = list(out.rglob("*.html"))
    assert len(pages) > 3 and any("ag_news" in p.name or "ag-news" in p.name for p in pages), sorted(map(str, pages))
