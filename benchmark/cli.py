"""The ``greenbench`` command: argument parsing only; the work is in the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from benchmark.errors import UserError


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return value


def _param(text: str) -> tuple[str, Any]:
    """KEY=VALUE with VALUE read as a YAML scalar (0.9 -> float, true -> bool, text -> str)."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--param {text!r} is not KEY=VALUE (e.g. --param threshold=0.9)")
    return key.strip(), yaml.safe_load(value)


def _run_config(args: argparse.Namespace, submission: str) -> Any:
    from benchmark.runner import RunConfig

    return RunConfig(
        task=args.task,
        submission_dir=Path(submission),
        profile=args.profile,
        data_dir=Path(args.data_dir) if args.data_dir else None,
        limit=args.limit,
        train_limit=args.train_limit,
        train_config=args.train_config,
        seed=args.seed,
        out_dir=Path(args.out or "runs"),
        region=args.region,
        pue=args.pue,
        measure_costs=not args.no_costs,
        force=args.force,
        sandbox=args.sandbox,
        timeout_s=args.timeout,
        memory_gb=args.memory_gb,
        params=tuple(_param(p) for p in args.param),
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from benchmark.executor import LocalExecutor

    config = _run_config(args, args.submission)
    result = LocalExecutor(stop_on_error=True).map([config])[0]
    if result.run_dir is not None:
        print(result.run_dir)
    return 0 if result.status in ("complete", "skipped") else 1


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

    print(price_tag(read_run(Path(args.run_dir), with_predictions=False)))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse prints the whole usage block on a bad argument; one line says more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _cmd_validate(args: argparse.Namespace) -> int:
    from benchmark.validate import validate_paths

    report = validate_paths([Path(p) for p in args.paths], args.data_dir)
    bad = 0
    for run_dir, problems in report.items():
        if problems:
            bad += 1
            for problem in problems:
                print(f"FAIL {run_dir}: {problem}")
        else:
            print(f"ok   {run_dir}")
    print(f"{len(report) - bad} of {len(report)} records valid")
    return 1 if bad else 0


def _read_for_gate(path: str) -> Any:
    from benchmark.record import read_run

    return read_run(Path(path))


def _cmd_check(args: argparse.Namespace) -> int:
    import json

    from benchmark.gate import format_gate, gate
    from benchmark.validate import task_labels
    from tasks.base import resolve_data_dir

    baseline, candidate = _read_for_gate(args.baseline), _read_for_gate(args.candidate)
    labels = task_labels(baseline, resolve_data_dir(args.data_dir))
    report = gate(baseline, candidate, labels, args.max_accuracy_drop, args.max_cost_increase)
    print(json.dumps(report, indent=2) if args.json else format_gate(report))
    return 0 if report["verdict"] == "pass" else 1


def _cmd_compare(args: argparse.Namespace) -> int:
    from benchmark.record import read_run
    from benchmark.report import compare_table

    print(compare_table([read_run(Path(p), with_predictions=False) for p in args.runs]))
    return 0


def _cmd_new_submission(args: argparse.Namespace) -> int:
    from benchmark.submit import scaffold

    folder = scaffold(args.name, Path(args.root))
    print(f"created {folder}: fill in submission.yaml and predictor.py, then `greenbench submit {folder} --task ...`")
    return 0


def _cmd_submit(args: argparse.Namespace) -> int:
    from benchmark.submit import next_steps, submit

    config = _run_config(args, args.dir)
    run_dir = submit(config)
    print(next_steps(run_dir, config.submission_dir))
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from leaderboard.build import build_site

    report = build_site(Path(args.out), [Path(p) for p in args.results])
    for problem in report["problems"]:
        print(f"greenbench: warning: record left off the board: {problem}", file=sys.stderr)
    print(
        f"built {args.out}: {report['runs']} runs, {report['boards']} boards, {report['entries']} entries, "
        f"{report['bytes'] / 1e6:.2f} MB in {report['seconds']:.2f} s; open {Path(args.out) / 'index.html'}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="greenbench", description="Green AI benchmark: accuracy with its price tag.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one submission on one task and write a run record")
    run.add_argument("--submission", required=True, help="submission folder holding submission.yaml")
    _job_options(run)
    run.set_defaults(func=_cmd_run)

    submit = sub.add_parser("submit", help="validate, dry-run, run and bundle a submission into DIR/results")
    submit.add_argument("dir", help="the submission folder")
    _job_options(submit, out=False)
    submit.set_defaults(func=_cmd_submit)

    new = sub.add_parser("new-submission", help="scaffold submissions/NAME")
    new.add_argument("name")
    new.add_argument("--root", default="submissions", help="where to create it (default: submissions/)")
    new.set_defaults(func=_cmd_new_submission)

    validate = sub.add_parser("validate", help="check records: schema, digests, profile, re-scored metrics")
    validate.add_argument("paths", nargs="+", help="run folders, results folders, or submissions/")
    validate.add_argument("--data-dir", help="task data for the re-score (default: $GREENBENCH_DATA_DIR, else the Hub)")
    validate.set_defaults(func=_cmd_validate)

    check = sub.add_parser("check", help="regression gate: candidate run against baseline run")
    check.add_argument("--baseline", required=True)
    check.add_argument("--candidate", required=True)
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
    show.set_defaults(func=_cmd_show)
    board = sub.add_parser("leaderboard", help="build the static leaderboard site")
    board.add_argument("--out", default="site", help="output folder (default: site/)")
    board.add_argument("--results", action="append", default=[], help="extra results folder (repeatable)")
    board.set_defaults(func=_cmd_leaderboard)
    return parser


def _job_options(run: argparse.ArgumentParser, out: bool = True) -> None:
    run.add_argument("--task", required=True, help="task name (see `greenbench tasks`)")
    run.add_argument("--profile", default="cpu", help="hardware profile name or YAML path (default: cpu)")
    run.add_argument("--data-dir", help="local folder with the task data (default: $GREENBENCH_DATA_DIR, else the Hub)")
    run.add_argument("--limit", type=_positive_int, help="evaluate a seeded random subset of N instances per eval set")
    run.add_argument("--train-limit", type=_positive_int, help="train on a seeded random subset of N instances")
    run.add_argument("--train-config", help="task train config (WinoGrande: xs, s, m, l, xl)")
    run.add_argument("--seed", type=int, default=0)
    if out:
        run.add_argument("--out", default="runs", help="results folder (default: runs/)")
    run.add_argument("--region", help="grid region for CO2e (default: the profile's), e.g. USA, FRA, USA/CA, SE3")
    run.add_argument("--pue", type=float, help="data-centre PUE (default: the profile's)")
    run.add_argument("--no-costs", action="store_true", help="accuracy only: skip FLOPs, latency and energy")
    run.add_argument("--force", action="store_true", help="redo the job even if a complete record exists")
    run.add_argument(
        "--sandbox",
        default="auto",
        choices=["auto", "bwrap", "netns", "process", "none"],
        help="isolation for the submission's code (default: the strongest available; none: in-process)",
    )
    run.add_argument("--timeout", type=float, help="wall-clock limit in seconds for the submission (default 3600)")
    run.add_argument("--memory-gb", type=float, help="memory (address-space) cap for the submission's process")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a manifest param for this run, e.g. an operating point (repeatable)",
    )
    if not out:
        run.set_defaults(out=None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
