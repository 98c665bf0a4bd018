"""The price tag: one flat summary of a run keyed by the metric table, and its text rendering."""

from __future__ import annotations

from typing import Any

from benchmark.metrics import METRICS
from benchmark.record import RunRecord


def primary_eval_set(metrics: dict[str, Any]) -> str | None:
    """The first in-distribution eval set: the one whose accuracy heads the board."""
    sets = metrics.get("eval_sets", {})
    for name, block in sets.items():
        if block.get("role", "id") == "id":
            return name
    return next(iter(sets), None)


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """Flat {metric key: value} for the keys of ``METRICS``; missing figures are left out."""
    out: dict[str, Any] = {}
    primary = primary_eval_set(metrics)
    if primary:
        block = metrics["eval_sets"][primary]
        out.update({k: block[k] for k in ("accuracy", "macro_f1", "f1_positive") if k in block})
    if "flops" in metrics:
        out["inference_flops_per_instance"] = metrics["flops"]["inference_flops_per_instance_mean"]
    if "latency" in metrics:
        out.update({k: metrics["latency"][k] for k in ("latency_ms_p50", "latency_ms_p90", "latency_ms_p99")})
    if "throughput" in metrics:
        out["throughput_instances_per_s"] = metrics["throughput"]["throughput_instances_per_s"]
    if "energy" in metrics:
        out["energy_kwh_per_1k"] = metrics["energy"]["energy_kwh_per_1k"]
        out["co2e_kg_per_1k"] = metrics["energy"]["carbon_per_1k"]["co2e_kg"]
    if "training" in metrics and not metrics["training"].get("from_cache"):
        for key in ("training_flops", "training_energy_kwh", "training_co2e_kg"):
            out[key] = metrics["training"][key]
    assert set(out) <= set(METRICS), set(out) - set(METRICS)
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1e5 or abs(value) < 1e-3:
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def price_tag(record: RunRecord) -> str:
    """A plain-text table a person reads in a terminal (`greenbench show`)."""
    run, metrics = record.run, record.metrics
    lines = [
        f"run      {record.path}",
        f"task     {run['task']['name']}   submission {run['submission']['name']} {run['submission']['version']}"
        f"   profile {run['profile']['name']}   status {run['status']}",
    ]
    match = run.get("profile_match", {})
    lines.append(
        "hardware "
        + (
            "matches the profile"
            if match.get("matched")
            else "DOES NOT match the profile: " + "; ".join(match.get("reasons", []))
        )
    )
    if run.get("status") == "failed":
        lines.append(f"failure  {run.get('failure', {}).get('reason', '?')}")
        return "\n".join(lines)
    rows: list[tuple[str, str, str]] = []
    for name, block in metrics.get("eval_sets", {}).items():
        ci = f"95% CI {_fmt(block.get('accuracy_ci95_low'))}-{_fmt(block.get('accuracy_ci95_high'))}, n={block['n']}"
        rows.append((f"accuracy [{name}, {block.get('role', 'id')}]", _fmt(block["accuracy"]), ci))
        for key in ("macro_f1", "f1_positive"):
            if key in block:
                rows.append((f"{METRICS[key].label} [{name}]", _fmt(block[key]), ""))
    if "flops" in metrics:
        f = metrics["flops"]
        rows.append(
            (
                "inference FLOPs / instance",
                _fmt(f["inference_flops_per_instance_mean"]),
                f"FLOP; counted on {f['n_counted']} of {f['n_eval']}, sem {_fmt(f['inference_flops_per_instance_sem'])}",
            )
        )
    if "latency" in metrics:
        lat = metrics["latency"]
        median_cv = lat["latency_median_cv"]
        spread = f"n={lat['n_samples']} in {lat['repeats']} repeats, CV {_fmt(lat['latency_cv'])}"
        spread += f", CV of medians {_fmt(median_cv)}" if median_cv is not None else ""
        rows.append(
            (
                "latency p50 / p90 / p99 (batch 1)",
                f"{_fmt(lat['latency_ms_p50'])} / {_fmt(lat['latency_ms_p90'])} / {_fmt(lat['latency_ms_p99'])}",
                "ms; " + spread,
            )
        )
    if "throughput" in metrics:
        t = metrics["throughput"]
        rows.append(("throughput", _fmt(t["throughput_instances_per_s"]), f"instances/s at batch {t['batch_size']}"))
    if "energy" in metrics:
        e = metrics["energy"]
        mark = "MEASURED" if e["measured"] else "ESTIMATED"
        rows.append(
            ("energy / 1k instances (active)", _fmt(e["energy_kwh_per_1k"]), f"kWh; {mark} ({e['energy_source']})")
        )
        rows.append(("energy / 1k instances (total)", _fmt(e["energy_kwh_total_per_1k"]), "kWh; idle not subtracted"))
        comps = ", ".join(f"{k} {_fmt(v)} J" for k, v in e["components_j_active"].items())
        rows.append(("  active energy by component", comps or "-", ""))
        c = e["carbon_per_1k"]
        rows.append(
            (
                "CO2e / 1k instances",
                _fmt(c["co2e_kg"]),
                f"kg; {mark}; {c['region']} {_fmt(c['intensity_g_per_kwh'])} g/kWh ({c['intensity_source']}), PUE {c['pue']}",
            )
        )
        for region, ref in c["reference_regions"].items():
            rows.append((f"  at {region}", _fmt(ref["co2e_kg"]), f"kg; {_fmt(ref['intensity_g_per_kwh'])} g/kWh"))
    if "training" in metrics:
        t = metrics["training"]
        mark = "MEASURED" if t["energy"]["measured"] else "ESTIMATED"
        rows.append(("training FLOPs", _fmt(t["training_flops"]), f"FLOP on {t['n_train']} instances"))
        rows.append(
            ("training energy", _fmt(t["training_energy_kwh"]), f"kWh; {mark} ({t['energy']['energy_source']})")
        )
        rows.append(("training CO2e", _fmt(t["training_co2e_kg"]), f"kg; {mark}"))
        rows.append(("training wall time", _fmt(t["wall_s"]), "s"))
    width = max(len(r[0]) for r in rows) if rows else 0
    vwidth = max(len(r[1]) for r in rows) if rows else 0
    lines.append("")
    lines.extend(f"{a.ljust(width)}  {b.rjust(vwidth)}  {c}" for a, b, c in rows)
    return "\n".join(lines)


def compare_table(records: list[RunRecord]) -> str:
    """Several runs' price tags side by side, one column per run (`greenbench compare`)."""
    heads = [f"{r.run['submission']['name']} {r.run['submission']['version']}" for r in records]
    values = [headline(r.metrics) for r in records]
    rows: list[tuple[str, list[str]]] = [
        ("task / profile", [f"{r.run['task']['name']} / {r.run['profile']['name']}" for r in records]),
        ("status", [r.status for r in records]),
    ]
    # Two runs of one entry differ only in their params: name the ones that differ within an entry.
    points = [""] * len(records)
    names = [r.run["submission"]["name"] for r in records]
    for name in set(names):
        group = [i for i, n in enumerate(names) if n == name]
        params = {i: records[i].run["submission"].get("params") or {} for i in group}
        keys = sorted({k for p in params.values() for k in p if len({repr(q.get(k)) for q in params.values()}) > 1})
        for i in group:
            points[i] = ", ".join(f"{k}={params[i].get(k)}" for k in keys)
    if any(points):
        rows.append(("params that differ", [p or "-" for p in points]))
    for key, spec in METRICS.items():
        if any(key in v for v in values):
            arrow = "higher better" if spec.higher_is_better else "lower better"
            rows.append((f"{spec.label} [{spec.unit}, {arrow}]", [_fmt(v.get(key)) for v in values]))
    rows.append(
        (
            "energy source",
            [
                f"{(r.metrics.get('energy') or {}).get('energy_source', '-')}"
                + ("" if (r.metrics.get("energy") or {}).get("measured", True) else " (ESTIMATED)")
                for r in records
            ],
        )
    )
    width = max(len(label) for label, _ in rows)
    cols = [max(len(h), *(len(cells[i]) for _, cells in rows)) for i, h in enumerate(heads)]
    lines = [" " * width + "  " + "  ".join(h.rjust(c) for h, c in zip(heads, cols, strict=True))]
    lines += [
        label.ljust(width) + "  " + "  ".join(v.rjust(c) for v, c in zip(cells, cols, strict=True))
        for label, cells in rows
    ]
    return "\n".join(lines)
