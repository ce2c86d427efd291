"""When a trace's summary row is made again from its spans: at once for most traces, at a
bounded rate for huge ones.

Each batch refreshes the ``traces`` row of every trace it touched from all of that trace's
spans (``write_statements.refresh_traces``): counts, sums and distinct names are read again,
~0.4 µs a span of the trace. For a run of 20 spans that is nothing; a live trace of 100,000
spans arriving in 200 batches paid ~40 ms a batch, and ingest into it ran at half the speed
(``bench ingest``, "one huge trace").

So a trace whose refresh last counted ``HUGE_TRACE`` spans or more is held: refreshed at most
once per ``HOLD_FACTOR`` times its last refresh's duration (``MIN_HOLD`` at least), which
bounds the share of the writer's time its refreshes take. Meanwhile its row lags behind its
spans, which are committed and shown at once. A batch that comes after the hold has passed
refreshes it at once; a flush, the writer's idle time and its close refresh every held trace,
so whoever flushed reads exact rows.

A held trace is written in ``trace_refresh_due`` in the transaction that stored its spans:
after a crash, the next writer refreshes it (``held_at_open``).
"""

from __future__ import annotations

import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from lumos_studio.store.sql_batches import fixed_chunks
from lumos_studio.store.write_statements import refresh_traces

__all__ = ["HUGE_TRACE", "RefreshDone", "TraceRefresh", "create_due_table"]

HUGE_TRACE = 2_000  # spans: a refresh of ~1 ms, the most a batch pays for a trace at once
HOLD_FACTOR = 10  # held this many times its refresh's duration: at most ~10 % of the time
MIN_HOLD = 0.25  # seconds: as long as the writer waits before its idle work
REMEMBERED = 4_096  # huge traces whose refresh's duration is kept (evicted: learnt again)

_DUE_TABLE = "trace_refresh_due"


def create_due_table(connection: sqlite3.Connection) -> None:
    """Schema 15: the traces whose summary row waits for a refresh."""
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS {_DUE_TABLE} (trace_id TEXT PRIMARY KEY) WITHOUT ROWID")


@dataclass(slots=True)
class RefreshDone:
    """What one transaction's refreshes did, applied to ``TraceRefresh`` once it commits."""

    refreshed: set[str] = field(default_factory=set)  # held traces made exact
    held: dict[str, float] = field(default_factory=dict)  # trace id → when due
    learnt: dict[str, tuple[float, float]] = field(default_factory=dict)  # (took, at)
    small: set[str] = field(default_factory=set)  # no longer huge (spans were deleted)


@dataclass(slots=True)
class _Huge:
    took: float  # seconds its last refresh took (0: not timed yet)
    at: float  # when it was last refreshed


class TraceRefresh:
    """The writer's record of huge and held traces; every method runs on the writer's thread,
    inside the transaction the caller opened."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._huge: OrderedDict[str, _Huge] = OrderedDict()
        self._held: dict[str, float] = {}  # trace id → when due; never forgotten

    @property
    def holding(self) -> bool:
        """Whether a trace's row waits for a refresh (the writer's idle time will do it)."""
        return bool(self._held)

    def held_at_open(self, connection: sqlite3.Connection) -> None:
        """Hold, due at once, the traces a previous writer held when it stopped (a store
        older than schema 15 has none)."""
        if not connection.execute(
                "SELECT 1 FROM sqlite_master WHERE name = ?", (_DUE_TABLE,)).fetchone():
            return
        for (trace_id,) in connection.execute(f"SELECT trace_id FROM {_DUE_TABLE}"):
            self._held.setdefault(trace_id, 0.0)

    def refresh(self, connection: sqlite3.Connection, trace_ids: Collection[str]) -> RefreshDone:
        """Refresh the rows of ``trace_ids`` (a batch's traces), holding huge ones, and the
        held traces now due."""
        now = self._clock()
        done = RefreshDone()
        together: list[str] = []
        apart = [t for t, due in self._held.items() if due <= now]
        for trace_id in trace_ids:
            due = self._due(trace_id, now)
            if due is None:
                together.append(trace_id)
            elif due > now:
                done.held[trace_id] = due
            elif trace_id not in self._held:
                apart.append(trace_id)
        for ids in fixed_chunks(together):
            for trace_id, spans in connection.execute(refresh_traces(len(ids)), ids):
                if spans >= HUGE_TRACE:
                    done.learnt[trace_id] = (0.0, now)
        self._refresh_apart(connection, apart, done)
        if newly_held := [(t,) for t in done.held if t not in self._held]:
            connection.executemany(
                f"INSERT OR IGNORE INTO {_DUE_TABLE} (trace_id) VALUES (?)", newly_held)
        return done

    def refresh_held(self, connection: sqlite3.Connection) -> RefreshDone:
        """Refresh every held trace (a flush, idle time, closing)."""
        done = RefreshDone()
        self._refresh_apart(connection, list(self._held), done)
        return done

    def settle(self, done: RefreshDone) -> None:
        """``done``'s transaction committed: remember what it learnt and held."""
        for trace_id in done.refreshed:
            self._held.pop(trace_id, None)
        for trace_id in done.small:
            self._huge.pop(trace_id, None)
        for trace_id, (took, at) in done.learnt.items():
            self._huge[trace_id] = _Huge(took, at)
            self._huge.move_to_end(trace_id)
        while len(self._huge) > REMEMBERED:
            self._huge.popitem(last=False)
        for trace_id, due in done.held.items():
            self._held.setdefault(trace_id, due)

    def _due(self, trace_id: str, now: float) -> float | None:
        """None: refresh with the batch; ``now``: refresh apart, timed; later: hold until."""
        if trace_id in self._held:
            return max(self._held[trace_id], now)
        huge = self._huge.get(trace_id)
        if huge is None:
            return None
        return max(huge.at + max(MIN_HOLD, HOLD_FACTOR * huge.took), now)

    def _refresh_apart(self, connection: sqlite3.Connection, trace_ids: Iterable[str],
                       done: RefreshDone) -> None:
        """Refresh each trace alone, timed: how long it took sets how long it is held next."""
        statement = refresh_traces(1)
        held = []
        for trace_id in trace_ids:
            started = self._clock()
            counted = connection.execute(statement, (trace_id,)).fetchall()
            ended = self._clock()
            done.refreshed.add(trace_id)
            held.append((trace_id,))
            if counted and counted[0][1] >= HUGE_TRACE:
                done.learnt[trace_id] = (ended - started, ended)
            else:
                done.small.add(trace_id)
        if held:
            connection.executemany(f"DELETE FROM {_DUE_TABLE} WHERE trace_id = ?", held)
