"""The one metric table and the one number formatter every reader of a record shares.

``show``, ``compare``, the gate and the board all used to keep their own list of figures with
their own units, display scales and formatters; they disagreed (joules next to kWh, a 13-digit
integer next to e-notation) and one of them returned non-numbers raw into HTML. Everything that
names, locates, scales or prints a headline figure now comes from here.

Public API (kept small on purpose, the board imports it):
``Metric``, ``METRICS``, ``metric(key)``, ``value_of(record, key)``, ``missing_reason(record, key)``,
``format_value(value, metric)``, ``format_number(value)``, ``figure_warnings(record, key)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# Path segment standing for the primary (first in-distribution) eval set's name.
PRIMARY = "{primary}"
MISSING = "—"


@dataclass(frozen=True)
class Metric:
    """One headline figure: what it means, where a record keeps it and how a person reads it.

    ``path`` walks ``metrics.json`` from its root (``PRIMARY`` is replaced by the primary eval
    set's name). Values are stored in ``unit`` and shown in ``display_unit`` after multiplying by
    ``scale``, so storage stays SI-ish and stable while the display reads at a glance.
    ``gate_noise``: ``None`` when the regression gate ignores the figure, ``()`` when it is
    deterministic and compared exactly, else the keys (in the same block, first present wins) of
    its relative spread, which sets the gate's noise band.
    """

    key: str
    label: str
    unit: str
    display_unit: str
    scale: float
    direction: Literal["higher", "lower"]
    path: tuple[str, ...]
    cost: bool
    description: str
    section: str  # "quality", "inference", "energy", "training": price-tag section and board colouring
    gate_noise: tuple[str, ...] | None = None

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher"

    @property
    def block(self) -> str:
        """The top-level ``metrics.json`` block holding the figure (``eval_sets`` for quality)."""
        return self.path[0]


def _m(
    key: str, label: str, unit: str, display: str, scale: float, direction: str, path: str, section: str,
    description: str, gate_noise: tuple[str, ...] | None = None,
) -> Metric:  # fmt: skip
    return Metric(
        key, label, unit, display, scale, direction, tuple(path.split("/")), section != "quality",  # type: ignore[arg-type]
        description, section, gate_noise,
    )  # fmt: skip


_P = f"eval_sets/{PRIMARY}"
# fmt: off
METRICS: tuple[Metric, ...] = (
    _m("accuracy", "Accuracy", "fraction", "%", 100.0, "higher", f"{_P}/accuracy", "quality",
       "Share of the primary eval set predicted right."),
    _m("macro_f1", "Macro-F1", "fraction", "%", 100.0, "higher", f"{_P}/macro_f1", "quality",
       "Unweighted mean of per-class F1 on the primary eval set."),
    _m("f1_positive", "F1 (positive class)", "fraction", "%", 100.0, "higher", f"{_P}/f1_positive", "quality",
       "F1 of the task's positive label on the primary eval set."),
    _m("inference_flops_per_instance", "Inference FLOPs / instance", "FLOP", "GFLOP", 1e-9, "lower",
       "flops/inference_flops_per_instance_mean", "inference",
       "Mean floating-point operations per eval instance on the executed path.", gate_noise=()),
    _m("latency_ms_p50", "Latency p50 (batch 1)", "ms", "ms", 1.0, "lower", "latency/latency_ms_p50", "inference",
       "Median batch-1 latency.", gate_noise=("latency_median_cv", "latency_cv")),
    _m("latency_ms_p90", "Latency p90 (batch 1)", "ms", "ms", 1.0, "lower", "latency/latency_ms_p90", "inference",
       "90th percentile batch-1 latency."),
    _m("latency_ms_p99", "Latency p99 (batch 1)", "ms", "ms", 1.0, "lower", "latency/latency_ms_p99", "inference",
       "99th percentile batch-1 latency."),
    _m("throughput_instances_per_s", "Throughput", "instances/s", "inst/s", 1.0, "higher",
       "throughput/throughput_instances_per_s", "inference", "Instances per second at the profile's batch size."),
    _m("energy_kwh_per_1k", "Energy / 1k instances", "kWh", "Wh", 1000.0, "lower", "energy/energy_kwh_per_1k",
       "energy", "Active (idle-subtracted) energy of the metered eval pass per 1,000 instances.",
       gate_noise=("energy_per_1k_cv",)),
    _m("co2e_kg_per_1k", "CO2e / 1k instances", "kg", "g", 1000.0, "lower", "energy/carbon_per_1k/co2e_kg",
       "energy", "Energy per 1k instances x grid intensity of the run's region x PUE."),
    _m("training_flops", "Training FLOPs", "FLOP", "TFLOP", 1e-12, "lower", "training/training_flops", "training",
       "FLOPs of the training the harness ran."),
    _m("training_energy_kwh", "Training energy", "kWh", "Wh", 1000.0, "lower", "training/training_energy_kwh",
       "training", "Energy of the training the harness ran."),
    _m("training_co2e_kg", "Training CO2e", "kg", "g", 1000.0, "lower", "training/training_co2e_kg", "training",
       "CO2e of the training the harness ran."),
)
# fmt: on
_BY_KEY = {m.key: m for m in METRICS}


def metric(key: str) -> Metric:
    """The table row for ``key``; an unknown key is a programming error, said in one line."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no metric {key!r} in benchmark.metric_table.METRICS (known: {', '.join(_BY_KEY)})") from None


def _metrics_dict(record: Any) -> Mapping[str, Any]:
    """Accept a ``RunRecord``, anything with a ``.metrics`` mapping, or the metrics dict itself."""
    inner = getattr(record, "metrics", record)
    return inner if isinstance(inner, Mapping) else {}


def primary_eval_set(metrics: Mapping[str, Any]) -> str | None:
    """The first in-distribution eval set: the one whose accuracy heads the board."""
    sets = metrics.get("eval_sets")
    if not isinstance(sets, Mapping):
        return None
    for name, block in sets.items():
        if isinstance(block, Mapping) and block.get("role", "id") == "id":
            return str(name)
    return next((str(n) for n in sets), None)


def _walk(metrics: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    primary = (primary_eval_set(metrics) or "") if PRIMARY in path else ""
    return dig(metrics, *(primary if part == PRIMARY else part for part in path))


def _cached_training(metrics: Mapping[str, Any]) -> bool:
    training = metrics.get("training")
    return isinstance(training, Mapping) and bool(training.get("from_cache"))


def value_of(record: Any, key: str) -> Any:
    """The stored value (in ``metric(key).unit``) or ``None`` when the record lacks it.

    Training figures of a run that reused cached weights are ``None``: that run did not pay them,
    and showing them would count one training twice across operating points. The value is returned
    as stored, unchecked: pass it to ``format_value`` before showing it anywhere.
    """
    m = metric(key)
    metrics = _metrics_dict(record)
    if m.section == "training" and _cached_training(metrics):
        return None
    return _walk(metrics, m.path)


def missing_reason(record: Any, key: str) -> str | None:
    """Why ``value_of`` is ``None`` (stored reason if the record gives one), else ``None``."""
    m = metric(key)
    metrics = _metrics_dict(record)
    if _walk(metrics, m.path) is not None and not (m.section == "training" and _cached_training(metrics)):
        return None
    if m.section == "training" and _cached_training(metrics):
        shared = _walk(metrics, ("training", "shared_from"))
        return f"weights reused from job {_clean(shared)[:12]}" if isinstance(shared, str) else "weights reused"
    parent = _walk(metrics, m.path[:-1])
    if isinstance(parent, Mapping):
        reasons = parent.get("null_reasons")
        if isinstance(reasons, Mapping) and isinstance(reasons.get(m.path[-1]), str):
            return _clean(reasons[m.path[-1]])
        return "not recorded" if m.path[-1] not in parent else "not measured"
    return "not measured" if m.cost else "not recorded"


_LONG_NUMBER = re.compile(r"\d+\.\d{4,}(?:e-?\d+)?")


def dig(node: Any, *path: str) -> Any:
    """``node[path[0]][path[1]]...``, or None where a step is missing or not a mapping."""
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def printable(value: Any, limit: int = 120) -> str:
    """Record-supplied words (a source, a region): printable characters only, bounded; None as a dash."""
    return "".join(ch for ch in str(value)[:limit] if ch.isprintable()) if value is not None else "—"


def _clean(text: Any, limit: int = 160) -> str:
    """Record-supplied words: printable characters only, bounded (escaping is the renderer's), and
    any long decimal in them (``CV 0.06685322087837837``) in the one number format."""
    return _LONG_NUMBER.sub(lambda match: format_number(float(match.group())), printable(str(text), limit))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_number(value: Any, digits: int = 3) -> str:
    """Any number as text: ``digits`` significant figures, thousands separators up to a million,
    compact e-notation (``1.47e12``) beyond and below 0.001. Non-numbers never come back raw."""
    if value is None:
        return MISSING
    if not _is_number(value):
        return "invalid (not a number)"
    if not math.isfinite(value):
        return "invalid (not finite)"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e6:
        if magnitude >= 10 ** (digits - 1):
            return f"{value:,.0f}"
        return f"{float(value):.{digits}g}"
    mantissa, exponent = f"{float(value):.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def format_value(value: Any, m: Metric | str | None = None, *, unit: bool = False, reason: str | None = None) -> str:
    """The one way a figure becomes text, for the terminal and for HTML alike.

    Numbers are scaled to ``m.display_unit`` and formatted by ``format_number``; ``None`` is
    ``"—"`` or ``"n/a (reason)"``; a negative figure (no figure here can be) and anything that is
    not a finite number is reported as invalid without echoing it, so a hostile record cannot put
    text of its choosing on a page. ``unit=True`` appends the display unit.
    """
    spec = metric(m) if isinstance(m, str) else m
    if value is None:
        return f"n/a ({reason})" if reason else MISSING
    if not _is_number(value) or not math.isfinite(value):
        return format_number(value)
    if spec is not None and value < 0:
        return "invalid (negative)"
    text = format_number(value * spec.scale if spec is not None else value)
    if unit and spec is not None and spec.display_unit:
        text += f" {spec.display_unit}"
    return text


# Below this share of the total, "active" (idle-subtracted) energy is mostly the noise of two
# large readings: the idle baseline nearly equals the loaded reading (e.g. 14.66 W idle of 15 W).
MIN_ACTIVE_SHARE = 0.05


def _flag_texts(flags: Any, leaf: str, key: str, reason: Any = None) -> list[str]:
    """The measurement code's ``unstable`` flags, in whatever shape they come: a bool (with the
    block's ``unstable_reason``), a reason, a list of reasons, or a mapping from figure name to
    reason/bool. Reasons are bounded text."""
    if flags is True:
        return [f"unstable: {_clean(reason)}" if isinstance(reason, str) and reason else "flagged unstable"]
    if isinstance(flags, str) and flags:
        return [f"unstable: {_clean(flags)}"]
    if isinstance(flags, list | tuple):
        return [f"unstable: {_clean(f)}" for f in flags if isinstance(f, str) and f]
    if isinstance(flags, Mapping):
        out = []
        for name, reason in flags.items():
            if name not in (leaf, key, "*", "all") or reason in (False, None, ""):
                continue
            out.append("flagged unstable" if reason is True else f"unstable: {_clean(reason)}")
        return out
    return []


def _active_share_warning(energy: Any) -> str | None:
    if not isinstance(energy, Mapping):
        return None
    active, total = energy.get("energy_kwh_active"), energy.get("energy_kwh_total")
    if not (_is_number(active) and _is_number(total)) or not total > 0 or not math.isfinite(active / total):
        return None
    share = active / total
    if share >= MIN_ACTIVE_SHARE:
        return None
    return (
        f"active energy is {format_number(share * 100)}% of total: the idle baseline nearly equals the "
        "loaded reading, so the active figure is mostly noise"
    )


def figure_warnings(record: Any, key: str) -> list[str]:
    """Why a reader should distrust ``key``'s figure in this record, one sentence each (may be empty).

    Reads the measurement's own flags (``unstable`` in the figure's block, tolerantly) and adds
    the reader's plausibility checks: a missed latency CV target, active energy below
    ``MIN_ACTIVE_SHARE`` of total, FLOPs counted where the entry's own code runs.
    """
    m = metric(key)
    metrics = _metrics_dict(record)
    block = _walk(metrics, m.path[:-1]) if m.section != "quality" else None
    if m.block == "energy" and len(m.path) > 2:
        block = metrics.get("energy")
    out: list[str] = []
    if isinstance(block, Mapping):
        out += _flag_texts(block.get("unstable"), m.path[-1], key, block.get("unstable_reason"))
    missed = m.block == "latency" and isinstance(block, Mapping) and block.get("cv_target_met") is False
    if missed and not out:  # the measurement's own flag, when present, already says why
        out.append(
            f"latency spread missed its target: CV of medians {format_number(block.get('latency_median_cv'))} "
            f"after {format_number(block.get('repeats'))} repeats; compare these latencies with care"
        )
    if key in ("energy_kwh_per_1k", "co2e_kg_per_1k"):
        out += [w for w in [_active_share_warning(metrics.get("energy"))] if w]
    if key in ("training_energy_kwh", "training_co2e_kg"):
        training = metrics.get("training")
        out += [
            w for w in [_active_share_warning(training.get("energy") if isinstance(training, Mapping) else None)] if w
        ]
    flops_key = key in ("inference_flops_per_instance", "training_flops")
    if flops_key and isinstance(block, Mapping) and block.get("counted_by") == "entry-process":
        out.append("FLOPs counted inside the entry's own process, which its code could evade; not verified")
    return out
