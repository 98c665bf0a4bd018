from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from benchmark.cli import main
from leaderboard.build import build_site, markdown_lite
from leaderboard.collect import collect
from leaderboard.synthetic import generate


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("syn") / "records", 1000, seed=1)


def test_builds_every_page_and_download(tmp_path, synthetic):
    report = build_site(tmp_path / "site", [synthetic], methodology="# Method\n\nText.", commit="abc123")
    assert report["runs"] == 1000 and report["boards"] == 6 and not report["problems"] and not report["failed"]
    site = tmp_path / "site"
    for page in ("index.html", "methodology.html", "task-ag_news-cpu.html", "task-winogrande-h200.html"):
        assert (site / page).is_file(), page
    for name in ("static/board.js", "static/style.css", "runs.jsonl", "task-ag_news-cpu.csv", "task-ag_news-cpu.json"):
        assert (site / name).is_file(), name
    assert not (site / "static" / "sort.js").exists()
    task_page = (site / "task-ag_news-cpu.html").read_text()
    assert task_page.count('<svg class="pareto"') == 4  # CO2e at one grid is a rescale of energy: a note instead
    assert "is energy × 370 g/kWh (USA) for every run here" in task_page
    assert "front-pt" in task_page and "dominated" in task_page and 'class="legend"' in task_page
    assert "http://" not in task_page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    assert "est.</span>" in task_page and "⚠" in task_page
    assert "abc123" in task_page and "Built 20" in task_page  # build date and commit in the footer
    assert 'href="task-ag_news-cpu.csv"' in task_page and 'href="runs.jsonl"' in task_page
    assert 'class="skip" href="#runs"' in task_page and '<button type="button" class="sort">' in task_page
    assert len((site / "runs.jsonl").read_text().splitlines()) == 1000
    index = (site / "index.html").read_text()
    assert index.count('class="board-card"') == 6 and "@misc{greenbench" in index
    assert "<h2>Method</h2>" in (site / "methodology.html").read_text()


def test_seed_repeats_are_one_row_and_run_ids_are_distinct(tmp_path, synthetic):
    build_site(tmp_path / "site", [synthetic])
    runs, _ = collect([synthetic])
    assert len({r.run_id for r in runs}) == len(runs)  # the synthetic records no longer share one id
    page = (tmp_path / "site" / "task-ag_news-cpu.html").read_text()
    rows = page.count("<tr id=")
    board = [r for r in runs if (r.task, r.profile) == ("ag_news", "cpu")]
    distinct = {(r.submission, json.dumps(r.params, sort_keys=True)) for r in board}
    assert rows == len(distinct) < len(board)


def test_entry_page_headings_name_operating_point_and_seed(tmp_path, synthetic):
    build_site(tmp_path / "site", [synthetic])
    entry = (tmp_path / "site" / "entry-synthetic-003.html").read_text()
    assert entry.count('<section class="run"') == 25  # 1000 records over 40 entries
    assert "ag_news · profile cpu · width=0 · seed 0" in entry
    assert 'class="sweep"' in entry and "<summary>Full price tag</summary>" in entry
    assert "Accuracy · test (id)" in entry and "Provenance" in entry
    assert "estimated (" in entry or "measured (" in entry


def test_bad_record_is_reported_not_shown(tmp_path):
    root = generate(tmp_path / "r", 3)
    broken = sorted(root.rglob("metrics.json"))[0]
    broken.write_text("{ truncated")
    report = build_site(tmp_path / "site", [root], strict=True)
    assert report["runs"] == 2 and len(report["problems"]) == 1 and "not valid JSON" in report["problems"][0]
    assert report["failed"]
    assert "Records left off the board" in (tmp_path / "site" / "index.html").read_text()


def test_markdown_lite_escapes_first():
    html = markdown_lite("# T\n\n| a | b |\n| --- | --- |\n| `x` | <y> |\n\n- one\n- **two**\n")
    assert "<h2>T</h2>" in html and "<code>x</code>" in html and "&lt;y&gt;" in html and "<strong>two</strong>" in html


def test_parallel_build_matches_serial(tmp_path, synthetic, monkeypatch):
    import leaderboard.build as build

    when = dt.datetime(2026, 11, 30, 1, 27, 59, tzinfo=dt.UTC)  # one build time: a minute may turn between builds
    monkeypatch.setattr(build, "PARALLEL_THRESHOLD", 10**9)
    serial = build_site(tmp_path / "serial", [synthetic], commit="x", built_at=when)
    monkeypatch.setattr(build, "PARALLEL_THRESHOLD", 1)
    parallel = build_site(tmp_path / "parallel", [synthetic], commit="x", built_at=when)
    assert serial["workers"] == 1 and parallel["workers"] == build._workers(10**9)
    pages = sorted(p.name for p in (tmp_path / "serial").glob("*.html"))
    assert pages == sorted(p.name for p in (tmp_path / "parallel").glob("*.html"))
    for name in pages:
        assert (tmp_path / "serial" / name).read_text() == (tmp_path / "parallel" / name).read_text(), name


def test_cli_leaderboard(tmp_path, capsys, synthetic, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no leaderboard/records, docs/ or submissions/ here
    assert main(["leaderboard", "--out", "site", "--records", str(synthetic)]) == 0
    assert "boards" in capsys.readouterr().out
    assert "No methodology text was given" in (tmp_path / "site" / "methodology.html").read_text()
    assert main(["leaderboard", "--out", "site"]) == 2  # no store anywhere: one clear line
    assert "no record store" in capsys.readouterr().err


def test_first_200_rows_then_show_all(tmp_path):
    records = generate(tmp_path / "r", 2400, seed=2)  # 39 entries x 10 widths + the floor per board
    build_site(tmp_path / "site", [records])
    page = (tmp_path / "site" / "task-ag_news-cpu.html").read_text()
    rows = page.count("<tr id=")
    assert rows == 391 and len(re.findall(r"<tr [^>]*hidden>", page)) == rows - 200  # all there, the rest folded
    assert f'<button type="button" id="showall">Show all {rows} rows</button>' in page


def test_a_figure_flagged_unstable_is_marked_in_its_cell(synthetic):
    from leaderboard.points import Point
    from leaderboard.table import headers, row

    runs, _ = collect([synthetic])
    run = next(r for r in runs if "latency_ms_p50" in r.values and "energy_kwh_per_1k" in r.values)
    run.metrics["latency"] = {**run.metrics.get("latency", {}), "unstable": True, "unstable_reason": "<b>CV 0.2</b>"}
    run.metrics["energy"] = {**run.metrics.get("energy", {}), "unstable": False}
    point = Point([run], values=dict(run.values))
    cols = headers([point], has_ood=False)
    cells = row(point, cols, False, 0).split("<td>")[1:]
    by_key = {col.key: cell for col, cell in zip(cols[1:], cells, strict=True)}
    mark = '<span class="unstable" title="&lt;b&gt;CV 0.2&lt;/b&gt;">unstable</span>'
    assert mark in by_key["latency_ms_p50"] and mark in by_key["latency_ms_p99"]
    assert "unstable" not in by_key["energy_kwh_per_1k"] and "unstable" not in by_key["accuracy"]
