"""The board's one formatter and its other guards. A record is untrusted input: every value that
reaches a page passes through ``fmt`` (numbers formatted, anything else escaped), every link
through ``safe_url`` and every file name through ``slug``; pages carry ``CSP`` so that even a
missed escape cannot run script or fetch from the network."""

from __future__ import annotations

import math
import re
from typing import Any

# No inline script or style, nothing remote: the only script is static/board.js, the only style
# static/style.css, images are the site's own files.
CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})  # as html.escape
MAX_TEXT = 300  # longer record strings are cut: a name is not an essay, and a page stays light


def num(value: Any) -> float | None:
    """A finite real number, or None: bools, strings, NaN and infinities are not figures."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def esc(value: Any) -> str:
    """Text from a record, escaped for HTML text and attribute values (quotes included)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "…"
    return text.translate(_ESCAPES)


def number(value: float, scale: float = 1.0) -> str:
    """Three significant figures, thousands separators, an exponent only for extreme magnitudes."""
    value = value * scale
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6 or magnitude < 1e-3:
        return f"{value:.2e}"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt(value: Any, scale: float = 1.0) -> str:
    """THE formatter of the site: a number is formatted (after ``scale``), a missing figure is a
    dash, anything else is escaped text. Its output is safe to join into HTML."""
    if value is None:
        return "–"
    figure = num(value)
    if figure is not None:
        return number(figure, scale)
    return esc(value)


def slug(text: Any) -> str:
    """A file-name-safe id: whatever a record claims its name is, it cannot escape the site folder."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", str(text).lower()).strip("-.")
    return cleaned[:80] or "entry"


def safe_url(url: Any) -> str | None:
    """Only http(s) links become links; anything else (javascript:, data:) is shown as text."""
    return url if isinstance(url, str) and re.match(r"^https?://[^\s\"'<>`\\]+$", url) and len(url) < 500 else None


def csv_cell(value: Any) -> str:
    """A CSV field a spreadsheet will not run as a formula (a leading = + - @ is quoted)."""
    if value is None:
        return ""
    figure = num(value)
    if figure is not None:
        return repr(figure) if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
