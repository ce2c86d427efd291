"""What the writer's queue holds: receivers' batches, flush markers and commands, each
entry a class of its own (``match`` in the writer's loop), and the queue that weighs a batch by
its records so that ``max_queue`` bounds records, not entries."""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence

from lumos_studio.store.pending import PendingRows

__all__ = ["IDLE", "NO_ENTRY", "WAKE", "Batch", "Command", "Entry", "Flush", "Idle", "NoEntry",
           "RecordQueue", "Wake"]


class Flush:
    """A marker in the queue; set once everything queued before it is committed (and, if
    ``searchable``, its message text indexed)."""

    __slots__ = ("done", "due", "searchable")

    def __init__(self, searchable: bool = True) -> None:
        self.done = threading.Event()
        self.due: list[int] = []  # each lane's ``taken`` count that covers what came before
        self.searchable = searchable


class Batch:
    """Records queued as one entry by ``commit``, as rows; ``ok`` tells if they committed, less
    the records the store could not hold, whose reasons are in ``rejected``."""

    __slots__ = ("done", "ok", "rejected", "rows", "size")

    def __init__(self, rows: PendingRows) -> None:
        self.rows = rows
        self.size = len(rows) or 1
        self.done = threading.Event()
        self.ok = False
        self.rejected: list[str] = []


class Command:
    """A change other than ingest (pin, delete), run by the writer in a transaction of its own."""

    __slots__ = ("done", "due", "ok", "run", "trace_ids")

    def __init__(self, run: Callable[[sqlite3.Connection], None], trace_ids: Sequence[str]) -> None:
        self.run = run
        self.trace_ids = frozenset(trace_ids)
        self.done = threading.Event()
        self.due: list[int] = []
        self.ok = False


class Wake:
    """Put in the queue by a lane whose putter found the writer about to sleep."""

    __slots__ = ()


WAKE = Wake()


class Idle:
    """What waiting returns after it indexed text instead (the queue stayed empty)."""

    __slots__ = ()


IDLE = Idle()


class NoEntry:
    """What a look at the queue returns when it is empty."""

    __slots__ = ()


NO_ENTRY = NoEntry()

Entry = Flush | Batch | Command | Wake | None


class RecordQueue(queue.Queue[Entry]):
    """A bounded queue whose size counts records: a batch entry weighs what it holds."""

    def _init(self, maxsize: int) -> None:
        super()._init(maxsize)
        self.records = 0

    def _qsize(self) -> int:
        return self.records

    # Weights are never 0: Queue.get waits while the size is 0, so such an entry would never be
    # read.
    def _put(self, item: Entry) -> None:
        self.queue.append(item)
        self.records += item.size if type(item) is Batch else 1

    def _get(self) -> Entry:
        item: Entry = self.queue.popleft()
        self.records -= item.size if type(item) is Batch else 1
        return item
