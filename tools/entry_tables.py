"""Write each entry README's results table from the records store's index.

The table sits between ``<!-- greenbench:results -->`` and ``<!-- /greenbench:results -->`` in
``submissions/<entry>/README.md`` (the code digest leaves exactly that block out, since it is made
from records after the runs). Hand-written tables drifted from the records they described; this
one is regenerated, and a test checks the committed blocks are current.

    python tools/entry_tables.py [--check]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.fingerprint import GENERATED_BEGIN, GENERATED_END  # noqa: E402
from benchmark.metric_table import format_value, metric  # noqa: E402
from benchmark.store import REFERENCE_STORE, read_index  # noqa: E402

COLUMNS = ("inference_flops_per_instance", "latency_ms_p50", "energy_kwh_per_1k", "training_energy_kwh")
# Every other reference entry is judged against this one (its README), so each entry's block also
# says, per operating point and averaged over seeds, how far it is from it in accuracy and FLOPs.
BASELINE = "minilm-finetune"


def _point(row: dict[str, Any], varying: list[str]) -> str:
    params = row.get("params") or {}
    return ", ".join(f"{k}={params.get(k)}" for k in varying) or "-"


def _accuracy(row: dict[str, Any]) -> str:
    return "; ".join(f"{name} {format_value(value, metric('accuracy'))}" for name, value in row["accuracy"].items())


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def versus_baseline(task_rows: list[dict[str, Any]], baseline: list[dict[str, Any]], varying: list[str]) -> list[str]:
    """Markdown lines: per operating point, mean accuracy and FLOPs over its seeds against the
    baseline's means on the same task (first eval set). Empty when the baseline has no record."""
    if not baseline:
        return []
    split = next(iter(baseline[0]["accuracy"]))
    base_flops_known = [r["flops_per_instance"] for r in baseline if r.get("flops_per_instance")]
    if not base_flops_known:  # a missing figure is not zero: no comparison rather than a false one
        return []
    base_acc = _mean([r["accuracy"][split] for r in baseline if split in r["accuracy"]])
    base_flops = _mean(base_flops_known)
    points: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in task_rows:
        points[_point(row, varying)].append(row)
    out = [
        f"Against `{BASELINE}` on this task ({len(baseline)} seed(s): {split} accuracy {100 * base_acc:.2f}%, "
        f"{base_flops / 1e9:.3g} GFLOP / instance), means over each operating point's seeds:",
        "",
        "| operating point | seeds | accuracy (%) | vs baseline (points) | GFLOP / instance | baseline FLOPs / these |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for point, group in sorted(points.items()):
        accs = [r["accuracy"][split] for r in group if split in r["accuracy"]]
        flops = [r["flops_per_instance"] for r in group if r.get("flops_per_instance")]
        if not accs or not flops:
            continue
        acc, cost = _mean(accs), _mean(flops)
        seeds = ", ".join(str(r.get("seed")) for r in sorted(group, key=lambda r: r.get("seed") or 0))
        out.append(
            f"| {point} | {seeds} | {100 * acc:.2f} | {100 * (acc - base_acc):+.2f} | {cost / 1e9:.3g} | {base_flops / cost:.2f}x |"
        )
    return out + [""]


def table(
    rows: list[dict[str, Any]], details: dict[str, dict[str, Any]], baseline: list[dict[str, Any]] | None = None
) -> str:
    """Markdown: one row per record, grouped by task, the params that vary named as the point."""
    out = []
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_task[row["task"]].append(row)
    for task, task_rows in sorted(by_task.items()):
        keys = sorted({k for r in task_rows for k in (r.get("params") or {})})
        varying = [k for k in keys if len({repr((r.get("params") or {}).get(k)) for r in task_rows}) > 1]
        heads = ["operating point", "seed", "accuracy (%)"] + [
            f"{metric(k).label} ({metric(k).display_unit})" for k in COLUMNS
        ]
        out += [f"**{task}** ({len(task_rows)} records, cpu profile; energy is estimated)", ""]
        out += ["| " + " | ".join(heads + ["record"]) + " |", "|" + " --- |" * (len(heads) + 1)]
        for row in sorted(task_rows, key=lambda r: (_point(r, varying), r.get("seed") or 0)):
            figures = details[row["path"]]
            cells = [_point(row, varying), str(row.get("seed")), _accuracy(row)]
            cells += [figures[k] for k in COLUMNS]
            out.append("| " + " | ".join(cells + [f"`{row['path']}`"]) + " |")
        out.append("")
        out += versus_baseline(task_rows, [r for r in baseline or [] if r["task"] == task], varying)
    return "\n".join(out).rstrip() + "\n"


def _figures(store: Path, row: dict[str, Any]) -> dict[str, str]:
    from benchmark.metric_table import value_of
    from benchmark.record import read_run

    record = read_run(store / row["path"], with_predictions=False)
    out = {}
    for key in COLUMNS:
        value = value_of(record, key)
        training = record.metrics.get("training") or {}
        if value is not None:
            out[key] = format_value(value, metric(key))
        elif key.startswith("training") and training.get("from_cache"):
            out[key] = "shared"  # the weights another record of this table trained; not free
        else:
            out[key] = "—"
    return out


def render(readme: str, block: str) -> str:
    generated = f"{GENERATED_BEGIN}\n{block}{GENERATED_END}"
    if GENERATED_BEGIN in readme and GENERATED_END in readme:
        head, rest = readme.split(GENERATED_BEGIN, 1)
        return head + generated + rest.split(GENERATED_END, 1)[1]
    section = "\n## Records (generated from `leaderboard/records/index.jsonl` by `tools/entry_tables.py`)\n\n"
    return readme.rstrip("\n") + "\n" + section + generated + "\n"


def updated_readmes(repo: Path = REPO) -> dict[Path, str]:
    store = repo / REFERENCE_STORE
    rows = [r for r in read_index(store) if r["status"] == "complete"]
    by_entry: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_entry[row["entry"]].append(row)
    out = {}
    for entry, entry_rows in by_entry.items():
        readme = repo / "submissions" / entry / "README.md"
        if readme.is_file():
            details = {r["path"]: _figures(store, r) for r in entry_rows}
            baseline = [] if entry == BASELINE else by_entry.get(BASELINE, [])
            out[readme] = render(readme.read_text(encoding="utf-8"), table(entry_rows, details, baseline))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a README's block is out of date")
    args = parser.parse_args()
    stale = []
    for path, text in updated_readmes().items():
        if path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    verb = "out of date" if args.check else "updated"
    print(f"{len(stale)} README(s) {verb}" + (": " + ", ".join(map(str, stale)) if stale else ""))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
