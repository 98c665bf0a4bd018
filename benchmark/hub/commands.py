"""The ``publish``, ``pull``, ``card`` and ``export`` subcommands: argument parsing only.

Registered by ``benchmark.cli.build_parser`` through ``add_commands`` so the shared parser module
changes by one call, not by four commands' worth of options.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from benchmark.errors import UserError

DEFAULT_STORE = "leaderboard/records"


def _cmd_publish(args: argparse.Namespace) -> int:
    from benchmark.hub.publish import publish

    plan = publish(args.repo, Path(args.records), dry_run=args.dry_run, batch_size=args.batch_size)
    return 1 if plan.problems else 0


def _cmd_pull(args: argparse.Namespace) -> int:
    from benchmark.hub.pull import pull

    report = pull(
        args.repo,
        Path(args.into),
        data_dir=Path(args.data_dir) if args.data_dir else None,
        rescore=not args.no_rescore,
        revision=args.revision,
    )
    return 1 if report.rejected else 0


def _cmd_card(args: argparse.Namespace) -> int:
    from benchmark.hub.card import load_records, push_card, render_card

    records, problems = load_records([Path(p) for p in args.runs])
    for problem in problems:
        print(f"greenbench: warning: left off the card: {problem}", file=sys.stderr)
    if args.push:
        print(f"updated the card of {args.push}: {push_card(records, args.push)}")
        return 0
    text = render_card(records, args.model_name)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}: {len(records)} record(s)")
    else:
        print(text, end="")
    return 0


def _format_of(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = Path(args.out).suffix.lstrip(".").lower()
    if suffix in ("csv", "parquet", "jsonl"):
        return suffix
    raise UserError(f"cannot tell the format of {args.out}: pass --format csv, parquet or jsonl")


def _cmd_export(args: argparse.Namespace) -> int:
    from benchmark.export import records_frame, write_frame

    fmt = _format_of(args)
    frame = records_frame(args.records or [DEFAULT_STORE])
    for problem in frame.attrs["problems"]:
        print(f"greenbench: warning: record left out: {problem}", file=sys.stderr)
    out = write_frame(frame, fmt, Path(args.out))
    print(f"wrote {out}: {len(frame)} record(s), {len(frame.columns)} columns ({fmt})")
    return 0


def add_commands(sub: Any) -> None:
    publish = sub.add_parser("publish", help="upload records (with signatures and the index) to a Hub dataset")
    publish.add_argument("--repo", required=True, metavar="ORG/NAME", help="the Hub dataset repository")
    publish.add_argument("--records", default=DEFAULT_STORE, help=f"records store or folder (default: {DEFAULT_STORE})")
    publish.add_argument("--dry-run", action="store_true", help="print what would be uploaded; upload nothing")
    publish.add_argument("--batch-size", type=int, default=50, help="records per commit (default 50)")
    publish.set_defaults(func=_cmd_publish)

    pull = sub.add_parser("pull", help="download a Hub dataset's records into the store, validating each")
    pull.add_argument("--repo", required=True, metavar="ORG/NAME", help="the Hub dataset repository")
    pull.add_argument("--into", default=DEFAULT_STORE, help=f"records store to fill (default: {DEFAULT_STORE})")
    pull.add_argument("--revision", help="a commit of the dataset repository (default: its main branch)")
    pull.add_argument("--data-dir", help="task data for the re-score (default: $GREENBENCH_DATA_DIR, else the Hub)")
    pull.add_argument("--no-rescore", action="store_true", help="check schema and digests only, not predictions")
    pull.set_defaults(func=_cmd_pull)

    card = sub.add_parser("card", help="model-card metadata (model-index, co2_eq_emissions) from run records")
    card.add_argument("runs", nargs="+", help="run folders (or folders of them) of one model")
    card.add_argument("--out", help="write the card to this file (default: print it)")
    card.add_argument("--model-name", help="the model's name in model-index (default: the entry's name)")
    card.add_argument("--push", metavar="MODEL_ID", help="merge the metadata into this Hub model's card")
    card.set_defaults(func=_cmd_card)

    export = sub.add_parser("export", help="one row per record with every figure, unit, source and flags")
    export.add_argument("records", nargs="*", help=f"records stores or folders (default: {DEFAULT_STORE})")
    export.add_argument("--format", choices=["csv", "parquet", "jsonl"], help="default: from --out's suffix")
    export.add_argument("--out", required=True, help="the file to write")
    export.set_defaults(func=_cmd_export)
