"""The harness's import point for the bad-input exceptions (defined in ``tasks.errors``, the
bottom of the package graph, so that ``tasks`` never imports ``benchmark``)."""

from __future__ import annotations

from tasks.errors import DataError, ManifestError, RecordError, UserError

__all__ = ["DataError", "ManifestError", "RecordError", "UserError"]
