"""Model-card metadata from run records: the price tag where Hub users look for it.

``model-index`` carries each task's quality metrics per eval set and the cost figures (FLOPs,
latency, energy, CO2e) of the run, each with its unit, profile and whether it was estimated;
``co2_eq_emissions`` carries the training's CO2e in grams, which is what the Hub's field means. A
card for runs that trained nothing has no ``co2_eq_emissions`` (a 0 would claim a measurement
that was not made); its body says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from benchmark import metric_table as mt
from benchmark.errors import RecordError, UserError
from benchmark.export import figure_source
from benchmark.record import RunRecord, find_runs, read_run

TASK_TYPES = {"classification": "text-classification", "multiple_choice": "multiple-choice"}


def load_records(paths: Iterable[Path]) -> tuple[list[RunRecord], list[str]]:
    """Complete records below ``paths``; failed or unreadable ones come back as one line each."""
    records, problems = [], []
    for path in paths:
        if not path.exists():
            raise UserError(f"{path} does not exist: give run folders (or a folder of them)")
        for run_dir in find_runs(path):
            try:
                record = read_run(run_dir, with_predictions=False)
            except RecordError as exc:
                problems.append(str(exc).splitlines()[0])
                continue
            if record.status != "complete":
                problems.append(f"{run_dir}: the run {record.status}; it has no figures for a card")
            else:
                records.append(record)
    if not records:
        raise UserError("no complete run records among the given paths: run `greenbench run` first")
    return records, problems


def _block(mapping: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = mapping.get(name)
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _estimated(metrics: Mapping[str, Any], key: str) -> bool:
    if key in ("energy_kwh_per_1k", "co2e_kg_per_1k"):
        return _block(metrics, "energy").get("measured") is False
    if key in ("training_energy_kwh", "training_co2e_kg"):
        return _block(_block(metrics, "training"), "energy").get("measured") is False
    return False


def eval_results(record: RunRecord) -> list[Any]:
    """``EvalResult``s of one record: quality per eval set, then every cost figure it has."""
    from huggingface_hub import EvalResult

    task = _block(record.run, "task")
    profile = str(_block(record.run, "profile").get("name"))
    common = {
        "task_type": TASK_TYPES.get(str(task.get("kind")), "text-classification"),
        "task_name": str(task.get("name")),
        "dataset_type": str(task.get("name")),
        "dataset_name": str(task.get("name")),
        "dataset_config": task.get("train_config"),
    }
    out = []
    quality = [m for m in mt.METRICS if m.section == "quality"]
    for split, block in _block(record.metrics, "eval_sets").items():
        for m in quality:
            value = block.get(m.path[-1]) if isinstance(block, Mapping) else None
            if _number(value):
                out.append(
                    EvalResult(
                        **common, dataset_split=str(split), metric_type=m.key, metric_value=value,
                        metric_name=m.label, metric_config=profile,
                    )
                )
    primary = mt.primary_eval_set(record.metrics)
    for m in mt.METRICS:
        value = mt.value_of(record, m.key)
        if m.section == "quality" or not _number(value):
            continue
        estimated = _estimated(record.metrics, m.key)
        out.append(
            EvalResult(
                **common,
                dataset_split=primary,
                metric_type=m.key,
                metric_value=value,
                metric_name=f"{m.label} ({m.unit}{', estimated' if estimated else ''})",
                metric_config=profile,
                metric_args={
                    "unit": m.unit,
                    "estimated": estimated,
                    "source": str(figure_source(record.metrics, m)),
                    "profile_matched": bool(_block(record.run, "profile_match").get("matched")),
                },
            )
        )
    return out


def _hardware(record: RunRecord) -> str:
    env, profile = _block(record.run, "environment"), _block(record.run, "profile")
    gpus = env.get("gpus") or []
    parts = [str(g.get("name", g)) if isinstance(g, Mapping) else str(g) for g in gpus] if gpus else []
    parts = parts or [f"{env.get('cpu_model', 'CPU')} ({env.get('cpu_cores', '?')} cores)"]
    return f"{', '.join(parts)}; greenbench profile {profile.get('name')}"


def co2_eq_emissions(records: list[RunRecord]) -> dict[str, Any] | None:
    """The Hub's ``co2_eq_emissions`` for the training these runs did, or None when none trained."""
    trained = [r for r in records if _number(mt.value_of(r, "training_co2e_kg"))]
    if not trained:
        return None
    grams = sum(float(mt.value_of(r, "training_co2e_kg")) * 1000.0 for r in trained)
    estimated = [r for r in trained if _estimated(r.metrics, "training_co2e_kg")]
    sources = sorted({str(_block(_block(r.metrics, "training"), "energy").get("energy_source")) for r in trained})
    measurement = (
        f"estimated, not metered ({', '.join(sources)})"
        if len(estimated) == len(trained)
        else f"measured ({', '.join(sources)})"
        if not estimated
        else f"{len(estimated)} of {len(trained)} trainings estimated ({', '.join(sources)})"
    )
    regions = sorted({str(_block(_block(r.metrics, "energy"), "carbon_per_1k").get("region")
                      or _block(r.run, "config").get("region")) for r in trained})
    return {
        "emissions": grams,
        "source": "greenbench",
        "training_type": "fine-tuning",
        "geographical_location": ", ".join(regions),
        "hardware_used": "; ".join(sorted({_hardware(r) for r in trained})),
        "energy": measurement,
        "runs": len(trained),
    }


def card_data(records: list[RunRecord], model_name: str | None = None) -> Any:
    """``ModelCardData`` with the model-index and CO2 metadata of ``records`` (one model's runs)."""
    from huggingface_hub import ModelCardData

    name = model_name or str(_block(records[0].run, "submission").get("name"))
    results = [result for record in records for result in eval_results(record)]
    co2 = co2_eq_emissions(records)
    extra = {"co2_eq_emissions": co2} if co2 is not None else {}
    return ModelCardData(model_name=name, eval_results=results, tags=["greenbench", "green-ai"], **extra)


def card_body(records: list[RunRecord], co2: Mapping[str, Any] | None) -> str:
    lines = ["## greenbench results", "", "Accuracy with its price tag, from these run records:", ""]
    lines += ["| task | profile | record | " + " | ".join(m.label for m in mt.METRICS) + " |"]
    lines += ["|" + "---|" * (3 + len(mt.METRICS))]
    for r in records:
        cells = [mt.format_value(mt.value_of(r, m.key), m, unit=True) for m in mt.METRICS]
        lines.append(
            f"| {_block(r.run, 'task').get('name')} | {_block(r.run, 'profile').get('name')} | "
            f"{str(r.run.get('job_key'))[:12]} | " + " | ".join(cells) + " |"
        )
    lines.append("")
    if any(_estimated(r.metrics, "energy_kwh_per_1k") for r in records):
        lines.append("Energy and CO2e marked *estimated* come from declared power, not a meter.")
    if co2 is None:
        lines.append("No training ran in these records, so `co2_eq_emissions` is left out rather than set to 0.")
    else:
        lines.append(f"`co2_eq_emissions`: {co2['emissions']:.3g} g CO2e over {co2['runs']} training(s), {co2['energy']}.")
    return "\n".join(lines) + "\n"


def render_card(records: list[RunRecord], model_name: str | None = None) -> str:
    """The model card text: YAML metadata (model-index, co2_eq_emissions) and a short body."""
    from huggingface_hub import ModelCard

    data = card_data(records, model_name)
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n{card_body(records, getattr(data, 'co2_eq_emissions', None))}")
    return str(card)


def push_card(
    records: list[RunRecord], model_id: str, update: Callable[..., Any] | None = None
) -> Any:
    """Merge the metadata into ``model_id``'s card on the Hub with ``metadata_update``."""
    from benchmark.hub.net import first_line, require_hub

    if update is None:
        from huggingface_hub import metadata_update

        require_hub(f"update the card of {model_id}")
        update = metadata_update
    data = card_data(records, model_name=model_id.split("/")[-1])
    try:
        return update(model_id, data.to_dict(), overwrite=True, commit_message="greenbench: results and CO2e")
    except UserError:
        raise
    except Exception as exc:  # HTTP errors, auth, a missing repo: one line
        raise UserError(f"could not update the card of {model_id} ({first_line(exc)}): check the id and HF_TOKEN") from None
