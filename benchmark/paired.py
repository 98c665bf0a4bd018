"""The paired regression gate: baseline and candidate measured in one harness, windows alternated.

Two records made at different times on a shared machine differ by far more than either run's own
spread (a neighbour spinning on one core moved latency p50 by +2,613% between two runs of the same
code), so comparing records fails identical code. Here both models are loaded side by side and
their latency and energy windows alternate, ABBA within each pair of rounds, so drift and a
neighbour's load hit both; the gate judges the per-round cost *ratio* (candidate / baseline) by a
bootstrap over rounds and fails only when the whole confidence interval clears the allowance.

How a model is opened is not this module's business: anything with ``predict(batch)`` will do
(an in-process predictor, a sandboxed one, the lead's ModelHandle).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from benchmark import batching
from benchmark.errors import UserError
from benchmark.meters import EnergyMeter, EnergyReading
from tasks.base import Instance


class Predicts(Protocol):
    def predict(self, batch: Sequence[Instance]) -> Sequence[int]: ...


@dataclass(frozen=True)
class PairedSettings:
    rounds: int = 10  # each round: one latency and one energy window per model
    latency_calls: int = 40  # batch-1 calls per model and round, interleaved
    # The round's latency figure: this quantile of each model's calls. Not the median: on a shared
    # machine more than half of a window's calls can be preempted (bimodal 2 ms / 20 ms), and the
    # median then flips between the two modes; the lower quartile is the model's own cost.
    latency_quantile: float = 0.25
    energy_window_s: float = 0.5  # batched work per energy window (whole batches, at least this long)
    batch_size: int = 32
    batching: str = "length"
    allowance_pct: float = 10.0  # a cost may rise this much before it counts as a regression
    confidence: float = 0.95  # one-sided: the lower bound of the ratio must clear the allowance
    resamples: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rounds < 3:
            raise UserError(f"--rounds must be >= 3 for a confidence interval, got {self.rounds}")
        if self.latency_calls < 4 or self.energy_window_s <= 0 or self.batch_size < 1:
            raise UserError("latency calls (>= 4), energy window and batch size must be positive")
        if not 0 < self.latency_quantile < 1:
            raise UserError(f"the latency quantile must be between 0 and 1, got {self.latency_quantile}")
        if self.allowance_pct < 0:
            raise UserError("--max-cost-increase must be >= 0")


@dataclass
class Rounds:
    """Per-round figures for baseline (a) and candidate (b)."""

    latency_ms: dict[str, list[float]] = field(default_factory=lambda: {"a": [], "b": []})
    energy_j_per_instance: dict[str, list[float]] = field(default_factory=lambda: {"a": [], "b": []})
    order: list[str] = field(default_factory=list)


Clock = Callable[[], float]


def _latency_window(
    models: dict[str, Predicts],
    instances: Sequence[Instance],
    calls: int,
    start: int,
    sync: Callable,
    clock: Clock,
    quantile: float,
) -> dict[str, float]:
    """A quantile of each model's batch-1 latency over ``calls`` calls each, the two models' calls
    interleaved one by one (ABBA), so a neighbour's burst lands on both rather than on one window."""
    times: dict[str, list[float]] = {key: [] for key in models}
    for k in range(calls):
        inst = instances[(start + k) % len(instances)]
        for key in ("a", "b") if k % 2 == 0 else ("b", "a"):
            t0 = clock()
            models[key].predict([inst])
            sync()
            times[key].append((clock() - t0) * 1000.0)
    return {key: float(np.quantile(values, quantile)) for key, values in times.items()}


def _active_joules(reading: EnergyReading, idle_w: dict[str, float]) -> float:
    return sum(max(0.0, j - idle_w.get(k, 0.0) * reading.seconds) for k, j in reading.joules.items())


def _energy_window(
    model: Predicts,
    batches: Sequence[Sequence[Instance]],
    meter: EnergyMeter,
    seconds: float,
    idle_w: dict[str, float],
    sync: Callable,
    clock: Clock,
) -> float:
    """Active joules per instance over whole batches lasting at least ``seconds``."""
    done, k = 0, 0
    with meter:
        t0 = clock()
        while True:
            batch = batches[k % len(batches)]
            model.predict(batch)
            done += len(batch)
            k += 1
            if clock() - t0 >= seconds:
                sync()
                break
    assert meter.reading is not None
    return _active_joules(meter.reading, idle_w) / done


def measure_pair(
    baseline: Predicts,
    candidate: Predicts,
    instances: Sequence[Instance],
    meter: EnergyMeter,
    settings: PairedSettings,
    idle: EnergyReading | None = None,
    sync: Callable[[], None] = lambda: None,
    clock: Clock = time.perf_counter,
) -> Rounds:
    """Alternate the two models: latency call by call, energy window by window (ABBA over rounds),
    so drift and a neighbour's load hit both."""
    if not instances:
        raise UserError("no instances to measure: check --limit")
    bare = [inst.without_label() for inst in instances]
    plan = batching.plan(bare, settings.batch_size, settings.batching, settings.seed)
    batches = [[bare[i] for i in b] for b in plan]
    idle_w = {k: v / idle.seconds for k, v in idle.joules.items()} if idle and idle.seconds > 0 else {}
    models = {"a": baseline, "b": candidate}
    window = max(settings.energy_window_s, meter.min_window_s)
    q = settings.latency_quantile
    _latency_window(models, bare, settings.latency_calls, 0, sync, clock, q)  # one discarded round:
    for key in models:  # the first calls of a fresh model are slow
        _energy_window(models[key], batches, meter, window, idle_w, sync, clock)
    out = Rounds()
    for r in range(settings.rounds):
        order = ("a", "b") if r % 2 == 0 else ("b", "a")
        out.order.append("".join(order).upper())
        figures = _latency_window(models, bare, settings.latency_calls, r * settings.latency_calls, sync, clock, q)
        for key in models:
            out.latency_ms[key].append(figures[key])
        for key in order:
            out.energy_j_per_instance[key].append(
                _energy_window(models[key], batches, meter, window, idle_w, sync, clock)
            )
    return out


def ratio_ci(a: Sequence[float], b: Sequence[float], confidence: float, resamples: int, seed: int) -> dict[str, Any]:
    """Geometric-mean ratio b/a over rounds and its bootstrap interval (two-sided at 2*confidence-1,
    so the lower end is a one-sided ``confidence`` bound); None where a round has no positive figure."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x > 0 and y > 0]
    if len(pairs) < 3:
        return {"ratio": None, "ci_low": None, "ci_high": None, "n_rounds": len(pairs)}
    logs = np.log([y / x for x, y in pairs])
    rng = np.random.default_rng(seed)
    means = logs[rng.integers(0, len(logs), size=(resamples, len(logs)))].mean(axis=1)
    tail = 1.0 - confidence
    return {
        "ratio": float(math.exp(logs.mean())),
        "ci_low": float(math.exp(np.quantile(means, tail))),
        "ci_high": float(math.exp(np.quantile(means, 1.0 - tail))),
        "n_rounds": len(pairs),
    }


def _verdict(name: str, ci: dict[str, Any], settings: PairedSettings) -> dict[str, Any]:
    limit = 1.0 + settings.allowance_pct / 100.0
    if ci["ratio"] is None:
        return {"name": name, **ci, "allowed": limit, "verdict": "skip", "reason": "too few rounds with a figure"}
    failed = ci["ci_low"] > limit
    where = "clears" if failed else "does not clear"
    reason = (
        f"ratio {ci['ratio']:.3f}, {settings.confidence:.0%} lower bound {ci['ci_low']:.3f} {where} the allowance "
        f"{limit:.2f} ({ci['n_rounds']} rounds, ABBA)"
    )
    return {"name": name, **ci, "allowed": limit, "verdict": "fail" if failed else "pass", "reason": reason}


def judge(rounds: Rounds, settings: PairedSettings) -> list[dict[str, Any]]:
    """One check per cost: latency p50 (batch 1) and active energy per instance."""
    lat = ratio_ci(rounds.latency_ms["a"], rounds.latency_ms["b"], settings.confidence, settings.resamples, 1)
    energy = ratio_ci(
        rounds.energy_j_per_instance["a"],
        rounds.energy_j_per_instance["b"],
        settings.confidence,
        settings.resamples,
        2,
    )
    return [
        _verdict(f"latency p{settings.latency_quantile * 100:g} (batch 1), candidate / baseline", lat, settings),
        _verdict("active energy / instance, candidate / baseline", energy, settings),
    ]


def paired_report(rounds: Rounds, settings: PairedSettings, meter_source: str) -> dict[str, Any]:
    checks = judge(rounds, settings)
    return {
        "mode": "paired",
        "verdict": "fail" if any(c["verdict"] == "fail" for c in checks) else "pass",
        "checks": checks,
        "settings": asdict(settings),
        "energy_source": meter_source,
        "rounds": {
            "order": rounds.order,
            "latency_ms": rounds.latency_ms,
            "energy_j_per_instance": rounds.energy_j_per_instance,
        },
    }


def _open(folder: Any, ctx_for: Callable[[Any], Any], threads: int) -> Any:
    """An in-process model handle on a submission folder (no sandbox: both live in this harness)."""
    from benchmark.manifest import load_manifest
    from benchmark.model import open_model

    folder = folder.resolve()
    return open_model(load_manifest(folder), folder, ctx_for(folder), "none", threads, None, None)


def run_paired_check(
    baseline_dir: Any,
    candidate_dir: Any,
    task_name: str,
    profile_name: str,
    data_dir: Any,
    limit: int | None,
    train_limit: int | None,
    seed: int,
    settings: PairedSettings,
    max_accuracy_drop: float,
) -> dict[str, Any]:
    """Open both submissions in this process, fit them if they train, compare accuracy on the same
    instances (paired bootstrap) and costs in alternating windows."""
    import shutil
    import tempfile

    import torch

    from benchmark.costs import idle_baseline
    from benchmark.gate import paired_bootstrap_drop
    from benchmark.meters import default_meter
    from benchmark.predictor import PredictorContext
    from benchmark.profiles import load_profile
    from benchmark.runner import predict_all
    from tasks import get_task
    from tasks.base import resolve_data_dir, subsample

    for flag, value in (("--limit", limit), ("--train-limit", train_limit)):
        if value is not None and value < 1:
            raise UserError(f"{flag} must be a positive number of instances, got {value}")
    profile = load_profile(profile_name)
    torch.set_num_threads(profile.threads)
    torch.manual_seed(seed)
    if profile.device == "cuda" and not torch.cuda.is_available():
        raise UserError(f"profile {profile.name} needs a CUDA GPU and none is visible: use --profile cpu")
    data = get_task(task_name).load(resolve_data_dir(data_dir), None)
    eval_set = data.eval_sets[0]
    instances = subsample(eval_set.instances, limit, seed)
    train = subsample(data.train, train_limit, seed)
    scratch = Path(tempfile.mkdtemp(prefix="greenbench-paired-"))

    def ctx_for(folder: Any) -> Any:  # fresh weights for each side: a paired check never reuses a cache
        weights = scratch / ("a" if not (scratch / "a").exists() else "b")
        weights.mkdir()
        return PredictorContext(data.info, profile.device, profile.precision, seed, folder, weights)

    models: list[Any] = []
    try:
        models.append(_open(baseline_dir, ctx_for, profile.threads))
        models.append(_open(candidate_dir, ctx_for, profile.threads))
        for model in models:
            if model.can_fit:
                model.fit(train, data.dev)
        n_labels = len(data.info.label_names)
        preds = [predict_all(m, instances, profile.batch_size, n_labels, "paired check") for m in models]
        gold = [int(inst.label) for inst in instances]  # type: ignore[arg-type]
        right = [{i.id: p == g for i, p, g in zip(instances, ps, gold, strict=True)} for ps in preds]
        drop, lower = paired_bootstrap_drop(right[0], right[1])
        failed = drop > max_accuracy_drop and lower > 0
        accuracy = {
            "name": f"accuracy [{eval_set.name}], points",
            "baseline": 100 * statistics.fmean(right[0].values()),
            "candidate": 100 * statistics.fmean(right[1].values()),
            "verdict": "fail" if failed else "pass",
            "reason": f"drop {drop:.2f} points, 95% lower bound {lower:.2f} (paired bootstrap, {len(instances)} instances)",
        }
        meter = default_meter(profile)
        idle = idle_baseline(meter, profile.idle_seconds)
        settings = PairedSettings(
            **{**asdict(settings), "batch_size": profile.batch_size, "batching": profile.batching}
        )
        rounds = measure_pair(models[0], models[1], instances, meter, settings, idle)
    finally:
        for model in models:
            model.close()
        shutil.rmtree(scratch, ignore_errors=True)
    report = paired_report(rounds, settings, meter.source)
    report["checks"].insert(0, accuracy)
    report["verdict"] = "fail" if any(c["verdict"] == "fail" for c in report["checks"]) else "pass"
    report.update(baseline=str(baseline_dir), candidate=str(candidate_dir), task=task_name, profile=profile.name)
    return report


def format_paired(report: dict[str, Any]) -> str:
    lines = [f"mode: paired (both models in one harness, {report['settings']['rounds']} rounds ABBA)"]
    for check in report["checks"]:
        if "ratio" in check:
            ratio = "-" if check["ratio"] is None else f"{check['ratio']:.3f}"
            low = "-" if check["ci_low"] is None else f"{check['ci_low']:.3f}"
            high = "-" if check["ci_high"] is None else f"{check['ci_high']:.3f}"
            figures = f"ratio {ratio} [{low}, {high}], allowed {check['allowed']:.2f}"
        else:
            figures = f"{check['baseline']:.2f} -> {check['candidate']:.2f}"
        lines.append(f"{check['verdict'].upper():5s} {check['name']}: {figures}")
        lines.append(f"      {check['reason']}")
    lines.append(f"energy source: {report['energy_source']}")
    lines.append(f"verdict: {report['verdict'].upper()}")
    return "\n".join(lines)
