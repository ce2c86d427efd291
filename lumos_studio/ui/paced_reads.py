"""Reads that follow the store's commits, paced: one at a time, each followed by a pause.

While spans stream in, commits come ten times a second. A pane that read the store again for
each one ran its reads back to back, and overlapping: a cancelled thread worker still runs its
query to the end. With the studio open on a store of a million spans, the metrics strip
(~170 ms alone) was read 39 times in 11 s, 58 s of reads in all, and ingest into the studio
ran at 4.6k spans/s instead of 7.9k (``bench``-style script in the session 17 note).

So a ``PacedReads`` starts a read only when the last one has ended and a pause has passed:
``factor - 1`` times the last read's duration, ``least`` at least and ``MOST`` at most (a read
slowed by a busy machine, the first one's cold caches, must not hold the next for long). Asked
meanwhile, it reads once more when the pause is over, so the last commit is always read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.timer import Timer
from textual.worker import Worker

__all__ = ["MOST", "PacedReads"]

MOST = 2.0  # seconds: the longest pause between two reads


class PacedReads:
    """``PacedReads(start, set_timer, factor=, least=)``: ``start`` begins a read (a worker,
    or None when there is nothing to read); ``set_timer`` is the app's. The app passes every
    ``Worker.StateChanged`` to ``worker_changed``."""

    def __init__(self, start: Callable[[], Worker[Any] | None],
                 set_timer: Callable[[float, Callable[[], None]], Timer], *,
                 factor: float, least: float = 0.0) -> None:
        self._start = start
        self._set_timer = set_timer
        self._factor = factor
        self._least = least
        self._read: Worker[Any] | None = None  # the read running now
        self._started = 0.0
        self._next_at = 0.0  # no read before this moment
        self._again = False  # asked while a read ran or during the pause
        self._timer: Timer | None = None

    @property
    def settled(self) -> bool:
        """Nothing read now and nothing waiting to be: what was asked has been read."""
        return not self._again and (self._read is None or self._read.is_finished)

    def ask(self) -> None:
        """The store changed: read again, now or once the running read and its pause end."""
        if self._read is not None:
            if not self._read.is_finished:
                self._again = True
                return
            # Ended, its ``Worker.StateChanged`` not handled yet: its pause starts now (read
            # at once, the next read followed it with no pause at all).
            self._ended()
        wait = self._next_at - time.monotonic()
        if wait > 0:
            self._again = True
            if self._timer is None:
                self._timer = self._set_timer(wait, self._when_due)
            return
        self._again = False
        self.running(self._start())

    def running(self, read: Worker[Any] | None) -> None:
        """``read`` was started elsewhere (a trace opened by the user): asks wait for it."""
        self._read = read
        self._started = time.monotonic()

    def worker_changed(self, worker: Worker[Any]) -> None:
        """A worker changed state: if it is this read ending, the pause starts."""
        if worker is not self._read or not worker.is_finished:
            return
        self._ended()
        if self._again:
            self.ask()

    def _ended(self) -> None:
        """The read has ended: no read again before its pause is over."""
        self._read = None
        now = time.monotonic()
        pause = min(MOST, max(self._least, (self._factor - 1) * (now - self._started)))
        self._next_at = now + pause

    def _when_due(self) -> None:
        self._timer = None
        if self._again:
            self.ask()
