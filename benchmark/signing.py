"""Ed25519 signatures over a record's digests: which records a maintainers' runner produced.

Digests show a record was not changed after it was written, but anyone can write a record and
its digests. A maintainers' runner holds a private key (never in the repository: its path comes
from ``$GREENBENCH_SIGNING_KEY`` or ``--signing-key``) and signs ``digests.json``, which pins the
other three files; the public keys it may sign with are committed in ``leaderboard/trusted_keys.json``.
A record without a signature, or signed by a key not in that file, is ``self-reported``: a status,
not a failure. A signature by a trusted key that does not verify is a failure (the record changed
after signing). The signing library is ``cryptography`` (Ed25519, RFC 8032).

    python -m benchmark.signing keygen KEY_FILE      # a new key; prints its trusted-keys entry
    python -m benchmark.signing sign KEY_FILE RUNS   # sign existing records
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
from functools import cache
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from benchmark.errors import RecordError, UserError

TRUSTED_KEYS = Path(__file__).resolve().parent.parent / "leaderboard" / "trusted_keys.json"
TRUSTED_KEYS_ENV = "GREENBENCH_TRUSTED_KEYS"
SIGNATURE_FILE = "signature.json"
CONTEXT = b"greenbench record digests v1\n"  # domain separation: this key signs nothing else
Trust = Literal["signed", "self-reported"]


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_b64(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise UserError(
            f"cannot read the signing key {path} ({exc.strerror}): check --signing-key / $GREENBENCH_SIGNING_KEY"
        ) from None
    except (ValueError, TypeError):
        raise UserError(
            f"{path} is not an unencrypted PEM private key: make one with `python -m benchmark.signing keygen`"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"{path} is not an Ed25519 key: make one with `python -m benchmark.signing keygen`")
    return key


def sign_run(run_dir: Path, key: Ed25519PrivateKey) -> Path:
    """Write ``signature.json`` next to ``digests.json``, signing the latter's exact bytes."""
    digests = run_dir / "digests.json"
    if not digests.is_file():
        raise RecordError(f"{run_dir} has no digests.json to sign: it is not a complete record")
    signature = key.sign(CONTEXT + digests.read_bytes())
    doc = {
        "algorithm": "ed25519",
        "key_id": key_id(key.public_key()),
        "signed_file": "digests.json",
        "signature": base64.b64encode(signature).decode(),
    }
    out = run_dir / SIGNATURE_FILE
    out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


def trusted_keys_path() -> Path:
    return Path(os.environ.get(TRUSTED_KEYS_ENV) or TRUSTED_KEYS)


@cache
def _load_trusted(path: Path, mtime: float) -> dict[str, Ed25519PublicKey]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        out = {}
        for entry in doc["keys"]:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"], validate=True))
            if key_id(public) != entry["key_id"]:
                raise ValueError(f"key_id {entry['key_id']} does not match its public key")
            out[entry["key_id"]] = public
        return out
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path} is not a valid trusted-keys file ({exc}): fix it or restore it from git") from None


def trusted_keys(path: Path | None = None) -> dict[str, Ed25519PublicKey]:
    """key id -> public key, from the committed file (or ``$GREENBENCH_TRUSTED_KEYS``)."""
    path = path or trusted_keys_path()
    if not path.is_file():
        return {}
    return _load_trusted(path, path.stat().st_mtime)


def check_signature(run_dir: Path, keys: dict[str, Ed25519PublicKey] | None = None) -> tuple[Trust, str | None]:
    """(trust, problem): ``signed`` only for a valid signature by a trusted key; ``problem`` is a
    failure line when a trusted key's signature does not verify or the signature file is malformed."""
    path = run_dir / SIGNATURE_FILE
    if not path.is_file():
        return "self-reported", None
    keys = trusted_keys() if keys is None else keys
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        kid, sig = doc["key_id"], base64.b64decode(doc["signature"], validate=True)
        if doc.get("algorithm") != "ed25519" or not isinstance(kid, str):
            raise ValueError("not an ed25519 signature")
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return "self-reported", f"{SIGNATURE_FILE} is malformed: remove it or re-sign the record"
    public = keys.get(kid)
    if public is None:
        return "self-reported", None
    try:
        public.verify(sig, CONTEXT + (run_dir / "digests.json").read_bytes())
    except (InvalidSignature, OSError):
        return "self-reported", f"the signature by trusted key {kid} does not verify: the record changed after signing"
    return "signed", None


def keygen(out: Path) -> dict[str, str]:
    if out.exists():
        raise UserError(f"{out} exists: choose a new path (never overwrite a signing key)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return {"key_id": key_id(key.public_key()), "public_key": public_b64(key.public_key()), "owner": ""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.signing", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    gen = sub.add_parser("keygen", help="write a new Ed25519 private key (mode 0600) and print its public entry")
    gen.add_argument("key_file")
    sign = sub.add_parser("sign", help="sign records with a private key")
    sign.add_argument("key_file")
    sign.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "keygen":
            print(json.dumps(keygen(Path(args.key_file)), indent=2))
            print("add this entry to leaderboard/trusted_keys.json 'keys' (fill in 'owner')", file=sys.stderr)
            return 0
        key = load_private_key(Path(args.key_file))
        # A record is a folder holding digests.json (found here without benchmark.record, which
        # imports this module to sign at write time).
        runs = sorted({d.parent for p in args.paths for d in Path(p).rglob("digests.json") if not d.parent.name.startswith(".")})
        for run_dir in runs:
            print(f"signed {sign_run(run_dir, key).parent}")
        return 0 if runs else 2
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
