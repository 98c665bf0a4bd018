"""Re-derive every figure a record can be checked against: one line per contradiction.

A forger who edits one figure and recomputes the digests is caught here, because the figures of a
record depend on each other: throughput is instances / seconds, per-1k energy is the active energy
over the window's instances, the headline energy lies among its windows, the FLOPs total is the
mean x the eval instances, CO2e is energy x the harness's own grid intensity x PUE. Scaling them
all consistently is still possible; signatures and ``greenbench audit`` cover that.

Input is a record that already passed the schema (``benchmark.schema``), so every figure here is a
finite number >= 0 or a null with a reason.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator, Mapping
from typing import Any

from benchmark import carbon
from benchmark.errors import UserError
from benchmark.measures import Duration, Energy, Flops, Power, Rate

REL = 1e-9  # arithmetic re-done on the same floats
REL_J = 1e-6  # joules summed in another order
WINDOW_SLACK = 0.05  # headline vs its windows: clamping a component at 0 per window can shift it a little


def close(recorded: float | None, derived: float | None, rel: float = REL) -> bool:
    if recorded is None or derived is None:
        return recorded is derived
    return math.isclose(recorded, derived, rel_tol=rel, abs_tol=1e-300)


def _line(where: str, recorded: Any, derived: Any, how: str) -> str:
    return f"metrics.json {where} is {recorded!r} but {how} gives {derived!r}"


def check_record(run: Mapping[str, Any], metrics: Mapping[str, Any]) -> list[str]:
    """Every contradiction between the figures of one complete, schema-valid record."""
    return list(_run_checks(run, metrics))


def _run_checks(run: Mapping[str, Any], metrics: Mapping[str, Any]) -> Iterator[str]:
    profile, config, kind = run["profile"], run["config"], run["submission"]["kind"]
    if config["region"] != profile["region"] or config["pue"] != profile["pue"]:
        yield "run.json config region/pue differ from the profile's"
    for name, block in metrics["eval_sets"].items():
        if config["n_eval"].get(name) != block["n"]:
            yield f"metrics.json eval_sets.{name}.n is {block['n']} but run.json config.n_eval says {config['n_eval'].get(name)}"
    if set(config["n_eval"]) != set(metrics["eval_sets"]):
        yield "metrics.json eval sets differ from run.json config.n_eval"
    costs = [k for k in ("flops", "latency", "throughput", "energy") if metrics.get(k) is not None]
    if config["measure_costs"] and len(costs) < 4:
        yield f"run.json says costs were measured but metrics.json lacks {', '.join(sorted({'flops', 'latency', 'throughput', 'energy'} - set(costs)))}"
    if not config["measure_costs"] and costs:
        yield f"run.json says costs were not measured but metrics.json has {', '.join(costs)}"
    first = next(iter(config["n_eval"].values()), None)
    if metrics.get("flops"):
        yield from flops_checks(metrics["flops"], kind, profile, first)
    if metrics.get("latency"):
        yield from latency_checks(metrics["latency"], profile)
    if metrics.get("throughput"):
        yield from throughput_checks(metrics["throughput"], profile)
    if metrics.get("energy"):
        yield from energy_checks("energy", metrics["energy"], run)
        yield from window_checks(metrics["energy"], metrics.get("throughput"))
    if metrics.get("training"):
        yield from training_checks(metrics["training"], run)


def counted_by_checks(where: str, counted_by: str, kind: str) -> Iterator[str]:
    if counted_by == "harness" and kind != "hf":
        yield (
            f"metrics.json {where}counted_by is harness but the entry is kind {kind}: its own code ran the model, "
            "so its FLOPs can only be entry-process"
        )
    if counted_by == "entry-process" and kind == "hf":
        yield f"metrics.json {where}counted_by is entry-process but a kind hf entry is counted by the harness"


def flops_checks(f: Mapping[str, Any], kind: str, profile: Mapping[str, Any], n_eval: int | None) -> Iterator[str]:
    yield from counted_by_checks("flops.", f["counted_by"], kind)
    if n_eval is not None and f["n_eval"] != n_eval:
        yield f"metrics.json flops.n_eval is {f['n_eval']} but the first eval set has {n_eval} instances"
    sample = profile["flops_sample_instances"]
    expected = f["n_eval"] if sample is None else min(sample, f["n_eval"])
    if f["n_counted"] != expected:
        yield f"metrics.json flops.n_counted is {f['n_counted']} but the profile counts {expected} instances"
    mean = f["inference_flops_per_instance_mean"]
    if mean is None:
        return
    total = Flops(mean).times(f["n_eval"]).count
    if not close(f["inference_flops_total_estimate"], total):
        yield _line("flops.inference_flops_total_estimate", f["inference_flops_total_estimate"], total, "mean x n_eval")
    std, sem = f["inference_flops_per_instance_std"], f["inference_flops_per_instance_sem"]
    if std is not None and sem is not None and f["n_counted"]:
        want = 0.0 if f["n_counted"] == f["n_eval"] else std / math.sqrt(f["n_counted"])
        if not close(sem, want):
            yield _line("flops.inference_flops_per_instance_sem", sem, want, "std / sqrt(n_counted)")
    summed = mean * f["n_counted"]
    if f["n_counted"] and abs(summed - round(summed)) > max(1e-6 * summed, 1e-6):
        yield f"metrics.json flops mean x n_counted = {summed!r} is not a whole number of FLOPs"


def latency_checks(lat: Mapping[str, Any], profile: Mapping[str, Any]) -> Iterator[str]:
    if lat["n_samples"] != lat["repeats"] * profile["latency_samples"]:
        yield (
            f"metrics.json latency.n_samples is {lat['n_samples']} but {lat['repeats']} repeats of the profile's "
            f"{profile['latency_samples']} samples give {lat['repeats'] * profile['latency_samples']}"
        )
    if lat["repeats"] > profile["max_repeats"]:
        yield f"metrics.json latency.repeats is {lat['repeats']}, over the profile's max_repeats {profile['max_repeats']}"
    if lat["warmup"] != profile["warmup"]:
        yield f"metrics.json latency.warmup is {lat['warmup']} but the profile warms up {profile['warmup']} times"
    if (lat["latency_median_cv"] is None) != (lat["repeats"] == 1):
        yield "metrics.json latency.latency_median_cv must be null exactly when there was one repeat"
    met = lat["latency_median_cv"] is not None and lat["latency_median_cv"] <= profile["latency_cv_target"]
    if lat["cv_target_met"] != met:
        yield _line("latency.cv_target_met", lat["cv_target_met"], met, "latency_median_cv <= the profile's target")
    if lat["latency_ms_mean"] < lat["latency_ms_p50"] / 2:  # half the samples are >= p50
        yield f"metrics.json latency.latency_ms_mean {lat['latency_ms_mean']!r} is below half its own p50"


def throughput_checks(t: Mapping[str, Any], profile: Mapping[str, Any]) -> Iterator[str]:
    rate = Rate.of(t["n_instances"], Duration(t["seconds"]))
    derived = rate.per_s if rate else None
    if not close(t["throughput_instances_per_s"], derived):
        yield _line(
            "throughput.throughput_instances_per_s", t["throughput_instances_per_s"], derived, "n_instances / seconds"
        )
    if t["batch_size"] != profile["batch_size"]:
        yield f"metrics.json throughput.batch_size is {t['batch_size']} but the profile's is {profile['batch_size']}"


def energy_checks(where: str, e: Mapping[str, Any], run: Mapping[str, Any]) -> Iterator[str]:
    """The block's own arithmetic: joules -> kWh, idle subtraction, per 1k, and its CO2e."""
    total = sum((Energy.from_joules(j) for j in e["components_j_total"].values()), Energy(0.0))
    active = sum((Energy.from_joules(j) for j in e["components_j_active"].values()), Energy(0.0))
    if not close(e["energy_kwh_total"], total.kwh, REL_J):
        yield _line(f"{where}.energy_kwh_total", e["energy_kwh_total"], total.kwh, "the sum of components_j_total")
    if not close(e["energy_kwh_active"], active.kwh, REL_J):
        yield _line(f"{where}.energy_kwh_active", e["energy_kwh_active"], active.kwh, "the sum of components_j_active")
    window = Duration(e["window_s"])
    for name, joules in e["components_j_total"].items():
        idle = Power(e["idle_power_w"].get(name, 0.0))
        derived = Energy.from_joules(joules).minus_idle(idle, window).joules
        if not math.isclose(e["components_j_active"][name], derived, rel_tol=REL_J, abs_tol=1e-6):
            yield _line(
                f"{where}.components_j_active.{name}",
                e["components_j_active"][name],
                derived,
                "total - idle power x window",
            )
    n = e["n_instances"]
    for key, energy in (("energy_kwh_per_1k", active), ("energy_kwh_total_per_1k", total)):
        per = energy.per_1k(n)
        if not close(e[key], per.kwh if per else None, REL_J):
            yield _line(f"{where}.{key}", e[key], per.kwh if per else None, f"the energy / {n} instances x 1000")
    yield from carbon_checks(f"{where}.carbon_per_1k", e["carbon_per_1k"], e["energy_kwh_per_1k"], run)
    if e.get("carbon_per_1k_hourly"):
        yield from hourly_checks(f"{where}.carbon_per_1k_hourly", e["carbon_per_1k_hourly"], e["energy_kwh_per_1k"])


def carbon_checks(where: str, c: Mapping[str, Any], energy_kwh: float | None, run: Mapping[str, Any]) -> Iterator[str]:
    profile = run["profile"]
    if c["region"] != carbon_region(profile["region"]) or c["pue"] != profile["pue"]:
        yield f"metrics.json {where} is priced for {c['region']} at PUE {c['pue']}, the profile says {profile['region']} at {profile['pue']}"
    table = intensity(c["region"])
    if table is None:
        yield f"metrics.json {where}.region {c['region']!r} is not in the harness's carbon table"
        return
    if not close(c["intensity_g_per_kwh"], table, REL_J):
        yield _line(f"{where}.intensity_g_per_kwh", c["intensity_g_per_kwh"], table, "the harness's carbon table")
    want = Energy(energy_kwh).co2e(table, c["pue"]).kg if energy_kwh is not None else None
    if not close(c["co2e_kg"], want, REL_J):
        yield _line(f"{where}.co2e_kg", c["co2e_kg"], want, "energy x intensity x PUE")
    for region, ref in c["reference_regions"].items():
        ref_table = intensity(region)
        if ref_table is None or not close(ref["intensity_g_per_kwh"], ref_table, REL_J):
            yield f"metrics.json {where}.reference_regions.{region} intensity does not match the harness's carbon table"
            continue
        want = Energy(energy_kwh).co2e(ref_table, c["pue"]).kg if energy_kwh is not None else None
        if not close(ref["co2e_kg"], want, REL_J):
            yield _line(f"{where}.reference_regions.{region}.co2e_kg", ref["co2e_kg"], want, "energy x intensity x PUE")


def hourly_checks(where: str, h: Mapping[str, Any], energy_kwh: float | None) -> Iterator[str]:
    """Hourly CO2e: the same energy x PUE, at the file's average and marginal intensities."""
    for key, grams in (("co2e_kg_average", h["average_g_per_kwh"]), ("co2e_kg_marginal", h["marginal_g_per_kwh"])):
        want = Energy(energy_kwh).co2e(grams, h["pue"]).kg if energy_kwh is not None and grams is not None else None
        if not close(h[key], want, REL_J):
            yield _line(f"{where}.{key}", h[key], want, "energy x the file's intensity x PUE")


def carbon_region(region: str) -> str:
    found = intensity_record(region)
    return found.region if found else region


def intensity_record(region: str) -> carbon.Intensity | None:
    try:
        return carbon.lookup(region)
    except (UserError, KeyError, ValueError, OSError):
        return None


def intensity(region: str) -> float | None:
    found = intensity_record(region)
    return found.g_per_kwh if found else None


def window_checks(e: Mapping[str, Any], t: Mapping[str, Any] | None) -> Iterator[str]:
    """The inference block against the metered pass: same window, same instances, and a headline
    that lies among its windows (their instance-weighted mean, up to per-window clamping)."""
    if t is not None:
        if not close(e["window_s"], t["seconds"]):
            yield _line("energy.window_s", e["window_s"], t["seconds"], "throughput.seconds (the same metered pass)")
        if e["n_instances"] != t["n_instances"]:
            yield _line("energy.n_instances", e["n_instances"], t["n_instances"], "throughput.n_instances")
    windows = e.get("energy_kwh_per_1k_windows")
    head = e["energy_kwh_per_1k"]
    if not windows or head is None:
        return
    low, high = min(windows), max(windows)
    if not low * (1 - WINDOW_SLACK) <= head <= high * (1 + WINDOW_SLACK) + 1e-300:
        yield (
            f"metrics.json energy.energy_kwh_per_1k is {head!r} but its windows range {low!r}..{high!r} "
            f"(mean {statistics.fmean(windows)!r})"
        )
    counts = e.get("n_instances_windows")
    if counts is not None and (len(counts) != len(windows) or sum(counts) != e["n_instances"]):
        yield "metrics.json energy.n_instances_windows does not add up to energy.n_instances"
    cv = e.get("energy_per_1k_cv")
    mean = statistics.fmean(windows)
    want = statistics.pstdev(windows) / mean if mean > 0 else 0.0
    if cv is not None and not close(cv, want, REL_J):
        yield _line("energy.energy_per_1k_cv", cv, want, "the spread of energy_kwh_per_1k_windows")


def training_checks(t: Mapping[str, Any], run: Mapping[str, Any]) -> Iterator[str]:
    yield from counted_by_checks("training.", t["counted_by"], run["submission"]["kind"])
    config = run["config"]
    for key in ("n_train", "n_dev"):
        if t[key] != config[key]:
            yield f"metrics.json training.{key} is {t[key]} but run.json config.{key} is {config[key]}"
    yield from training_flops_checks(t)
    e = t["energy"]
    if e["n_instances"] != t["n_train"]:
        yield _line("training.energy.n_instances", e["n_instances"], t["n_train"], "training.n_train")
    if e["window_s"] > t["wall_s"] * (1 + REL_J) + 1e-3:
        yield f"metrics.json training.energy.window_s {e['window_s']!r} is longer than training.wall_s {t['wall_s']!r}"
    if not close(t["training_energy_kwh"], e["energy_kwh_active"]):
        yield _line(
            "training.training_energy_kwh",
            t["training_energy_kwh"],
            e["energy_kwh_active"],
            "training.energy.energy_kwh_active",
        )
    yield from energy_checks("training.energy", e, run)
    if t.get("training_carbon_hourly"):
        yield from hourly_checks(
            "training.training_carbon_hourly", t["training_carbon_hourly"], t["training_energy_kwh"]
        )
    table = intensity(e["carbon_per_1k"]["region"])
    if table is not None:
        want = Energy(t["training_energy_kwh"]).co2e(table, e["carbon_per_1k"]["pue"]).kg
        if not close(t["training_co2e_kg"], want, REL_J):
            yield _line("training.training_co2e_kg", t["training_co2e_kg"], want, "training energy x intensity x PUE")


def training_flops_checks(t: Mapping[str, Any]) -> Iterator[str]:
    """A sampled count: the estimate is the counted fit x n_train / n_counted, and is the headline."""
    sample = t.get("training_flops_sample")
    if not sample:
        return
    if sample["n_train"] != t["n_train"]:
        yield _line("training.training_flops_sample.n_train", sample["n_train"], t["n_train"], "training.n_train")
    if sample["n_counted"] and not close(sample["scale"], sample["n_train"] / sample["n_counted"]):
        yield _line(
            "training.training_flops_sample.scale",
            sample["scale"],
            sample["n_train"] / sample["n_counted"],
            "n_train / n_counted",
        )
    want = Flops(sample["counted"] * sample["scale"]).count
    if not close(sample["estimate"], want):
        yield _line("training.training_flops_sample.estimate", sample["estimate"], want, "counted x scale")
    recorded = t["training_flops"]
    if not close(recorded, want if want else None):
        yield _line("training.training_flops", recorded, want if want else None, "the sampled count (counted x scale)")
