"""Progress a person can read: tqdm bars on stderr, silent when stderr is not a terminal or ``--quiet``.

A run is minutes of work in several passes (fit, accuracy pass, FLOPs, latency, energy); without
bars the terminal sat silent for a minute at a time and the only sign of life was the child's
stale last stderr line. Bars go to stderr so stdout stays the command's result (a run folder,
a table), and they switch themselves off when stderr is a file or a pipe, where a log of carriage
returns helps nobody; there the ``Heartbeat`` prints one line a minute instead.

Training progress comes from the entry itself (``ctx.report_progress(step, total, loss, note)``,
relayed from a sandboxed child as ``{"kind": "progress", ...}`` messages) into a ``StepProgress``,
which both drives the fit bar and gives the heartbeat something current to say.

Public API: ``set_quiet``, ``is_quiet``, ``bars_enabled``, ``bar``, ``track``, ``StepProgress``,
``Heartbeat``, and the bar names ``FIT``, ``ACCURACY``, ``FLOPS``, ``LATENCY``, ``ENERGY``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

# The bars' names, fixed so that tests and people can recognise each pass.
FIT = "fit"
ACCURACY = "accuracy pass"
FLOPS = "cost: FLOPs"
LATENCY = "cost: latency"
ENERGY = "cost: energy"

# Until an entry says how many steps it has, a bar can only say how long it has run.
UNKNOWN_TOTAL = "{desc}: {elapsed} elapsed, {n_fmt} {unit}s reported{postfix}"

_state = {"quiet": False}


def set_quiet(quiet: bool) -> None:
    """``--quiet``: no bars and no heartbeat lines for the rest of the process."""
    _state["quiet"] = bool(quiet)


def is_quiet() -> bool:
    return _state["quiet"]


def bars_enabled(stream: TextIO | None = None) -> bool:
    """Bars only on a terminal: a redirected stderr would fill with carriage-return frames."""
    stream = stream or sys.stderr
    if is_quiet():
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced stream
        return False


def _columns() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


class Bar:
    """A tqdm bar, or nothing at all when bars are off; the same calls work on both."""

    def __init__(self, total: float | None, desc: str, unit: str) -> None:
        self._bar: Any = None
        if bars_enabled():
            from tqdm import tqdm

            sized = _columns() > 0  # a terminal that reports no size (a bare pty) gets a fixed width
            self._bar = tqdm(
                total=total,
                desc=desc,
                unit=unit,
                file=sys.stderr,
                leave=True,
                dynamic_ncols=sized,
                ncols=None if sized else 100,
                nrows=None if sized else 40,  # tqdm hides every bar on a terminal of 0 rows
                mininterval=0.5,
                bar_format=None if total is not None else UNKNOWN_TOTAL,
            )

    def update(self, n: float = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def set_total(self, total: float | None) -> None:
        """Training loops learn their step count late (after the first epoch's loader is built)."""
        if self._bar is not None and total != self._bar.total:
            self._bar.total = total
            self._bar.bar_format = None if total is not None else UNKNOWN_TOTAL
            self._bar.refresh()

    def set_position(self, n: float) -> None:
        if self._bar is not None:
            self._bar.n = n
            self._bar.refresh()

    def set_note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def refresh(self) -> None:
        """Redraw, so the elapsed time moves while an entry that reports nothing trains."""
        if self._bar is not None:
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@contextmanager
def bar(total: float | None, desc: str, unit: str = "it") -> Iterator[Bar]:
    """``with bar(n_batches, ACCURACY, "batch") as b: ... b.update()``; closed even on error."""
    handle = Bar(total, desc, unit)
    try:
        yield handle
    finally:
        handle.close()


def track(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate with a bar (``for run in track(runs, "validate", unit="record")``)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with bar(total, desc, unit) as handle:
        for item in items:
            yield item
            handle.update()


def _number(value: Any) -> float | None:
    """The child is untrusted: only finite real numbers get through (whole ones as ints, so a bar
    reads 3/57, not 3.0/57.0)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value) if float(value).is_integer() else float(value)


class StepProgress:
    """Training progress as the entry reports it: step n of N, a loss, a short note.

    Callable with the ``ctx.report_progress`` signature; ``on_message`` takes the dict that
    ``PredictorContext.progress`` receives, or the sandbox's ``{"kind": "progress", ...}`` message,
    read tolerantly (a malformed one is ignored, never an error: progress must not fail a run).
    """

    def __init__(self, handle: Bar | None = None) -> None:
        self.handle = handle
        self.step: float | None = None
        self.total: float | None = None
        self.loss: float | None = None
        self.note = ""
        self.updated_at: float | None = None

    def __call__(self, step: float, total: float | None = None, loss: float | None = None, note: str = "") -> None:
        step_n = _number(step)
        if step_n is None or step_n < 0:
            return
        self.step, self.loss = step_n, _number(loss)
        total_n = _number(total)
        if total_n is not None and total_n > 0:
            self.total = total_n
        self.note = "".join(ch for ch in str(note)[:80] if ch.isprintable())
        self.updated_at = time.monotonic()
        if self.handle is not None:
            self.handle.set_total(self.total)
            self.handle.set_position(min(step_n, self.total) if self.total else step_n)
            self.handle.set_note(self._details())

    def reset(self) -> None:
        self.step = self.total = self.loss = self.updated_at = None
        self.note = ""

    @contextmanager
    def showing(self, desc: str = FIT) -> Iterator[StepProgress]:
        """A bar fed by this object's reports while the block runs (the fit): the context, and so
        ``ctx.progress``, exists before and after the fit, the bar only during it. Each block starts
        from nothing, so a heartbeat never repeats the previous fit's last report."""
        self.reset()  # a second fit (the counted one, then the metered one) starts from nothing
        with bar(None, desc, "step") as handle:
            self.handle = handle
            try:
                yield self
            finally:
                self.handle = None

    def on_message(self, message: Mapping[str, Any]) -> None:
        if not isinstance(message, Mapping) or message.get("kind", "progress") != "progress":
            return
        note = message.get("note")
        self(message.get("step"), message.get("total"), message.get("loss"), note if isinstance(note, str) else "")

    def _details(self) -> str:
        parts = [f"loss {self.loss:.4g}"] if self.loss is not None else []
        return ", ".join(parts + ([self.note] if self.note else []))

    def summary(self) -> str:
        """``step 40/57, loss 0.412, epoch 2`` or ``""`` when the entry has said nothing yet."""
        if self.step is None:
            return ""
        of = f"/{self.total:g}" if self.total else ""
        details = self._details()
        return f"step {self.step:g}{of}" + (f", {details}" if details else "")


@contextmanager
def training() -> Iterator[StepProgress]:
    """A fresh ``StepProgress`` showing the fit bar: ``with training() as steps: fit(ctx.progress=steps.on_message)``."""
    with StepProgress().showing() as steps:
        yield steps


class Heartbeat:
    """One line every ``interval_s`` while a long step runs: ``fit still running: 3 min; step 40/57, loss 0.41``.

    It reports what the entry last said through ``StepProgress``, never a stale stderr line; with
    no report yet it says so. Silent under ``--quiet`` and while a bar is showing the same thing.
    """

    def __init__(
        self,
        op: str,
        log: Callable[[str], None],
        progress: StepProgress | None = None,
        interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.op, self.log, self.progress, self.interval_s, self.clock = op, log, progress, interval_s, clock
        self.started = self.last = clock()

    def message(self) -> str:
        elapsed = self.clock() - self.started
        took = f"{elapsed:.0f} s" if elapsed < 120 else f"{elapsed / 60:.0f} min"
        said = self.progress.summary() if self.progress is not None else ""
        return f"      {self.op} still running: {took}; " + (said or "no progress reported by the entry yet")

    def tick(self) -> bool:
        """Call often (each poll of the child); logs at most once per ``interval_s``. True if it logged."""
        now = self.clock()
        if bars_enabled():
            if self.progress is not None and self.progress.handle is not None:
                self.progress.handle.refresh()
            return False
        if now - self.last < self.interval_s or is_quiet():
            return False
        self.last = now
        self.log(self.message())
        return True


def setup_logging(quiet: bool) -> None:
    """Step lines of the ``greenbench`` logger on the current stderr, as ``[greenbench] ...``."""
    import logging

    logger = logging.getLogger("greenbench")
    for old in [h for h in logger.handlers if getattr(h, "greenbench_cli", False)]:
        logger.removeHandler(old)  # an earlier call's stderr may be gone (tests swap it per call)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[greenbench] %(message)s"))
    handler.greenbench_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
