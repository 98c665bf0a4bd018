"""Reaching the Hub: one clear line when it cannot be reached, in seconds rather than minutes.

``huggingface_hub`` retries a dead connection five times with back-off (23 s measured on a machine
with no route out) and then raises one of several exception types; callers want one sentence.
"""

from __future__ import annotations

import os

from benchmark.errors import UserError

_TRUE = ("1", "true", "yes", "on")
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


class HubUnreachable(UserError):
    """The Hub cannot be reached (offline mode, no route, DNS) and nothing local can stand in."""


def offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def why_unreachable() -> str | None:
    """Why the Hub cannot be reached now, or None when it may be.

    Offline mode is a reason of its own; behind a proxy a direct probe proves nothing, so only the
    client's own request can tell.
    """
    if offline_mode():
        return "HF_HUB_OFFLINE is set"
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return None
    from tasks.base import hub_unreachable

    return hub_unreachable()


def require_hub(action: str) -> None:
    """Raise one line when ``action`` (which needs the Hub itself, not its cache) cannot run."""
    why = why_unreachable()
    if why is not None:
        raise HubUnreachable(
            f"cannot {action}: the Hugging Face Hub is unreachable ({why}); run it from a machine with network "
            f"access (and HF_HUB_OFFLINE unset)"
        )


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
