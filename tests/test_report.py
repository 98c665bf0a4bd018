"""The price tag (`show`), its HTML twin and `compare`: one basis per section, units on every line,
warnings under flagged figures, failures with their cause, and hostile records rendered inert."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from benchmark.compare import compare_table
from benchmark.record import RunRecord
from benchmark.report import headline, price_tag, price_tag_html, price_tag_rows, render_text

RUN: dict[str, Any] = {
    "status": "complete",
    "task": {"name": "hyperpartisan"},
    "submission": {"name": "minilm-finetune", "version": "1.0", "params": {"epochs": 2}},
    "profile": {"name": "cpu"},
    "profile_match": {"matched": True, "reasons": []},
}
METRICS: dict[str, Any] = {
    "eval_sets": {
        "test": {
            "role": "id",
            "n": 128,
            "accuracy": 0.765625,
            "accuracy_ci95_low": 0.6953,
            "accuracy_ci95_high": 0.8359,
            "f1_positive": 0.634,
        },
    },
    "flops": {"inference_flops_per_instance_mean": 11459608368.0, "n_counted": 64, "n_eval": 128},
    "latency": {
        "latency_ms_p50": 151.88,
        "latency_ms_p90": 176.69,
        "latency_ms_p99": 543.6,
        "latency_cv": 1.27,
        "latency_median_cv": 0.0484,
        "n_samples": 100,
        "repeats": 2,
        "cv_target_met": True,
    },
    "throughput": {"throughput_instances_per_s": 7.2125, "batch_size": 32},
    "energy": {
        "energy_kwh_per_1k": 5.495e-4,
        "energy_kwh_total_per_1k": 6.665e-4,
        "energy_kwh_active": 5.275e-5,
        "energy_kwh_total": 6.398e-5,
        "n_instances": 96,
        "measured": False,
        "energy_source": "estimate:declared-power",
        "components_j_active": {"cpu": 189.907, "dram": 0.0},
        "carbon_per_1k": {
            "co2e_kg": 2.03e-4,
            "region": "USA",
            "intensity_g_per_kwh": 369.473,
            "pue": 1.0,
            "intensity_source": "codecarbon",
            "reference_regions": {"FRA": {"co2e_kg": 3.08e-5, "intensity_g_per_kwh": 56.0}},
        },
    },
    "training": {
        "training_flops": 35956394191872,
        "training_energy_kwh": 0.004146,
        "training_co2e_kg": 0.001532,
        "n_train": 451,
        "wall_s": 1211.69,
        "energy": {"measured": False, "energy_source": "estimate"},
    },
}


def record(run: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None, name: str = "r") -> RunRecord:
    return RunRecord(Path("runs") / name, copy.deepcopy(run or RUN), copy.deepcopy(metrics or METRICS), [])


def section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    out = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        out.append(line)
    return out


def test_each_section_has_one_basis_and_every_figure_its_unit():
    text = price_tag(record())
    energy = section(text, "Inference energy and CO2e (per 1k instances)")
    assert any(re.search(r"of which cpu\s+0\.549 Wh", line) for line in energy)  # joules converted to the basis
    assert not any(re.search(r"\d (J|kWh)\b", line) for line in energy)
    figures = [line for line in text.splitlines() if line.startswith("  ") and not line.strip().startswith("!")]
    units = ("%", "GFLOP", "ms", "inst/s", "Wh", "g", "TFLOP", "s")
    for line in figures:
        assert re.search(r"\d (" + "|".join(re.escape(u) for u in units) + r")(\s|$)", line), line
    assert "36 TFLOP" in text and not re.search(r"\d{8,}", text)  # no 14-digit training FLOPs
    assert "76.6 %" in text and "95% CI 69.5–83.6 %" in text


def test_a_warning_line_sits_under_each_flagged_figure():
    metrics = copy.deepcopy(METRICS)
    metrics["latency"].update(cv_target_met=False, latency_median_cv=0.31, repeats=5)
    metrics["energy"].update(energy_kwh_active=1.9e-6, energy_kwh_total=1e-4, unstable=["idle baseline drifted 8%"])
    lines = price_tag(record(metrics=metrics)).splitlines()
    p50 = next(i for i, line in enumerate(lines) if "Latency p50" in line)
    assert "latency spread missed its target: CV of medians 0.31 after 5 repeats" in lines[p50 + 1]
    assert sum("missed its target" in line for line in lines) == 1  # once, under the first latency figure
    active = next(i for i, line in enumerate(lines) if "energy, active" in line)
    below = lines[active + 1 : active + 3]
    assert any("active energy is 1.9% of total" in line for line in below)
    assert any("unstable: idle baseline drifted 8%" in line for line in below)
    assert all(line.lstrip().startswith("!") for line in below)


def test_a_clean_record_has_no_warnings():
    assert "!" not in price_tag(record())


def test_failed_run_shows_kind_reason_and_the_childs_last_lines():
    tail = "\n".join(f"line {i}" for i in range(30)) + "\nRuntimeError: CUDA out of memory\x1b[31m"
    run = {
        **RUN,
        "status": "failed",
        "failure": {
            "kind": "crash",
            "reason": "the child exited with code 1 mid-request; its last stderr lines:\nline 29",
            "stderr_tail": tail,
        },
    }
    text = price_tag(RunRecord(Path("r"), run, {}, []))
    assert re.search(r"kind\s+crash", text) and re.search(
        r"reason\s+the child exited with code 1 mid-request; its last stderr lines\n", text
    )
    assert "RuntimeError: CUDA out of memory" in text and "line 29" in text and "line 5\n" not in text
    assert "\x1b" not in text  # terminal escapes from the child are not replayed


HOSTILE = '<img src=x onerror="alert(1)">'


def hostile_record() -> RunRecord:
    metrics = copy.deepcopy(METRICS)
    metrics["eval_sets"][HOSTILE] = {
        "role": HOSTILE,
        "n": HOSTILE,
        "accuracy": HOSTILE,
        "f1_positive": HOSTILE,
        "accuracy_ci95_low": HOSTILE,
    }
    metrics["energy"]["energy_source"] = HOSTILE
    metrics["energy"]["carbon_per_1k"]["region"] = HOSTILE
    metrics["energy"]["components_j_active"][HOSTILE] = HOSTILE
    metrics["energy"]["unstable"] = {"energy_kwh_per_1k": HOSTILE}
    metrics["flops"]["inference_flops_per_instance_mean"] = -1e12
    metrics["latency"]["latency_ms_p50"] = "many"
    run = {**RUN, "submission": {"name": HOSTILE, "version": HOSTILE}}
    return RunRecord(Path("r"), run, metrics, [])


def test_html_renders_the_same_rows_and_nothing_from_the_record_is_markup():
    rec = hostile_record()
    html = price_tag_html(rec)
    assert "<img" not in html and 'onerror="' not in html and "&lt;img" in html
    assert html.count("<tr>") == len(price_tag_rows(rec))  # one <tr> per row, warnings apart
    assert "invalid (negative)" in html and "invalid (not a number)" in html  # numbers never echoed raw
    text = price_tag(rec)  # the terminal side survives the same record
    assert "invalid (negative)" in text and "invalid (not a number)" in text  # names are plain text in a terminal


@pytest.mark.parametrize(
    "metrics",
    [
        {"eval_sets": "junk"},
        {"eval_sets": {"t": "junk"}, "flops": [], "latency": 3, "energy": {"carbon_per_1k": "x"}},
        {"eval_sets": {}, "energy": {"components_j_active": ["a"], "carbon_per_1k": {"reference_regions": [1]}}},
        {"eval_sets": {}, "training": {"energy": "x", "training_flops": None}},
    ],
)
def test_malformed_blocks_render_without_an_error(metrics):
    assert price_tag(record(metrics=metrics))
    assert price_tag_html(record(metrics=metrics)).startswith("<table")
    assert compare_table([record(metrics=metrics), record()])


def test_headline_is_the_metric_tables_values():
    values = headline(METRICS)
    assert values["accuracy"] == 0.765625 and values["co2e_kg_per_1k"] == 2.03e-4 and "macro_f1" not in values


def test_compare_lines_up_sections_units_and_warnings():
    other_metrics = copy.deepcopy(METRICS)
    other_metrics["latency"]["cv_target_met"] = False
    other = record(run={**RUN, "submission": {**RUN["submission"], "params": {"epochs": 3}}}, metrics=other_metrics)
    failed = RunRecord(
        Path("f"), {**RUN, "status": "failed", "failure": {"kind": "timeout", "reason": "over 60 s"}}, {}, []
    )
    text = compare_table([record(), other, failed])
    lines = text.splitlines()
    assert any(line.startswith("params that differ") and "epochs=2" in line and "epochs=3" in line for line in lines)
    assert any(
        re.match(r"\s+Energy / 1k instances \[Wh, lower is better\]\s+0\.549\s+0\.549\s+—", line) for line in lines
    )
    assert any(re.match(r"\s+Training FLOPs \[TFLOP, lower is better\]\s+36\s+36", line) for line in lines)
    p50 = next(i for i, line in enumerate(lines) if "Latency p50" in line)
    # three columns of one entry version are numbered, so each warning names the run it concerns
    assert lines[p50 + 1].strip().startswith("! minilm-finetune 1.0 #2: latency spread missed its target")
    assert "minilm-finetune 1.0 #3 failed (timeout): over 60 s" in text
    assert "Inference energy and CO2e (per 1k instances)" in text


def test_render_text_of_no_rows_is_empty():
    assert render_text([]) == ""


def test_compare_puts_a_missing_figures_reason_under_its_row():
    numpy = copy.deepcopy(METRICS)
    numpy["flops"] = {"counted_by": "not-counted", "inference_flops_per_instance_mean": None,
                      "null_reasons": {"inference_flops_per_instance_mean": "nothing ran in PyTorch"}}  # fmt: skip
    other = record(run={**RUN, "submission": {"name": "numpy-entry", "version": "2"}}, metrics=numpy)
    lines = compare_table([record(), other]).splitlines()
    row = next(i for i, line in enumerate(lines) if "Inference FLOPs" in line)
    assert re.search(r"11\.5\s+n/a$", lines[row])  # the cell stays narrow
    assert lines[row + 1].strip() == "! numpy-entry 2: Inference FLOPs / instance not available: nothing ran in PyTorch"
