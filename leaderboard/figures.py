"""Entries' own figures, copied beside the pages only when they are what they claim: a regular
file (never a symlink: a link to /etc/passwd or the test labels must not be published), a listed
type whose first bytes match it, under a size cap, and for SVG no script, event handler, foreign
object or outside reference. Pages show them through ``<img>``, where SVG script never runs."""

from __future__ import annotations

import re
import shutil
import stat
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from leaderboard.safe import slug

MAGIC = {".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",), ".svg": ()}
MAX_BYTES = 2_000_000
_BAD_TAGS = {"script", "foreignobject", "iframe", "object", "embed", "handler", "listener"}


def svg_problem(data: bytes) -> str | None:
    """Why an SVG is not inert, or None when it is."""
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        return "declares a DOCTYPE or entities"
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        return f"is not well-formed XML ({exc})"
    if root.tag.rsplit("}", 1)[-1].lower() != "svg":
        return "is not an SVG document"
    for node in root.iter():
        tag = node.tag.rsplit("}", 1)[-1].lower() if isinstance(node.tag, str) else ""
        if tag in _BAD_TAGS:
            return f"contains <{tag}>"
        for name, value in node.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return f"has an event handler ({local})"
            if local == "href" and not value.strip().startswith("#"):
                return "links outside itself"
            if re.search(r"(javascript|data|https?):|url\(\s*['\"]?(?!#)", value, re.IGNORECASE):
                return f"has an outside reference in {local}"
    return None


def figure_problem(path: Path) -> str | None:
    """Why ``path`` may not be published, or None."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return "is a symlink"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    suffix = path.suffix.lower()
    if suffix not in MAGIC:
        return f"has a type not on the list ({', '.join(sorted(MAGIC))})"
    if info.st_size > MAX_BYTES:
        return f"is larger than {MAX_BYTES // 1_000_000} MB"
    data = path.read_bytes()
    if MAGIC[suffix] and not data.startswith(MAGIC[suffix]):
        return f"does not start like a {suffix} file"
    return svg_problem(data) if suffix == ".svg" else None


def copy_figures(roots: list[Path], out: Path, entries: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """(entry slug -> site-relative paths, problem lines) for ``<root>/<entry>/figures/*`` of
    the entries on the board; a folder that is a symlink is refused like a file that is."""
    figures: dict[str, list[str]] = defaultdict(list)
    problems: list[str] = []
    for root in roots:
        if not root.is_dir():
            continue
        for entry_dir in sorted(root.iterdir()):
            entry = slug(entry_dir.name)
            folder = entry_dir / "figures"
            if entry not in entries or entry_dir.is_symlink() or not folder.exists():
                continue
            if folder.is_symlink() or not folder.is_dir():
                problems.append(f"{folder}: figures folder is a symlink or not a folder, skipped")
                continue
            for path in sorted(folder.iterdir()):
                problem = figure_problem(path)
                if problem:
                    problems.append(f"{path}: figure {problem}, not published")
                    continue
                target = out / "figures" / entry / slug(path.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target, follow_symlinks=False)
                figures[entry].append(f"figures/{entry}/{target.name}")
    return figures, problems
