"""One exception type for bad input, so the CLI can print one line and exit 2.

Anything that is the user's to fix (a missing file, a bad manifest, an unknown task) raises
``UserError`` with a message that names the problem and the fix. Everything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input: the message says what is wrong and how to fix it."""

    exit_code = 2


class DataError(UserError):
    """Task data is missing, truncated or does not match its known checksum."""


class ManifestError(UserError):
    """A submission manifest or its entry point is invalid."""


class RecordError(UserError):
    """A run record on disk is malformed, incomplete or inconsistent."""
