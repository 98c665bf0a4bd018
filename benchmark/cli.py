"""The ``greenbench`` command: argument parsing only; the work is in the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from benchmark.errors import UserError


def _job(args: argparse.Namespace, **overrides: Any) -> tuple[Any, Any]:
    """The job request and run options, from the fields that declare them (each option once)."""
    from benchmark import progress
    from benchmark.spec import JobRequest, RunOptions, from_args

    options = from_args(RunOptions, args)
    progress.set_quiet(options.quiet)
    return from_args(JobRequest, args, **overrides), options


def _cmd_run(args: argparse.Namespace) -> int:
    from benchmark.runner import run_job

    request, options = _job(args)
    result = run_job(request, options)
    if result.run_dir is not None:
        print(result.run_dir)
    return 0 if result.status in ("complete", "skipped") else 1


def _cmd_sweep(args: argparse.Namespace) -> int:
    from benchmark.spec import RunOptions, from_args
    from benchmark.sweep_run import executor_for, list_jobs, load_jobs, run_sweep, summary_table

    jobs, options = load_jobs(Path(args.sweep_file), from_args(RunOptions, args), args.out is not None)
    if args.list:
        rows = list_jobs(jobs, options)
        for job, key, state in rows:
            print(f"{state:10s} {key:12s} {job}")
        done = sum(1 for r in rows if r[2] == "complete")
        print(f"{len(rows)} jobs: {done} complete, {len(rows) - done} to run (store {options.out})")
        return 0
    outcomes = run_sweep(jobs, options, executor_for(args.executor, args.ray_address))
    print(summary_table(outcomes))
    return 1 if any(o.status in ("failed", "invalid") for o in outcomes) else 0


def _cmd_tasks(args: argparse.Namespace) -> int:
    from tasks import REGISTRY

    for name, task in REGISTRY.items():
        configs = (
            f" train configs: {', '.join(task.train_configs)} (default {task.default_train_config})"
            if task.train_configs
            else ""
        )
        print(f"{name:14s} {task.info.kind:16s} labels: {', '.join(task.info.label_names)}{configs}")
    return 0


def _cmd_profiles(args: argparse.Namespace) -> int:
    from benchmark.profiles import available_profiles, load_profile

    for name in available_profiles():
        p = load_profile(name)
        print(
            f"{name:10s} {p.device:5s} {p.precision:9s} batch {p.batch_size:<4d} region {p.region:6s} {p.description}"
        )
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from benchmark.record import read_run
    from benchmark.report import price_tag

    record = read_run(Path(args.run_dir), with_predictions=False)
    print(price_tag(record))
    if args.intensity_file:
        print(_hourly_carbon(record, Path(args.intensity_file)))
    return 0


def _hourly_carbon(record: Any, path: Path) -> str:
    """CO2e of the record's energy over the hours it ran, from an hourly intensity file."""
    from datetime import datetime

    from benchmark import intensity

    series = intensity.load(path)
    try:
        start, end = (datetime.fromisoformat(record.run[k]) for k in ("started_at", "finished_at"))
    except (KeyError, TypeError, ValueError):
        raise UserError(f"{record.path}: the record has no started_at/finished_at to place it in time") from None
    metrics = dict(record.metrics)
    intensity.reprice(metrics, series, start, end, float(record.run.get("profile", {}).get("pue", 1.0)))
    lines = [f"CO2e over the run's hours ({series.region}, hourly, source: {series.source}, file {series.file}):"]
    for label, block in (
        ("per 1k instances", (metrics.get("energy") or {}).get("carbon_per_1k_hourly")),
        ("training", (metrics.get("training") or {}).get("training_carbon_hourly")),
    ):
        if block is None:
            continue
        if block["reason"]:
            lines.append(f"  {label}: - ({block['reason']})")
        else:
            lines.append(
                f"  {label}: {block['co2e_kg_average']:.3g} kg at the average {block['average_g_per_kwh']:.0f} g/kWh, "
                f"{block['co2e_kg_marginal']:.3g} kg at the marginal {block['marginal_g_per_kwh']:.0f} g/kWh "
                f"({block['hours']} hour(s))"
            )
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse prints the whole usage block on a bad argument; one line says more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _cmd_validate(args: argparse.Namespace) -> int:
    from benchmark.validate import verdict_paths

    report = verdict_paths([Path(p) for p in args.paths], args.data_dir)
    bad = signed = 0
    for run_dir, result in report.items():
        problems = list(result.problems)
        if args.strict and result.trust != "signed" and not problems:
            problems.append("self-reported (no signature by a trusted key) and --strict asks for signed records")
        if problems:
            bad += 1
            for problem in problems:
                print(f"FAIL {run_dir}: {problem}")
        else:
            signed += result.trust == "signed"
            print(f"ok   {run_dir} ({'; '.join([result.trust, *result.notes])})")
    print(f"{len(report) - bad} of {len(report)} records valid ({signed} signed)")
    return 1 if bad else 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from benchmark import audit

    paths = [Path(p) for p in args.records]
    data_dir = Path(args.data_dir) if args.data_dir else None
    rows = audit.audit(paths, args.sample, args.seed, audit.default_rerun(data_dir))
    print(audit.table(rows))
    bad = sum(not r.ok for r in rows)
    print(f"{len(rows) - bad} of {len(rows)} audited records reproduced")
    return 1 if bad else 0


def _read_for_gate(path: str) -> Any:
    from benchmark.record import read_run

    return read_run(Path(path))


def _cmd_check(args: argparse.Namespace) -> int:
    import json

    from benchmark.gate import format_gate, gate
    from benchmark.validate import task_labels
    from tasks.base import resolve_data_dir

    if _check_mode(args) == "paired":
        from benchmark.paired import PairedSettings, format_paired, run_paired_check

        if not args.task:
            raise UserError("paired mode needs --task (the task both submissions are measured on)")
        settings = PairedSettings(rounds=args.rounds, allowance_pct=args.max_cost_increase)
        report = run_paired_check(
            Path(args.baseline), Path(args.candidate), args.task, args.profile, args.data_dir, args.limit,
            args.train_limit, args.seed, settings, args.max_accuracy_drop,
        )  # fmt: skip
        print(json.dumps(report, indent=2) if args.json else format_paired(report))
        return 0 if report["verdict"] == "pass" else 1
    baseline, candidate = _read_for_gate(args.baseline), _read_for_gate(args.candidate)
    labels = task_labels(baseline, resolve_data_dir(args.data_dir))
    report = gate(baseline, candidate, labels, args.max_accuracy_drop, args.max_cost_increase, args.bands)
    print(json.dumps(report, indent=2) if args.json else format_gate(report))
    return 0 if report["verdict"] == "pass" else 1


def _check_mode(args: argparse.Namespace) -> str:
    """Submission folders (submission.yaml) are compared paired; run records (run.json) record vs record."""
    if args.mode != "auto":
        return str(args.mode)
    kinds = {(Path(p) / "submission.yaml").is_file() for p in (args.baseline, args.candidate)}
    if kinds == {True}:
        return "paired"
    if kinds == {True, False}:
        raise UserError("--baseline and --candidate must both be run records or both submission folders")
    return "records"


def _cmd_compare(args: argparse.Namespace) -> int:
    from benchmark.compare import compare_table
    from benchmark.record import read_run

    print(compare_table([read_run(Path(p), with_predictions=False) for p in args.runs]))
    return 0


def _cmd_new_submission(args: argparse.Namespace) -> int:
    from benchmark.submit import scaffold

    folder = scaffold(args.name, Path(args.root))
    print(f"created {folder}: fill in submission.yaml and predictor.py, then `greenbench submit {folder} --task ...`")
    return 0


def _cmd_submit(args: argparse.Namespace) -> int:
    from benchmark.submit import next_steps, submit

    request, options = _job(args, submission=Path(args.dir))
    run_dir = submit(request, options)
    print(next_steps(run_dir, request.submission))
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from leaderboard.build import build_site

    roots = [Path(p) for p in [*args.records, *args.results]]
    if not args.records and Path("leaderboard/records").is_dir():
        roots.insert(0, Path("leaderboard/records"))
    if not roots:
        raise UserError("no record store: pass --records DIR (a folder of run records, e.g. leaderboard/records)")
    methodology = Path(args.methodology) if args.methodology else Path("docs/methodology.md")
    if args.methodology and not methodology.is_file():
        raise UserError(f"--methodology {methodology}: no such file")
    figures = [Path(p) for p in args.figures] or ([Path("submissions")] if Path("submissions").is_dir() else [])
    report = build_site(
        Path(args.out),
        roots,
        methodology=methodology.read_text(encoding="utf-8") if methodology.is_file() else None,
        strict=args.strict,
        figure_roots=figures,
        commit=_git_commit(),
    )
    for problem in report["problems"]:
        print(f"greenbench: warning: record left off the board: {problem}", file=sys.stderr)
    print(
        f"built {args.out}: {report['runs']} runs, {report['boards']} boards, {report['entries']} entries, "
        f"{report['bytes'] / 1e6:.2f} MB in {report['seconds']:.2f} s; open {Path(args.out) / 'index.html'}"
    )
    if report["failed"]:
        print(f"greenbench: --strict: {len(report['problems'])} record(s) left off the board", file=sys.stderr)
        return 1
    return 0


def _git_commit() -> str | None:
    """The commit of the current folder, for the board's footer; None outside a git checkout."""
    import subprocess

    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="greenbench", description="Green AI benchmark: accuracy with its price tag.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one submission on one task and write a run record")
    _job_options(run)
    run.set_defaults(func=_cmd_run)

    submit = sub.add_parser("submit", help="validate, dry-run and run a submission; its record goes to the store (--out)")
    submit.add_argument("dir", help="the submission folder")
    _job_options(submit, submission_flag=False)
    submit.set_defaults(func=_cmd_submit)

    sweep = sub.add_parser("sweep", help="run every job of a sweep file (skips complete ones)")
    sweep.add_argument("sweep_file", help="YAML sweep file (see docs/operating.md)")
    sweep.add_argument("--list", action="store_true", help="print the jobs and which are complete; run nothing")
    sweep.add_argument("--executor", default="local", choices=["local", "ray"], help="where jobs run (default: local)")
    sweep.add_argument("--ray-address", help="an existing Ray cluster (default with --executor ray: a local one)")
    from benchmark.spec import RunOptions, add_arguments

    add_arguments(sweep, RunOptions)
    sweep.set_defaults(func=_cmd_sweep)

    new = sub.add_parser("new-submission", help="scaffold submissions/NAME")
    new.add_argument("name")
    new.add_argument("--root", default="submissions", help="where to create it (default: submissions/)")
    new.set_defaults(func=_cmd_new_submission)

    validate = sub.add_parser("validate", help="check records: schema, digests, profile, re-scored metrics")
    validate.add_argument("paths", nargs="+", help="run folders, results folders, or submissions/")
    validate.add_argument("--data-dir", help="task data for the re-score (default: $GREENBENCH_DATA_DIR, else the Hub)")
    validate.add_argument("--strict", action="store_true", help="fail records not signed by a trusted key")
    validate.set_defaults(func=_cmd_validate)

    audit = sub.add_parser("audit", help="re-run a random sample of records' jobs and compare their figures")
    audit.add_argument("records", nargs="+", help="record folders or a records store")
    audit.add_argument("--sample", type=int, default=1, help="how many records to re-run (default 1)")
    audit.add_argument("--seed", type=int, default=0, help="seed of the random choice (default 0)")
    audit.add_argument("--data-dir", help="task data (default: $GREENBENCH_DATA_DIR, else the Hub)")
    audit.set_defaults(func=_cmd_audit)

    check = sub.add_parser("check", help="regression gate: candidate against baseline (submissions paired, or records)")
    check.add_argument("--baseline", required=True, help="a run record, or a submission folder (paired mode)")
    check.add_argument("--candidate", required=True, help="a run record, or a submission folder (paired mode)")
    check.add_argument(
        "--mode",
        choices=["auto", "paired", "records"],
        default="auto",
        help="paired: load both submissions in one harness and alternate their windows; records: compare two "
        "records (default: paired for submission folders, records for run records)",
    )
    check.add_argument("--task", help="paired mode: the task to measure on")
    check.add_argument("--profile", default="cpu", help="paired mode: hardware profile (default: cpu)")
    check.add_argument("--limit", type=int, default=500, help="paired mode: eval instances (default 500)")
    check.add_argument("--train-limit", type=int, help="paired mode: training instances for entries that fit")
    check.add_argument("--seed", type=int, default=0, help="paired mode: seed for subsets and training")
    check.add_argument("--rounds", type=int, default=10, help="paired mode: ABBA rounds (default 10)")
    check.add_argument("--bands", help="records mode: JSON of between-run CVs per profile (default: built-in)")
    check.add_argument("--max-accuracy-drop", type=float, default=1.0, help="points (default 1.0)")
    check.add_argument("--max-cost-increase", type=float, default=10.0, help="percent (default 10)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument(
        "--data-dir", help="task data the runs are scored against (default: $GREENBENCH_DATA_DIR, else the Hub)"
    )
    check.set_defaults(func=_cmd_check)

    compare = sub.add_parser("compare", help="price tags of several runs side by side")
    compare.add_argument("runs", nargs="+")
    compare.set_defaults(func=_cmd_compare)
    sub.add_parser("tasks", help="list tasks").set_defaults(func=_cmd_tasks)
    sub.add_parser("profiles", help="list hardware profiles").set_defaults(func=_cmd_profiles)
    show = sub.add_parser("show", help="print a run's price tag")
    show.add_argument("run_dir")
    show.add_argument(
        "--intensity-file",
        help="hourly grid intensities (CSV: hour_utc, average and marginal g/kWh): CO2e over the run's hours",
    )
    show.set_defaults(func=_cmd_show)
    board = sub.add_parser("leaderboard", help="build the static leaderboard site")
    board.add_argument("--out", default="site", help="output folder (default: site/)")
    board.add_argument(
        "--records", action="append", default=[], help="record store (repeatable; default: leaderboard/records)"
    )
    board.add_argument("--results", action="append", default=[], help="extra results folder (repeatable)")
    board.add_argument("--methodology", help="methodology markdown (default: docs/methodology.md if present)")
    board.add_argument(
        "--figures", action="append", default=[], help="folder of <entry>/figures/ (default: submissions/ if present)"
    )
    board.add_argument("--strict", action="store_true", help="exit 1 when any record is left off the board")
    board.set_defaults(func=_cmd_leaderboard)
    from benchmark.hub.commands import add_commands  # publish, pull, card, export

    add_commands(sub)
    return parser


def _job_options(parser: argparse.ArgumentParser, submission_flag: bool = True) -> None:
    from benchmark.spec import JobRequest, RunOptions, add_arguments

    add_arguments(parser, JobRequest, skip=() if submission_flag else ("submission",))
    add_arguments(parser, RunOptions)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from benchmark.progress import setup_logging

    setup_logging(bool(getattr(args, "quiet", False)))
    try:
        return int(args.func(args))
    except UserError as exc:
        print(f"greenbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("greenbench: interrupted; no partial record was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
