"""Property-based tests of the two untrusted-input parsers: whatever the bytes, the manifest and
run-record readers either return a validated object or raise their one clear error type."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

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
