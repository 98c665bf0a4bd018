from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmark.cli import main
from leaderboard.build import build_site, markdown_lite, safe_url
from leaderboard.collect import collect, slug
from leaderboard.synthetic import generate

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("syn") / "results", 1000, seed=1)


def test_builds_from_committed_and_1000_generated_records(tmp_path, synthetic):
    report = build_site(tmp_path / "site", [synthetic])
    committed, _ = collect(sorted((REPO / "submissions").glob("*/results")))
    assert report["runs"] == 1000 + len(committed)
    assert report["boards"] == 6 and not report["problems"]
    site = tmp_path / "site"
    for page in (
        "index.html",
        "methodology.html",
        "task-ag_news-cpu.html",
        "task-winogrande-h200.html",
        "static/sort.js",
    ):
        assert (site / page).is_file(), page
    task_page = (site / "task-ag_news-cpu.html").read_text()
    assert task_page.count("<svg") == 5  # FLOPs, latency, energy, CO2e, training energy
    assert "front-pt" in task_page and "dominated" in task_page
    assert "http://" not in task_page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched from the net
    assert "est.</span>" in task_page and "⚠" in task_page
    entry_page = (site / "entry-synthetic-001.html").read_text()
    assert entry_page.count('<section class="run"') == 25  # 1000 records over 40 entries
    assert "Accuracy · test (id)" in entry_page and "Provenance" in entry_page and "estimated (" in entry_page


def test_front_in_chart_matches_pareto_function(tmp_path, synthetic):
    from leaderboard.pareto import pareto_front

    build_site(tmp_path / "site", [synthetic], committed=False)  # no committed records: synthetic only
    runs, _ = collect([synthetic])
    board = [r for r in runs if (r.task, r.profile) == ("winogrande", "cpu")]
    points = [(r.values["inference_flops_per_instance"], r.values["accuracy"]) for r in board]
    expected = len(pareto_front(points, (False, True)))
    first_svg = (tmp_path / "site" / "task-winogrande-cpu.html").read_text().split("</svg>")[0]
    assert first_svg.count('class="pt front-pt"') == expected


def hostile_record(root: Path) -> Path:
    generate(root, 1, seed=2)
    run_json = next(root.rglob("run.json"))
    run = json.loads(run_json.read_text())
    run["submission"].update(
        name="<script>alert(1)</script>",
        description='<img src=x onerror="alert(2)">',
        url="javascript:alert(3)",
        paper="https://example.org/paper?a=1&b=2",
    )
    run_json.write_text(json.dumps(run))
    metrics_json = run_json.parent / "metrics.json"
    metrics = json.loads(metrics_json.read_text())
    metrics["diagnostics"] = {"exit_layer_histogram": {"1": 5, "<script>": 2, "6": "x"}, "threshold": 0.9}
    metrics_json.write_text(json.dumps(metrics))
    return root


def test_submission_text_is_data_never_markup(tmp_path):
    root = hostile_record(tmp_path / "hostile")
    build_site(tmp_path / "site", [root], committed=False)
    pages = {p.name: p.read_text() for p in (tmp_path / "site").glob("*.html")}
    everything = "".join(pages.values())
    assert "<script>alert(1)</script>" not in everything
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in everything
    assert 'onerror="alert(2)"' not in everything
    assert 'href="javascript:' not in everything
    assert 'href="https://example.org/paper?a=1&amp;b=2"' in everything
    assert all(re.fullmatch(r"[a-z0-9._-]+\.html", name) for name in pages)
    entry = next(text for name, text in pages.items() if name.startswith("entry-"))
    assert 'class="hist"' in entry and "Exit layer (threshold 0.9)" in entry  # the entry's own figure
    assert "&lt;script&gt;" in entry


def test_bad_record_is_reported_not_shown(tmp_path):
    root = generate(tmp_path / "r", 3)
    broken = sorted(root.rglob("metrics.json"))[0]
    broken.write_text("{ truncated")
    report = build_site(tmp_path / "site", [root], committed=False)
    assert report["runs"] == 2 and len(report["problems"]) == 1 and "not valid JSON" in report["problems"][0]
    assert "Records left off the board" in (tmp_path / "site" / "index.html").read_text()


def test_helpers():
    assert slug("../../etc/passwd") == "etc-passwd"
    assert safe_url("https://a.org/x") == "https://a.org/x"
    assert safe_url("javascript:alert(1)") is None and safe_url("data:text/html,hi") is None
    html = markdown_lite("# T\n\n| a | b |\n| --- | --- |\n| `x` | <y> |\n\n- one\n- **two**\n")
    assert "<h2>T</h2>" in html and "<code>x</code>" in html and "&lt;y&gt;" in html and "<strong>two</strong>" in html


def test_parallel_build_matches_serial(tmp_path, synthetic, monkeypatch):
    import leaderboard.build as build

    monkeypatch.setattr(build, "PARALLEL_THRESHOLD", 10**9)
    serial = build_site(tmp_path / "serial", [synthetic], committed=False)
    monkeypatch.setattr(build, "PARALLEL_THRESHOLD", 1)
    parallel = build_site(tmp_path / "parallel", [synthetic], committed=False)
    assert serial["workers"] == 1 and parallel["workers"] == build._workers(10**9)
    pages = sorted(p.name for p in (tmp_path / "serial").glob("*.html"))
    assert pages == sorted(p.name for p in (tmp_path / "parallel").glob("*.html"))
    for name in pages:
        assert (tmp_path / "serial" / name).read_text() == (tmp_path / "parallel" / name).read_text(), name


def test_cli_leaderboard(tmp_path, capsys, synthetic):
    assert main(["leaderboard", "--out", str(tmp_path / "site"), "--results", str(synthetic)]) == 0
    assert "boards" in capsys.readouterr().out


def test_operating_points_are_named(tmp_path):
    root = generate(tmp_path / "r", 12, seed=3, entries=1)  # one entry, several runs per board
    for k, run_json in enumerate(sorted(root.rglob("run.json"))):
        run = json.loads(run_json.read_text())
        run["submission"]["params"] = {"threshold": round(0.1 * k, 1), "epochs": 2}
        run_json.write_text(json.dumps(run))
    build_site(tmp_path / "site", [root], committed=False)
    page = (tmp_path / "site" / "task-ag_news-cpu.html").read_text()
    assert 'class="op">threshold=' in page and "epochs=" not in page  # only the param that varies
