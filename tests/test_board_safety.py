"""The board renders any record inert: a catalogue of injected and malformed records, each named by
what it fakes. Every one either shows up escaped or is left off with one warning line naming it;
the board always builds. ``build_injected`` is shared with the Chromium test."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from benchmark.cli import main
from leaderboard.build import build_site
from leaderboard.figures import figure_problem, svg_problem
from leaderboard.safe import CSP, csv_cell, fmt, safe_url, slug
from leaderboard.synthetic import generate

SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=2">'
PAYLOAD = SCRIPT + IMG
Doc = dict[str, Any]


def _set(doc: Doc, path: str, value: Any) -> None:
    *parents, last = path.split("/")
    for key in parents:
        doc = doc[key]
    doc[last] = value


def run_field(path: str, value: Any = PAYLOAD) -> Callable[[Doc, Doc], None]:
    return lambda run, metrics: _set(run, path, value)


def metrics_field(path: str, value: Any = PAYLOAD) -> Callable[[Doc, Doc], None]:
    return lambda run, metrics: _set(metrics, path, value)


def _rename_eval_set(run: Doc, metrics: Doc) -> None:
    metrics["eval_sets"] = {PAYLOAD: metrics["eval_sets"]["test"]}
    run["config"]["n_eval"] = {PAYLOAD: 100}


# Text a valid record may carry: each must render escaped (the schema lets these through).
SHOWN_TEXT: dict[str, Callable[[Doc, Doc], None]] = {
    "xss-description": run_field("submission/description"),
    "xss-authors": run_field("submission/authors", [PAYLOAD]),
    "xss-licence": run_field("submission/licence", SCRIPT[:60]),
    "xss-version": run_field("submission/version", "<b>v</b><i>1</i>"),
    "xss-paper-javascript-url": run_field("submission/paper", "javascript:window.__xss=3"),
    "xss-url-quote-break": run_field("submission/url", 'https://a.org/"onmouseover="window.__xss=4'),
    "xss-params-key-and-value": run_field("submission/params", {PAYLOAD: PAYLOAD, "width": 1}),
    "xss-task-name": run_field("task/name", SCRIPT[:60]),
    "xss-profile-name": run_field("profile/name", IMG),
    "xss-mismatch-reasons": lambda run, metrics: run["profile_match"].update(matched=False, reasons=[PAYLOAD]),
    "xss-environment": lambda run, metrics: run["environment"].update(cpu_model=PAYLOAD, os=PAYLOAD, python=IMG),
    "xss-git-commit": run_field("environment/harness_git/commit", PAYLOAD),
    "xss-sandbox": run_field("sandbox", PAYLOAD),
    "xss-finished-at": run_field("finished_at", PAYLOAD),
    "xss-eval-set-name": _rename_eval_set,
    "xss-energy-source": metrics_field("energy/energy_source", PAYLOAD[:190]),
    "xss-region": lambda run, metrics: _set(metrics, "energy/carbon_per_1k/region", SCRIPT[:60]),
    "xss-intensity-source": metrics_field("energy/carbon_per_1k/intensity_source"),
    "xss-reference-region-key": lambda run, metrics: metrics["energy"]["carbon_per_1k"].update(
        reference_regions={PAYLOAD: {"intensity_g_per_kwh": 1.0, "co2e_kg": 0.1}}
    ),
    "xss-flops-method": metrics_field("flops/method"),
    "xss-diagnostics-histogram": metrics_field(
        "diagnostics", {"exit_layer_histogram": {PAYLOAD: 3, "2": "<svg onload=x>"}, "threshold": PAYLOAD}
    ),
}
# Records that lie about their figures' types or ranges: left off with one warning each.
MALFORMED: dict[str, Callable[[Doc, Doc], None]] = {
    "f1-positive-is-markup": metrics_field("eval_sets/test/f1_positive", IMG),
    "accuracy-ci-low-is-text": metrics_field("eval_sets/test/accuracy_ci95_low", "0.1"),
    "accuracy-nan": metrics_field("eval_sets/test/accuracy", float("nan")),
    "accuracy-above-one": metrics_field("eval_sets/test/accuracy", 7.0),
    "flops-many": metrics_field("flops/inference_flops_per_instance_mean", "many"),
    "flops-negative": metrics_field("flops/inference_flops_per_instance_mean", -1e12),
    "energy-infinite": metrics_field("energy/energy_kwh_per_1k", float("inf")),
    "latency-is-bool": metrics_field("latency/latency_ms_p50", True),
    "eval-sets-is-list": metrics_field("eval_sets", [1, 2]),
    "energy-is-string": metrics_field("energy", PAYLOAD),
    "submission-is-string": run_field("submission", PAYLOAD),
    "params-is-list": run_field("submission/params", [PAYLOAD]),
    "schema-version-unknown": run_field("schema_version", 99),
    "name-is-markup": run_field("submission/name", SCRIPT),
}


def _write(folder: Path, run: Doc, metrics: Doc) -> None:
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(run))  # json.dumps writes NaN/Infinity as a hostile writer would
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "predictions.jsonl").write_text("")


def _figures(root: Path, target: Path) -> None:
    """Entry figures: two good ones and every trick a figures folder can play."""
    folder = root / "majority-class" / "figures"
    folder.mkdir(parents=True)
    (folder / "good.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4"/></svg>')
    (folder / "good.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    (folder / "script.svg").write_text(f'<svg xmlns="http://www.w3.org/2000/svg">{SCRIPT}</svg>')
    (folder / "onload.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" onload="window.__xss=5"/>')
    (folder / "foreign.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div>x</div></foreignObject></svg>'
    )
    (folder / "entity.svg").write_text('<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>')
    (folder / "fake.png").write_text("<html><script>window.__xss=6</script></html>")
    (folder / "page.html").write_text(SCRIPT)
    (folder / "passwd.png").symlink_to(target)
    (root / "synthetic-001").mkdir()
    (root / "synthetic-001" / "figures").symlink_to(target.parent, target_is_directory=True)


def build_injected(tmp: Path) -> tuple[Path, dict[str, Any], list[str]]:
    """(site, build report, names of the malformed records) for the whole catalogue."""
    records = generate(tmp / "records", 24, seed=7, entries=4)
    base = sorted(records.rglob("run.json"))[1].parent  # a synthetic-* entry, not the floor
    run0 = json.loads((base / "run.json").read_text())
    metrics0 = json.loads((base / "metrics.json").read_text())
    for name, mutate in {**SHOWN_TEXT, **MALFORMED}.items():
        run, metrics = json.loads(json.dumps(run0)), json.loads(json.dumps(metrics0))
        run["job_key"] = hashlib.sha256(name.encode()).hexdigest()
        mutate(run, metrics)
        _write(records / "injected" / name, run, metrics)
    secret = tmp / "secret" / "labels.txt"
    secret.parent.mkdir()
    secret.write_text("TEST-LABELS-SECRET")
    _figures(tmp / "submissions", secret)
    site = tmp / "site"
    report = build_site(site, [records], methodology=f"# Method\n\n{PAYLOAD}", figure_roots=[tmp / "submissions"])
    return site, report, list(MALFORMED)


@pytest.fixture(scope="module")
def injected(tmp_path_factory) -> tuple[Path, dict[str, Any], list[str]]:
    return build_injected(tmp_path_factory.mktemp("inj"))


def _site_text(site: Path) -> dict[str, str]:
    return {
        str(p.relative_to(site)): p.read_text(errors="replace")
        for p in site.rglob("*")
        if p.is_file() and p.suffix in (".html", ".csv", ".json", ".jsonl", ".svg")
    }


def test_catalogue_is_large_enough():
    assert len(SHOWN_TEXT) + len(MALFORMED) >= 30


def test_board_builds_and_every_malformed_record_is_one_named_warning(injected):
    site, report, malformed = injected
    assert (site / "index.html").is_file() and report["boards"] >= 1
    for name in malformed:
        lines = [p for p in report["problems"] if re.search(f"injected/{name}[/:]", p)]
        assert len(lines) == 1, (name, lines)
    shown = [
        p for p in report["problems"] if "injected/" in p and re.split("[/:]", p.split("injected/")[1])[0] in SHOWN_TEXT
    ]
    # Text fields pass the schema, so they must reach the board (escaped), not be dropped.
    assert len(shown) <= 4, shown


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.tags


def test_no_injected_markup_survives_in_any_page(injected):
    site, _, _ = injected
    pages = {k: v for k, v in _site_text(site).items() if k.endswith(".html")}
    assert "window.__xss" in "".join(pages.values())  # the payloads are shown, as text
    for name, text in pages.items():
        tags = elements(text)
        scripts = [attrs for tag, attrs in tags if tag == "script"]
        assert scripts == [{"src": "static/board.js"}], name
        assert not [t for t in tags if t[0] in ("iframe", "object", "embed", "base", "form", "foreignobject")], name
        for tag, attrs in tags:
            assert not [a for a in attrs if a.startswith("on") or a == "style"], (name, tag, attrs)
            for key in ("href", "src", "data-href"):
                value = (attrs.get(key) or "").strip().lower()
                assert not value.startswith(("javascript:", "data:", "//")), (name, tag, attrs)
        metas = [a for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
        assert metas == [{"http-equiv": "Content-Security-Policy", "content": CSP}], name
        assert "script-src 'self'" in CSP and "'unsafe-inline'" not in CSP and "http" not in CSP
    assert all(re.fullmatch(r"[a-z0-9._-]+\.html", name) for name in pages)


def test_figures_only_inert_regular_files_are_published(injected):
    site, report, _ = injected
    published = sorted(p.name for p in (site / "figures").rglob("*") if p.is_file())
    assert published == ["good.png", "good.svg"]
    everything = "".join(_site_text(site).values())
    assert "TEST-LABELS-SECRET" not in everything
    for bad in ("script.svg", "onload.svg", "foreign.svg", "entity.svg", "fake.png", "page.html", "passwd.png"):
        assert any(bad in p and "not published" in p for p in report["problems"]), bad
    assert any("figures folder is a symlink" in p for p in report["problems"])
    entry = (site / "entry-majority-class.html").read_text()
    assert '<img src="figures/majority-class/good.svg"' in entry  # SVG only ever through <img>
    assert "<object" not in entry and "<embed" not in entry and "<iframe" not in entry


def test_downloads_parse_and_csv_cells_cannot_be_formulas(injected):
    site, _, _ = injected
    for path in site.glob("task-*.json"):
        assert json.loads(path.read_text())["points"]
    lines = (site / "runs.jsonl").read_text().splitlines()
    assert lines and all(json.loads(line)["run_id"] for line in lines)
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_cell("@x") == "'@x" and csv_cell(0.5) == "0.5"


def test_strict_turns_skips_into_exit_1(tmp_path, capsys):
    records = generate(tmp_path / "r", 6, entries=2)
    ok = ["leaderboard", "--out", str(tmp_path / "s"), "--records", str(records), "--strict"]
    assert main(ok) == 0
    (sorted(records.rglob("metrics.json"))[0]).write_text('{"schema_version": 3, "eval_sets": "x"')
    assert main(ok) == 1
    err = capsys.readouterr().err
    assert err.count("record left off the board") == 1 and "--strict" in err
    assert main(["leaderboard", "--out", str(tmp_path / "s"), "--records", str(records)]) == 0


def test_one_formatter():
    assert fmt(None) == "–" and fmt(0.5, 100) == "50" and fmt(1234567.0) == "1.23e+06"
    assert fmt(PAYLOAD) == PAYLOAD.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&quot;"
    ).replace("'", "&#x27;")
    assert fmt(float("nan")) == "nan" and fmt(True) == "True"  # never a number, always escaped text
    assert slug("../../etc/passwd") == "etc-passwd" and safe_url("javascript:alert(1)") is None
    assert safe_url("https://a.org/x") == "https://a.org/x" and safe_url('https://a.org/"x') is None


def test_svg_checks():
    assert svg_problem(b'<svg xmlns="http://www.w3.org/2000/svg"><a href="#x"/></svg>') is None
    assert svg_problem(b'<svg xmlns="http://www.w3.org/2000/svg"><use href="https://e.org/x.svg#a"/></svg>')
    assert svg_problem(b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(http://e.org)"/></svg>')
    assert svg_problem(b"<html/>") == "is not an SVG document"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_figure_problem_on_a_symlink(tmp_path):
    target = tmp_path / "t.png"
    target.write_bytes(b"\x89PNG\r\n\x1a\n")
    link = tmp_path / "l.png"
    link.symlink_to(target)
    assert figure_problem(link) == "is a symlink" and figure_problem(target) is None
    shutil.rmtree(tmp_path)


class _Record:
    """A record as read_run returns it, for the board's own checks behind the schema's."""

    def __init__(self, run: Doc, metrics: Doc) -> None:
        self.path, self.run, self.metrics, self.status = Path("/nowhere/run"), run, metrics, "complete"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("eval_sets/test/f1_positive", IMG),
        ("eval_sets/test/accuracy_ci95_low", "0.1"),
        ("eval_sets/test/accuracy", float("nan")),
        ("flops/inference_flops_per_instance_mean", -1.0),
        ("energy/energy_kwh_per_1k", True),
        ("energy/carbon_per_1k", [PAYLOAD]),
        ("training/training_energy_kwh", {"x": 1}),
    ],
)
def test_board_checks_figures_even_when_the_schema_lets_them_through(tmp_path, path, value):
    from benchmark.errors import RecordError
    from leaderboard.collect import to_board_run

    records = generate(tmp_path / "r", 2, entries=2)
    folder = sorted(records.rglob("run.json"))[1].parent
    run, metrics = (json.loads((folder / f).read_text()) for f in ("run.json", "metrics.json"))
    assert to_board_run(_Record(run, metrics)).values["accuracy"] > 0
    _set(metrics, path, value)
    with pytest.raises(RecordError, match=path.split("/")[-1]):
        to_board_run(_Record(run, metrics))
