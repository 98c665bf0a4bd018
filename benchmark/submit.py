"""The submit-a-model workflow: scaffold, then validate -> dry run -> full run -> bundle check."""

from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path

from benchmark.errors import UserError
from benchmark.manifest import NAME_PATTERN, load_manifest
from benchmark.record import read_run
from benchmark.runner import RunConfig, log, run_job
from benchmark.validate import validate_run

TEMPLATES = Path(__file__).resolve().parent / "templates" / "submission"
DRY_RUN_INSTANCES = 8


def scaffold(name: str, root: Path) -> Path:
    """``root/name`` with a manifest, a working predictor template and a README of what to fill in."""
    if not re.match(NAME_PATTERN, name):
        raise UserError(f"submission name {name!r} must be a lower-case slug (letters, digits, '.', '_', '-')")
    folder = root / name
    if folder.exists():
        raise UserError(f"{folder} already exists: choose another name or edit that folder")
    folder.mkdir(parents=True)
    for template in sorted(TEMPLATES.glob("*.tmpl")):
        (folder / template.name.removesuffix(".tmpl")).write_text(template.read_text().replace("{name}", name))
    return folder


def submit(config: RunConfig) -> Path:
    """Validate the manifest, dry-run a handful of instances, run in full into ``DIR/results``,
    then validate the record. Returns the run folder; raises ``UserError`` at the first failure."""
    folder = config.submission_dir
    manifest = load_manifest(folder)  # every manifest problem at once, each with its fix
    if config.task not in manifest.tasks:
        raise UserError(f"{manifest.name} does not list task {config.task}: add it to 'tasks' in submission.yaml")

    log(f"dry run: {DRY_RUN_INSTANCES} instances, {DRY_RUN_INSTANCES * 4} training instances, no cost passes")
    with tempfile.TemporaryDirectory(prefix="greenbench-dry-") as tmp:
        dry = replace(
            config,
            out_dir=Path(tmp),
            limit=DRY_RUN_INSTANCES,
            train_limit=DRY_RUN_INSTANCES * 4,
            measure_costs=False,
            force=True,
        )
        result = run_job(dry, progress=False)
        if result.status == "failed":
            assert result.run_dir is not None
            tail = read_run(result.run_dir, with_predictions=False).run["failure"].get("stderr_tail", "")
            raise UserError(
                f"the dry run failed: {result.message}"
                + (f"\n--- the submission's last output ---\n{tail}" if tail else "")
            )

    log("dry run passed; full run")
    full = replace(config, out_dir=folder / "results")
    result = run_job(full)
    if result.run_dir is None or result.status == "failed":
        raise UserError(f"the full run failed: {result.message}")
    problems = validate_run(result.run_dir, config.data_dir, folder)
    if problems:
        raise UserError(f"the bundle in {result.run_dir} does not validate: " + "; ".join(problems))
    return result.run_dir


def next_steps(run_dir: Path, folder: Path) -> str:
    return (
        f"Bundle ready and validated: {run_dir}\n"
        f"Next:\n"
        f"  greenbench show {run_dir}\n"
        f"  git add {folder}\n"
        f"  git commit -m 'Add {folder.name}'\n"
        f"  then open a pull request; CI re-validates every committed record (greenbench validate submissions/)."
    )
