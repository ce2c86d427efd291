"""The writer's next index step, read and made on a thread of its own while the writer writes
the one before.

An index step is two halves of about the same cost: making the texts of the queued spans
(Python: the span's slim parse, its messages' JSON, digests; under the GIL) and writing their
words (FTS5, in SQLite, without the GIL). Done one after the other on the writer's thread,
``serve``'s backlog after a burst took one core while the other sat idle. Here the making of
step n + 1 runs beside the writing of step n, on a read-only connection of its own
(``trace_index.plan_step``); the writer applies what it is given (``trace_index.apply_step``),
which copes with a store that moved on meanwhile. Only for a process without a UI
(``serve``): beside a UI, the planner would take the GIL from its thread.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from lumos_studio.store import trace_index
from lumos_studio.store.connection import open_reader_connection
from lumos_studio.store.trace_index import TextStep

__all__ = ["TextPlanner"]


class TextPlanner:
    """Plans index steps of ``limit`` entries one ahead of the writer, for the writer's thread
    alone: ``take`` the next, then ``committed`` (or ``rolled_back``) once its transaction ends.
    """

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self._connection: sqlite3.Connection | None = None  # opened on the planning thread
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lumos-text-plan")
        self._ahead: Future[TextStep | None] | None = None
        self._taken: list[int] = []  # entries of steps taken and not yet committed

    def take(self) -> TextStep | None:
        """The next step (None: nothing queued), and the one after it started meanwhile."""
        ahead = self._ahead if self._ahead is not None else self._plan()
        self._ahead = None
        step = ahead.result()
        if step is not None:
            self._taken.extend(entry[0] for entry in step.entries)
            self._ahead = self._plan()
        return step

    def committed(self) -> None:
        """The steps taken are written: their entries are gone from the queue."""
        self._taken = []

    def rolled_back(self) -> None:
        """The steps taken were not written: their entries wait in the queue again, and a step
        planned past them is planned anew."""
        self._taken = []
        self._ahead = None

    def close(self) -> None:
        self._ahead = None
        self._thread.submit(self._close_connection)
        self._thread.shutdown(wait=True)

    def _plan(self) -> Future[TextStep | None]:
        return self._thread.submit(self._plan_now, tuple(self._taken))

    def _plan_now(self, skip: tuple[int, ...]) -> TextStep | None:
        if self._connection is None:
            self._connection = open_reader_connection(self.path, plain_rows=True)
        return trace_index.plan_step(self._connection, self.limit, skip)

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
