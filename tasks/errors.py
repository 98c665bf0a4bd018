"""The exception types for bad input, at the bottom of the package graph.

They live here, in the lowest package, so that ``tasks`` needs nothing from ``benchmark`` and
the packages form no cycle; ``benchmark.errors`` re-exports them for the harness. Anything that
is the user's to fix (a missing file, a bad manifest, an unknown task) raises ``UserError`` with
a message that names the problem and the fix, so the CLI prints one line and exits 2.
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
