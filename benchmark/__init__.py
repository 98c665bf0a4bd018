"""greenbench harness: run submissions on tasks and attach a price tag to every result."""

__version__ = "0.1.0"
