"""An entry's page: a sweep summary per board at the top, then one section per run headed by its
task, profile, operating point and seed, with the full price tag and provenance folded."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from markupsafe import Markup

from benchmark.metric_table import METRICS, metric
from leaderboard.charts import histogram_svg, marker_defs, pareto_svg
from leaderboard.collect import BoardRun
from leaderboard.points import Point
from leaderboard.safe import esc, fmt, num

SUMMARY_KEYS = ("accuracy", "inference_flops_per_instance", "latency_ms_p50", "energy_kwh_per_1k")


def _mark(run: BoardRun, key: str) -> str:
    section = metric(key).section
    if section == "energy" and not run.energy_measured:
        return f' <span class="est">estimated ({esc(run.energy_source)})</span>'
    if section == "energy":
        return f' <span class="meas">measured ({esc(run.energy_source)})</span>'
    if section == "training" and run.training_shared:
        return ' <span class="shared">shared: the training that made the reused weights</span>'
    if key == "inference_flops_per_instance" and run.flops_counted_by:
        return f' <span class="ver">counted by {esc(run.flops_counted_by)}</span>'
    return ""


def price_tag_rows(run: BoardRun) -> list[tuple[str, str]]:
    """(label, html) pairs; labels are plain text (escaped on output), values already safe."""
    rows: list[tuple[str, str]] = []
    for name, block in (run.metrics.get("eval_sets") or {}).items():
        if not isinstance(block, dict):
            continue
        rows.append(
            (
                f"Accuracy · {name} ({block.get('role', 'id')})",
                f'{fmt(block.get("accuracy"), 100)}% <span class="ci">95% CI {fmt(block.get("accuracy_ci95_low"), 100)}–'
                f"{fmt(block.get('accuracy_ci95_high'), 100)}, n={fmt(block.get('n'))}</span>",
            )
        )
        for key, label in (("macro_f1", "Macro-F1"), ("f1_positive", "F1 (positive)")):
            if key in block:
                rows.append((f"{label} · {name}", f"{fmt(block[key], 100)}%"))
    for m in METRICS:
        if m.section == "quality":
            continue
        value = run.values.get(m.key)
        if value is None and m.section == "training" and run.training_shared:
            shown = "shared with the run that trained the reused weights (figure in its record)"
        else:
            shown = f"{fmt(value, m.scale)} {esc(m.display_unit)}" if value is not None else "–"
        rows.append((m.label, shown + (_mark(run, m.key) if value is not None else "")))
    energy = run.metrics.get("energy") if isinstance(run.metrics.get("energy"), dict) else {}
    carbon = energy.get("carbon_per_1k") if isinstance(energy.get("carbon_per_1k"), dict) else {}
    if carbon:
        rows.append(
            (
                "CO2e intensity",
                f"{esc(carbon.get('region'))}: {fmt(carbon.get('intensity_g_per_kwh'))} g/kWh "
                f"({esc(carbon.get('intensity_source'))}, {fmt(carbon.get('intensity_year'))}), PUE {fmt(carbon.get('pue'))}",
            )
        )
        refs = carbon.get("reference_regions") if isinstance(carbon.get("reference_regions"), dict) else {}
        rows.append(
            (
                "CO2e / 1k at reference grids",
                " · ".join(
                    f"{esc(region)} {fmt(ref.get('co2e_kg'), 1000)} g"
                    for region, ref in refs.items()
                    if isinstance(ref, dict)
                ),
            )
        )
    return rows


def provenance_rows(run: BoardRun) -> list[tuple[str, str]]:
    env = run.environment

    def git(key: str) -> str:
        info = env.get(key) if isinstance(env.get(key), dict) else {}
        return f"{info.get('commit') or 'unknown'}" + (" (uncommitted changes)" if info.get("dirty") else "")

    gpus = env.get("gpus") if isinstance(env.get("gpus"), list) else []
    rows = [
        ("Harness commit", git("harness_git")),
        ("Submission commit", git("submission_git")),
        ("Submission code sha256", env.get("submission_code_sha256")),
        ("CPU", f"{env.get('cpu_model')} ({env.get('cpu_cores')} cores)"),
        ("GPU", ", ".join(str(g.get("name")) for g in gpus if isinstance(g, dict)) or "none"),
        ("Software", f"Python {env.get('python')}, torch {env.get('torch')}, transformers {env.get('transformers')}"),
        ("Config", ", ".join(f"{k} {v}" for k, v in run.config.items())),
        ("Params", ", ".join(f"{k}={v}" for k, v in run.params.items()) or "none"),
        ("Sandbox", run.sandbox),
        ("Job key", run.job_key),
        ("Finished", run.finished_at),
    ]
    return [(label, esc(value)) for label, value in rows]


def _diagnostic_figure(run: BoardRun) -> str:
    hist = run.diagnostics.get("exit_layer_histogram")
    if not isinstance(hist, dict):
        return ""
    threshold = num(run.diagnostics.get("threshold"))
    title = f"Exit layer (threshold {fmt(threshold)})" if threshold is not None else "Exit layer"
    temperatures = run.diagnostics.get("temperatures")  # one per exit: how many layers there are
    layers = num(run.diagnostics.get("n_layers")) or (len(temperatures) if isinstance(temperatures, list) else None)
    chart = histogram_svg(hist, title, "layer at which instances left", int(layers) if layers else None)
    return f'<figure class="diag">{chart}</figure>'


def heading(run: BoardRun, label: str) -> str:
    parts = [run.task, f"profile {run.profile}"]
    if label:
        parts.append(label)
    parts.append(f"seed {run.seed}" if run.seed is not None else "seed not recorded")
    return " · ".join(parts)


def run_body(run: BoardRun) -> str:
    """Everything of a run's section but its heading: rendered where the record is read (in the
    worker), so the full metrics never travel back to the parent process."""
    headline = " · ".join(
        f"{metric(k).label} {fmt(run.values.get(k), metric(k).scale)}{esc(_unit(metric(k).display_unit))}"
        for k in SUMMARY_KEYS
        if k in run.values
    )
    tag = "".join(f"<tr><th>{esc(lab)}</th><td>{value}</td></tr>" for lab, value in price_tag_rows(run))
    prov = "".join(f"<dt>{esc(lab)}</dt><dd>{value}</dd>" for lab, value in provenance_rows(run))
    return (
        f'<p class="headline">{headline}</p>{_diagnostic_figure(run)}'
        f'<details><summary>Full price tag</summary><table class="pricetag"><tbody>{tag}</tbody></table></details>'
        f'<details><summary>Provenance</summary><dl class="meta">{prov}</dl></details>'
    )


def _unit(unit: str) -> str:
    return unit if unit == "%" else f" {unit}"


def run_section(run: BoardRun, label: str) -> str:
    warn = (
        ""
        if run.profile_matched
        else f' <span class="warn">⚠ hardware did not match the profile: {esc("; ".join(run.mismatch_reasons))}</span>'
    )
    body = run.body if run.body is not None else run_body(run)
    return f'<section class="run" id="{esc(run.run_id)}"><h3>{esc(heading(run, label))}{warn}</h3>{body}</section>'


def sweep_summary(points: list[Point]) -> str:
    """This entry's operating points on one board, seeds collapsed: the sweep at a glance."""
    head = "".join(
        f"<th>{esc(metric(k).label)} <span class='unit'>{esc(metric(k).display_unit)}</span></th>" for k in SUMMARY_KEYS
    )
    rows = []
    for p in sorted(points, key=lambda q: q.values.get("energy_kwh_per_1k", 0.0)):
        cells = "".join(f"<td>{fmt(p.values.get(k), metric(k).scale)}</td>" for k in SUMMARY_KEYS)
        seeds = f"{len(p.runs)} seeds" if len(p.runs) > 1 else "1 seed"
        rows.append(
            f'<tr><th><a href="#{esc(p.first.run_id)}">{esc(p.label or "default")}</a> '
            f'<span class="ver">{seeds}</span></th>{cells}</tr>'
        )
    return f'<table class="sweep"><thead><tr><th>Operating point</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def entry_body(runs: list[BoardRun], points_by_board: dict[tuple[str, str], list[Point]]) -> Markup:
    """Every board this entry is on: its sweep summary, then its runs."""
    labels: dict[str, str] = {}
    for points in points_by_board.values():
        for p in points:
            for r in p.runs:
                labels[r.run_id] = p.label
    by_board: dict[tuple[str, str], list[BoardRun]] = defaultdict(list)
    for run in runs:
        by_board[(run.task, run.profile)].append(run)
    out: list[str] = [marker_defs()]
    for (task, profile), members in sorted(by_board.items()):
        out.append(f"<h2>{esc(task)} · profile {esc(profile)}</h2>")
        points = points_by_board.get((task, profile), [])
        if len(points) > 1 or any(len(p.runs) > 1 for p in points):
            out.append(sweep_summary(points))
        if len(points) > 1 and sum("energy_kwh_per_1k" in p.values for p in points) > 1:
            chart = pareto_svg(points, "energy_kwh_per_1k", None, {points[0].entry: 0})
            out.append(f'<figure class="sweepchart">{chart}<p class="tip" hidden></p></figure>')
        members.sort(key=lambda r: (labels.get(r.run_id, ""), r.seed if r.seed is not None else -1, r.finished_at))
        out.extend(run_section(r, labels.get(r.run_id, "")) for r in members)
    return Markup("".join(out))


def manifest_rows(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    from leaderboard.safe import safe_url

    authors = manifest.get("authors")
    rows = [
        ("Authors", esc(", ".join(str(a) for a in authors) if isinstance(authors, list) else authors or "")),
        ("Licence", esc(manifest.get("licence") or "")),
        ("Kind", esc(manifest.get("kind") or "")),
    ]
    for key in ("paper", "url"):
        if manifest.get(key):
            link = safe_url(manifest[key])
            shown = f'<a href="{esc(link)}" rel="nofollow noopener">{esc(link)}</a>' if link else esc(manifest[key])
            rows.append((key.capitalize(), shown))
    return rows
