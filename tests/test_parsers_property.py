"""Property-based tests of the two untrusted-input parsers: whatever the bytes, the manifest and
run-record readers either return a validated object or raise their one clear error type."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.errors import ManifestError, RecordError
from benchmark.manifest import Manifest, load_manifest
from benchmark.record import SCHEMA_VERSION, RunRecord, read_run

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
KEYS = list(Manifest.model_fields) + ["colour", ""]
manifests = st.dictionaries(st.sampled_from(KEYS), values, max_size=len(KEYS))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(manifests)
def test_manifest_mappings(data):
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "submission.yaml").write_text(yaml.safe_dump(data))
        try:
            assert isinstance(load_manifest(Path(tmp)), Manifest)
        except ManifestError as exc:
            assert "\n" not in str(exc)


@SETTINGS
@given(st.binary(max_size=300))
def test_manifest_bytes(raw):
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "submission.yaml").write_bytes(raw)
        try:
            load_manifest(Path(tmp))
        except ManifestError:
            pass


run_fields = st.fixed_dictionaries(
    {},
    optional={
        k: values
        for k in (
            "schema_version",
            "status",
            "job_key",
            "task",
            "submission",
            "profile",
            "config",
            "environment",
            "started_at",
            "finished_at",
        )
    },
)


@SETTINGS
@given(
    run_fields,
    st.one_of(values, st.fixed_dictionaries({"schema_version": st.just(SCHEMA_VERSION), "eval_sets": values})),
    st.lists(values, max_size=3),
)
def test_run_records(run, metrics, predictions):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "run.json").write_text(json.dumps(run))
        (folder / "metrics.json").write_text(json.dumps(metrics))
        (folder / "predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in predictions))
        try:
            assert isinstance(read_run(folder), RunRecord)
        except RecordError as exc:
            assert "\n" not in str(exc)


@SETTINGS
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_run_record_bytes(run_raw, metrics_raw):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "run.json").write_bytes(run_raw)
        (folder / "metrics.json").write_bytes(metrics_raw)
        (folder / "predictions.jsonl").write_bytes(b"")
        try:
            read_run(folder)
        except RecordError:
            pass


# ---- every JSON type into every field of a valid record: validate gives verdicts, never crashes

_valid: dict[str, Any] = {}


def _base(data_dir: Path) -> tuple[dict, list, dict]:
    if not _valid:
        import record_factory

        from benchmark.record import complete_blocks
        from tasks import get_task

        run, rows, metrics = record_factory.build(get_task("hyperpartisan").load(data_dir, None), limit=10)
        _valid.update(run=run, rows=rows, metrics=json.loads(json.dumps(complete_blocks(run, metrics))))
    return copy.deepcopy(_valid["run"]), copy.deepcopy(_valid["rows"]), copy.deepcopy(_valid["metrics"])


def _leaves(doc: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(doc, dict) and doc:
        return [prefix] + [p for k, v in doc.items() for p in _leaves(v, (*prefix, k))]
    if isinstance(doc, list) and doc:
        return [prefix] + [p for i, v in enumerate(doc) for p in _leaves(v, (*prefix, i))]
    return [prefix]


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.just("<img src=x onerror=alert(1)>"),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.data(), json_values)
def test_any_json_in_any_field_gets_a_verdict(data_dir, data, value):
    from benchmark.record import DIGESTED, dumps, file_sha256
    from benchmark.validate import verdict

    run, rows, metrics = _base(data_dir)
    which = data.draw(st.sampled_from(["run", "metrics"]))
    doc = run if which == "run" else metrics
    path = data.draw(st.sampled_from([p for p in _leaves(doc) if p]))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "run.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, **run}))
        (folder / "metrics.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, **metrics}))
        (folder / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        digests = {name: file_sha256(folder / name) for name in DIGESTED}
        (folder / "digests.json").write_text(dumps({"sha256": digests}))
        result = verdict(folder, data_dir)
    assert all(isinstance(line, str) and "\n" not in line for line in result.problems)
    assert not any("could not be checked" in line for line in result.problems), result.problems
