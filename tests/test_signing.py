"""Signatures: a maintainers' key signs digests.json; trusted keys make a record ``signed``; no key
or an unknown key is ``self-reported``; a trusted signature over changed files fails validate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import record_factory

from benchmark import signing, validate
from benchmark.errors import UserError
from benchmark.record import DIGESTED, dumps, file_sha256, write_run
from benchmark.validate import verdict

RUN, _, METRICS = record_factory.build(record_factory.tiny_task(), limit=None, training=False)
PREDS = [{"eval_set": "test", "id": "a", "prediction": 1}, {"eval_set": "test", "id": "b", "prediction": 0}]


@pytest.fixture
def keys(tmp_path, monkeypatch):
    """A maintainers' key made for this test (never committed) and a trusted-keys file naming it."""
    key_file = tmp_path / "maintainer.pem"
    entry = signing.keygen(key_file)
    trusted = tmp_path / "trusted_keys.json"
    trusted.write_text(json.dumps({"keys": [entry]}))
    monkeypatch.setenv(signing.TRUSTED_KEYS_ENV, str(trusted))
    return key_file


def _record(tmp_path: Path, name: str = "r") -> Path:
    return write_run(tmp_path / name, RUN, PREDS, METRICS)


def test_keygen_writes_a_private_key_only_its_owner_reads(keys):
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(UserError, match="exists"):
        signing.keygen(keys)


def test_runner_with_a_key_signs_and_the_record_is_signed(tmp_path, keys, monkeypatch):
    monkeypatch.setenv("GREENBENCH_SIGNING_KEY", str(keys))
    run_dir = _record(tmp_path)
    assert (run_dir / "signature.json").is_file()
    assert validate.record_trust(run_dir) == "signed"
    assert verdict(run_dir, None).trust == "signed"


def test_unsigned_and_unknown_key_records_are_self_reported(tmp_path, keys):
    unsigned = _record(tmp_path, "unsigned")
    assert validate.record_trust(unsigned) == "self-reported"
    stranger = tmp_path / "stranger.pem"
    signing.keygen(stranger)
    signing.sign_run(unsigned, signing.load_private_key(stranger))
    assert signing.check_signature(unsigned) == ("self-reported", None)  # a status, not a failure


def test_a_signed_record_edited_and_re_digested_fails(tmp_path, keys):
    run_dir = _record(tmp_path)
    signing.sign_run(run_dir, signing.load_private_key(keys))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["throughput"]["batch_size"] = 1
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    digests = {n: file_sha256(run_dir / n) for n in DIGESTED}  # a forger recomputes the digests
    (run_dir / "digests.json").write_text(dumps({"schema_version": 3, "sha256": digests}))
    trust, problem = signing.check_signature(run_dir)
    assert trust == "self-reported" and "does not verify" in (problem or "")
    assert validate.record_trust(run_dir) == "self-reported"


def test_a_signature_copied_onto_another_record_fails(tmp_path, keys):
    signed = _record(tmp_path, "signed")
    signing.sign_run(signed, signing.load_private_key(keys))
    other = write_run(tmp_path / "other", {**RUN, "job_key": "e" * 64}, PREDS, METRICS)
    shutil.copy(signed / "signature.json", other / "signature.json")
    assert validate.record_trust(other) == "self-reported"
    assert "does not verify" in (signing.check_signature(other)[1] or "")


@pytest.mark.parametrize("text", ["{", '{"key_id": 3}', '{"algorithm": "ed25519", "key_id": "x", "signature": "%%"}'])
def test_a_malformed_signature_file_is_a_failure_line(tmp_path, keys, text):
    run_dir = _record(tmp_path)
    (run_dir / "signature.json").write_text(text)
    trust, problem = signing.check_signature(run_dir)
    assert trust == "self-reported" and "malformed" in (problem or "")


def test_a_bad_key_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "k.pem"
    bad.write_text("not a key")
    with pytest.raises(UserError, match="not an unencrypted PEM"):
        signing.load_private_key(bad)
    with pytest.raises(UserError, match="cannot read"):
        signing.load_private_key(tmp_path / "missing.pem")


def test_committed_trusted_keys_file_holds_no_private_material():
    text = (Path(__file__).resolve().parent.parent / "leaderboard" / "trusted_keys.json").read_text()
    assert "PRIVATE" not in text
    assert isinstance(json.loads(text)["keys"], list)


def test_validate_cli_says_signed_or_self_reported_and_strict_fails_unsigned(tmp_path, keys, data_dir, capsys):
    from benchmark import cli
    from tasks import get_task

    data = get_task("ag_news").load(data_dir, None)
    unsigned = record_factory.write(tmp_path / "store" / "unsigned", data, limit=20)
    signed = record_factory.write(tmp_path / "store" / "signed", data, limit=20, rng_seed=1)
    signing.sign_run(signed, signing.load_private_key(keys))
    args = ["validate", str(tmp_path / "store"), "--data-dir", str(data_dir)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert f"ok   {signed} (signed;" in out and f"ok   {unsigned} (self-reported;" in out
    assert "FLOPs counted in the entry's own process" in out and "2 of 2 records valid (1 signed)" in out
    assert cli.main([*args, "--strict"]) == 1
    assert f"FAIL {unsigned}: self-reported" in capsys.readouterr().out


def test_sign_command_signs_existing_records(tmp_path, keys, capsys):
    run_dir = _record(tmp_path)
    assert signing.main(["sign", str(keys), str(tmp_path)]) == 0
    assert f"signed {run_dir}" in capsys.readouterr().out and validate.record_trust(run_dir) == "signed"
    assert signing.main(["sign", str(tmp_path / "missing.pem"), str(tmp_path)]) == 2
