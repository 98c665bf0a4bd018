"""The field tables of ``docs/run-record.md``, generated from ``benchmark.schema``.

The tables are written between two markers in the doc; ``tests/test_record.py`` regenerates them and
fails when the doc and the schema differ, so the doc cannot drift from what readers enforce.

    python -m benchmark.schema_doc docs/run-record.md   # rewrite the generated part
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le
from pydantic import BaseModel

from benchmark import schema
from benchmark.manifest import Manifest

BEGIN = "<!-- generated from benchmark/schema.py: python -m benchmark.schema_doc docs/run-record.md -->"
END = "<!-- end of generated tables -->"


def _bounds(metadata: list[Any]) -> str:
    parts = []
    for m in metadata:
        if isinstance(m, Ge):
            parts.append(f">= {m.ge}")
        elif isinstance(m, Gt):
            parts.append(f"> {m.gt}")
        elif isinstance(m, Le):
            parts.append(f"<= {m.le}")
        elif getattr(m, "pattern", None):
            parts.append("sha256 hex" if "64" in m.pattern else f"matching {m.pattern}")
        elif hasattr(m, "metadata"):
            parts.append(_bounds(m.metadata))
    return " ".join(p for p in parts if p)


def type_name(annotation: Any, metadata: list[Any] | None = None) -> str:
    """A reader's name for a field's type: ``number >= 0``, ``{name: number >= 0}``, ``X or null``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0], list(args[1:]) + list(metadata or []))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        names = [type_name(a, metadata) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin is typing.Literal:
        return " / ".join(f"`{a}`" for a in args)
    if origin is dict:
        return "{name: " + type_name(args[1]) + "}"
    if origin is list:
        return "[" + type_name(args[0]) + "]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"object `{annotation.__name__}`"
    base = {float: "number", int: "integer", str: "string", bool: "true/false"}.get(annotation, "any JSON")
    bounds = _bounds(metadata or [])
    return f"{base} {bounds}".strip()


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    stack = [root]
    while stack:
        model = stack.pop(0)
        if model in seen:
            continue
        seen.append(model)
        if issubclass(model, Manifest):
            continue
        for info in model.model_fields.values():
            stack.extend(schema.models_in(info.annotation))
    return seen


def _table(model: type[BaseModel]) -> list[str]:
    doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ and model.__module__ == schema.__name__ else ""
    lines = [f"### `{model.__name__}`", ""] + ([doc, ""] if doc else [])
    if issubclass(model, Manifest) and model is not Manifest:
        own = [n for n in model.model_fields if n not in Manifest.model_fields]
        lines += ["Every field of the submission manifest (`submission.yaml`, see SUBMITTING.md), plus:", ""]
    else:
        own = list(model.model_fields)
    lines += ["| field | type | required |", "| --- | --- | --- |"]
    nullable = getattr(model, "NULLABLE", ())
    for name in own:
        info = model.model_fields[name]
        kind = type_name(info.annotation, list(info.metadata))
        if name in nullable:
            kind += " (null needs `null_reasons.<field>`)"
        lines.append(f"| `{name}` | {kind} | {'yes' if info.is_required() else 'no'} |")
    return lines + [""]


def markdown() -> str:
    out = [BEGIN, ""]
    for title, root in (("run.json", schema.Run), ("metrics.json", schema.Metrics)):
        out += [f"## `{title}` fields", ""]
        for model in _models(root):
            out += _table(model)
    return "\n".join(out + [END])


def rewrite(doc: Path) -> bool:
    """Replace the generated part of ``doc``; True when it changed."""
    text = doc.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    new = (
        (text[:start] + markdown() + text[end + len(END) :])
        if start != -1 and end > start
        else text + "\n" + markdown() + "\n"
    )
    doc.write_text(new, encoding="utf-8")
    return new != text


def generated_part(doc: Path) -> str:
    text = doc.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    return text[start : end + len(END)] if start != -1 and end > start else ""


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}: {'rewritten' if rewrite(Path(arg)) else 'up to date'}")
