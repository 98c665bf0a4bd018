"""The submit-a-model workflow: scaffold, then validate -> dry run -> full run -> bundle check."""

from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path

import yaml

from benchmark.contamination import scan_for_task
from benchmark.errors import UserError
from benchmark.manifest import MANIFEST_NAME, NAME_PATTERN, Manifest, load_manifest
from benchmark.record import read_run
from benchmark.runner import log, run_job
from benchmark.spec import JobRequest, RunOptions
from benchmark.validate import validate_run

TEMPLATES = Path(__file__).resolve().parent / "templates" / "submission"
DRY_RUN_INSTANCES = 8
# Manifest fields whose template text means "not filled in yet" (the template's licence, tasks and
# params are real, usable choices, so they are not placeholders).
PLACEHOLDER_FIELDS = ("authors", "description")


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


def _words(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def placeholder_problems(manifest: Manifest) -> list[str]:
    """One line per manifest field still holding the scaffold template's text, each with its fix."""
    template = yaml.safe_load((TEMPLATES / f"{MANIFEST_NAME}.tmpl").read_text().replace("{name}", manifest.name))
    problems = []
    for key in PLACEHOLDER_FIELDS:
        ours, theirs = getattr(manifest, key), template.get(key)
        if isinstance(theirs, list):
            left = [item for item in ours if _words(item) in {_words(t) for t in theirs}]
            if left:
                problems.append(f"{MANIFEST_NAME}: {key} still holds the template's {left[0]!r}: put the real {key}")
        elif theirs is not None and _words(ours) == _words(theirs):
            problems.append(f"{MANIFEST_NAME}: {key} is still the template's text: write your own {key}")
    return problems


def submit(request: JobRequest, options: RunOptions) -> Path:
    """Validate the manifest, dry-run a handful of instances, run in full into the records store
    (``--out``, default ``runs/``), then validate the record against the submission's code.
    Returns the run folder; raises ``UserError`` at the first failure."""
    folder = request.submission
    manifest = load_manifest(folder)  # every manifest problem at once, each with its fix
    problems = placeholder_problems(manifest)
    if problems:
        raise UserError(f"{folder} is not filled in yet:\n  " + "\n  ".join(problems))
    if request.task not in manifest.tasks:
        raise UserError(f"{manifest.name} does not list task {request.task}: add it to 'tasks' in {MANIFEST_NAME}")
    problems = scan_for_task(folder, request.task, request.data_dir)  # eval-set text or ids in the files
    if problems:
        raise UserError(f"{folder} carries eval data:\n  " + "\n  ".join(problems))

    log(
        f"dry run on {DRY_RUN_INSTANCES} instances (training on {DRY_RUN_INSTANCES * 4}), costs not measured: "
        "a quick check that the entry loads, trains and predicts before the full run"
    )
    with tempfile.TemporaryDirectory(prefix="greenbench-dry-") as tmp:
        dry = replace(request, limit=DRY_RUN_INSTANCES, train_limit=DRY_RUN_INSTANCES * 4, measure_costs=False)
        result = run_job(dry, replace(options, out=Path(tmp), force=True))
        if result.status == "failed":
            assert result.run_dir is not None
            tail = read_run(result.run_dir, with_predictions=False).run["failure"].get("stderr_tail", "")
            raise UserError(
                f"the dry run failed: {result.message}"
                + (f"\n--- the submission's last output ---\n{tail}" if tail else "")
            )

    log(f"dry run passed; now the full run, costs measured, into the store {options.out}")
    # Not into the submission folder: every file there is code (code digest scheme 2), so a record
    # written inside it would change the digest it records and never validate.
    result = run_job(request, options)
    if result.run_dir is None or result.status == "failed":
        raise UserError(f"the full run failed: {result.message}")
    problems = validate_run(result.run_dir, request.data_dir, folder)
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
        f"  then open a pull request with the code; maintainers re-run it on the board's hardware."
    )
