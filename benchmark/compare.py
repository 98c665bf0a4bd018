"""Several runs side by side (`greenbench compare`): one column per run, the price tag's sections
and units, a warning under a row naming the run it concerns. Records are untrusted, as in
``benchmark.report``: every lookup tolerates a missing field and every word passes ``printable``.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchmark.metric_table import METRICS, dig, figure_warnings, format_value, missing_reason, printable, value_of
from benchmark.record import RunRecord
from benchmark.report import SECTIONS


def _params_that_differ(records: list[RunRecord]) -> list[str]:
    """Two runs of one entry differ only in their params: name the ones that differ within an entry."""
    points = [""] * len(records)
    names = [printable(dig(r.run, "submission", "name"), 60) for r in records]
    for name in set(names):
        group = [i for i, n in enumerate(names) if n == name]
        params = {i: p if isinstance(p := dig(records[i].run, "submission", "params"), Mapping) else {} for i in group}
        keys = sorted({k for p in params.values() for k in p if len({repr(q.get(k)) for q in params.values()}) > 1})
        for i in group:
            points[i] = ", ".join(f"{printable(k, 30)}={printable(params[i].get(k), 30)}" for k in keys)
    return points


def compare_table(records: list[RunRecord]) -> str:
    """Several runs' headline figures side by side, one column per run (`greenbench compare`).

    Sections and units are the price tag's; a warning under a row names the run it concerns, and
    a failed run's column reads "failed" with its cause below the table.
    """
    heads = _unique([
        f"{printable(dig(r.run, 'submission', 'name'), 40)} {printable(dig(r.run, 'submission', 'version'), 20)}"
        for r in records
    ])  # fmt: skip
    rows: list[tuple[str, list[str], list[str]]] = [
        (
            "task / profile",
            [
                f"{printable(dig(r.run, 'task', 'name'), 30)} / {printable(dig(r.run, 'profile', 'name'), 30)}"
                for r in records
            ],
            [],
        ),
        ("status", [printable(r.status, 20) for r in records], []),
    ]
    points = _params_that_differ(records)
    if any(points):
        rows.append(("params that differ", [p or "—" for p in points], []))
    for section in ("quality", "inference", "energy", "training"):
        section_rows = []
        for m in (m for m in METRICS if m.section == section):
            values = [value_of(r, m.key) for r in records]
            if all(v is None for v in values):
                continue
            # A missing figure's reason can be a sentence: "n/a" in the cell, the reason below the row.
            cells = ["—" if r.status == "failed" else format_value(v, m) if v is not None else "n/a"
                     for v, r in zip(values, records, strict=True)]  # fmt: skip
            notes = [
                f"{head}: {w}"
                for head, v, r in zip(heads, values, records, strict=True)
                for w in (
                    figure_warnings(r, m.key)
                    if v is not None
                    else [f"{m.label} not available: {missing_reason(r, m.key)}"]
                )
                if r.status != "failed"
            ]
            section_rows.append((f"  {m.label} [{m.display_unit}, {m.direction} is better]", cells, notes))
        if section_rows:
            title = SECTIONS[section] + (" (primary eval set)" if section == "quality" else "")
            rows.append((title, [""] * len(records), []))
            rows.extend(section_rows)
    energy = [dig(r.metrics, "energy") for r in records]
    marks = {True: "measured", False: "ESTIMATED"}
    rows.append(("energy measured?", [marks.get(dig(e, "measured"), "—") for e in energy], []))
    rows.append(
        ("energy source", [printable(dig(e, "energy_source"), 40) if isinstance(e, Mapping) else "—" for e in energy], [])
    )
    return _render_columns(heads, rows, _failures(records, heads))


def _unique(heads: list[str]) -> list[str]:
    """Two runs of one entry version (another profile, another seed) get numbered columns, so a
    warning line can say which one it concerns."""
    return [f"{h} #{i}" if heads.count(h) > 1 else h for i, h in enumerate(heads, start=1)]


def _failures(records: list[RunRecord], heads: list[str]) -> list[str]:
    out = []
    for head, r in zip(heads, records, strict=True):
        if r.status == "failed":
            failure = dig(r.run, "failure")
            out.append(f"{head} failed ({printable(dig(failure, 'kind'), 40)}): {printable(dig(failure, 'reason'), 300)}")
    return out


def _render_columns(heads: list[str], rows: list[tuple[str, list[str], list[str]]], footer: list[str]) -> str:
    """Right-aligned columns; a note already shown above (same text on the row before) is not repeated."""
    width = max(len(label) for label, _, _ in rows)
    cols = [max(len(h), *(len(cells[i]) for _, cells, _ in rows)) for i, h in enumerate(heads)]
    lines = [" " * width + "  " + "  ".join(h.rjust(c) for h, c in zip(heads, cols, strict=True))]
    shown: set[str] = set()
    for label, cells, notes in rows:
        lines.append(
            (label.ljust(width) + "  " + "  ".join(v.rjust(c) for v, c in zip(cells, cols, strict=True))).rstrip()
        )
        lines += [f"    ! {note}" for note in notes if note not in shown]
        shown.update(notes)
    return "\n".join(lines + [""] * bool(footer) + footer)
