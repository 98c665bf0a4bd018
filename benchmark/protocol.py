"""Protocol v2 between the harness and the sandboxed worker: every message the child sends is hostile input.

One JSON object per line. Each carries ``v`` (the version), ``seq`` (the request it belongs to; 0 is
the worker's hello) and ``kind`` (``hello``, ``reply`` or ``progress``). The parent parses a line
only after bounding its size and nesting depth (``json`` recurses, so a deep reply would raise
RecursionError inside the harness), decodes it as strict UTF-8, and checks it against the schema of
the request it answers before anything reads a field. Every violation is a ``ProtocolError``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
import selectors
from typing import Any

PROTOCOL_VERSION = 2
MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 32
MAX_NOTE_CHARS = 500
MAX_ERROR_CHARS = 8000
KINDS = ("hello", "reply", "progress")
OPS = ("load", "fit", "restore", "prepare", "predict", "diagnostics", "shutdown")


class ProtocolError(Exception):
    """A message from the child broke protocol v2: the run fails with kind ``protocol``."""


def encode(seq: int, kind: str, **body: Any) -> str:
    """One message as a line. ``allow_nan=False``: NaN is not JSON and the parent would refuse it."""
    return json.dumps({"v": PROTOCOL_VERSION, "seq": seq, "kind": kind, **body}, allow_nan=False) + "\n"


def nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting outside strings, found without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _no_constants(name: str) -> Any:
    raise ProtocolError(f"the child sent {name}, which is not JSON")


def parse_line(raw: bytes) -> dict[str, Any]:
    """A line as a message envelope, or ProtocolError. The body is checked by ``check_message``."""
    if len(raw) > MAX_LINE_BYTES:
        raise ProtocolError(f"a message of {len(raw)} bytes, over the {MAX_LINE_BYTES}-byte limit")
    if nesting_depth(raw) > MAX_DEPTH:
        raise ProtocolError(f"a message nested deeper than {MAX_DEPTH} levels")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("a message that is not UTF-8") from None
    try:
        message = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise ProtocolError(f"a message that is not JSON: {text[:80]!r}") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"a message that is a {type(message).__name__}, not an object")
    if message.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"a message of protocol version {message.get('v')!r}, expected {PROTOCOL_VERSION}")
    seq, kind = message.get("seq"), message.get("kind")
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise ProtocolError(f"a message whose seq is {seq!r}, not an integer")
    if kind not in KINDS:
        raise ProtocolError(f"a message of unknown kind {kind!r}")
    return message


def _is_int(value: Any, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _optional_int(value: Any) -> bool:
    return value is None or _is_int(value)


def _check_keys(what: str, message: dict[str, Any], allowed: set[str]) -> None:
    extra = set(message) - allowed - {"v", "seq", "kind"}
    if extra:
        raise ProtocolError(f"{what} with unexpected fields {sorted(extra)[:5]}")


def check_progress(message: dict[str, Any]) -> dict[str, Any]:
    _check_keys("a progress message", message, {"step", "total", "loss", "note"})
    step, total, loss, note = (message.get(k) for k in ("step", "total", "loss", "note"))
    loss_ok = loss is None or (isinstance(loss, (int, float)) and not isinstance(loss, bool) and math.isfinite(loss))
    if not (_optional_int(step) and _optional_int(total) and loss_ok and isinstance(note, (str, type(None)))):
        raise ProtocolError("a progress message with a field of the wrong type (step, total: int; loss: number)")
    return {"step": step, "total": total, "loss": loss, "note": (note or "")[:MAX_NOTE_CHARS]}


def _check_result(op: str, result: Any, batch: int) -> Any:
    if op == "load":
        if not (isinstance(result, dict) and set(result) <= {"can_fit", "can_restore"}):
            raise ProtocolError("a load reply that is not {can_fit, can_restore}")
        if not all(isinstance(result.get(k), bool) for k in ("can_fit", "can_restore")):
            raise ProtocolError("a load reply whose can_fit/can_restore are not booleans")
    elif op in ("fit", "restore", "predict"):
        keys = {"flops", "predictions"} if op == "predict" else {"flops"}
        if not (isinstance(result, dict) and set(result) == keys):
            raise ProtocolError(f"a {op} reply whose fields are not {sorted(keys)}")
        if not _optional_int(result["flops"]):
            raise ProtocolError(f"a {op} reply whose flops is {result['flops']!r}, not a count")
        if op == "predict" and not isinstance(result["predictions"], list):
            raise ProtocolError("a predict reply whose predictions are not a list")
        if op == "predict" and len(result["predictions"]) != batch:
            raise ProtocolError(f"a predict reply of {len(result['predictions'])} predictions for a batch of {batch}")
    elif op in ("shutdown", "prepare") and result is not None:
        raise ProtocolError(f"a {op} reply with a result")
    return result


def check_reply(message: dict[str, Any], op: str, batch: int = 0) -> dict[str, Any]:
    """A reply to ``op``: ``{"ok": True, "result": ...}`` or an error report, each field typed."""
    ok = message.get("ok")
    if ok is True:
        _check_keys("a reply", message, {"ok", "result"})
        return {"ok": True, "result": _check_result(op, message.get("result"), batch)}
    if ok is not False:
        raise ProtocolError(f"a reply whose ok is {ok!r}, not a boolean")
    _check_keys("an error reply", message, {"ok", "type", "error", "user_error", "traceback"})
    fields = {k: message.get(k, "") for k in ("type", "error", "traceback")}
    if not all(isinstance(v, str) for v in fields.values()) or not isinstance(message.get("user_error", False), bool):
        raise ProtocolError("an error reply with a field of the wrong type")
    return {
        "ok": False,
        "user_error": bool(message.get("user_error", False)),
        **{k: v[:MAX_ERROR_CHARS] for k, v in fields.items()},
    }


class Pipe:
    """The parent's end of the child's protocol pipe: whole lines only, never one over the size bound."""

    def __init__(self, stream: Any) -> None:
        self.fd = stream.fileno()
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)

    def fill(self) -> bool:
        """Append whatever the pipe holds now (never blocks); False at end of file."""
        try:
            chunk = os.read(self.fd, 1 << 20)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        self.buffer += chunk
        if len(self.buffer) > MAX_LINE_BYTES and b"\n" not in self.buffer:
            raise ProtocolError(f"a message over {MAX_LINE_BYTES} bytes")
        return True

    def line(self, timeout: float) -> bytes | None:
        """The next complete line, or None if none came within ``timeout``. EOFError at end of file."""
        if b"\n" not in self.buffer and self.selector.select(timeout=max(timeout, 0.0)) and not self.fill():
            raise EOFError
        if b"\n" not in self.buffer:
            return None
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line


class OpaqueIds:
    """Per-run salted instance ids: the child never sees an id that names a public row (``test-<row>``
    gives the answer away); the parent maps each back."""

    def __init__(self) -> None:
        self.salt = secrets.token_bytes(16)
        self.public: dict[str, str] = {}

    def rows(self, instances: Any, with_label: bool) -> list[dict[str, Any]]:
        return [
            {"id": self.opaque(i.id), "inputs": dict(i.inputs), "label": i.label if with_label else None}
            for i in instances
        ]

    def opaque(self, instance_id: str) -> str:
        opaque = "i" + hmac.new(self.salt, instance_id.encode(), hashlib.sha256).hexdigest()[:20]
        self.public[opaque] = instance_id
        return opaque


def progress_text(progress: dict[str, Any]) -> str:
    """A checked progress message as heartbeat text: ``step 3 of 10, loss 0.25; epoch 1``."""
    text = f"step {progress['step']}" + (f" of {progress['total']}" if progress["total"] is not None else "")
    text += f", loss {progress['loss']:.4g}" if progress["loss"] is not None else ""
    return text + (f"; {progress['note'][:120]}" if progress["note"] else "")
