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

Both engines: ``plan`` decides in memory which rows a transaction writes (PostgreSQL's writer
locks those traces first, in one order), ``run`` writes them through the engine's
``RefreshStatements``, ``settle`` keeps what a committed transaction learnt.
"""

from __future__ import annotations

import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lumos_studio.store.sql_batches import fixed_chunks
from lumos_studio.store.write_statements import refresh_traces

__all__ = [
    "DUE_TABLE",
    "HUGE_TRACE",
    "RefreshDone",
    "RefreshPlan",
    "RefreshStatements",
    "SqliteRefresh",
    "TraceRefresh",
    "create_due_table",
]

HUGE_TRACE = 2_000  # spans: a refresh of ~1 ms, the most a batch pays for a trace at once
HOLD_FACTOR = 10  # held this many times its refresh's duration: at most ~10 % of the time
MIN_HOLD = 0.25  # seconds: as long as the writer waits before its idle work
REMEMBERED = 4_096  # huge traces whose refresh's duration is kept (evicted: learnt again)

DUE_TABLE = "trace_refresh_due"


def create_due_table(connection: sqlite3.Connection) -> None:
    """Schema 15: the traces whose summary row waits for a refresh."""
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS {DUE_TABLE} (trace_id TEXT PRIMARY KEY) WITHOUT ROWID")


class RefreshStatements(Protocol):
    """One engine's statements, run in the caller's transaction."""

    def refresh(self, trace_ids: Sequence[str]) -> list[tuple[str, int]]:
        """Make these traces' rows again from their spans; each one's (id, span count)."""
        ...

    def hold(self, trace_ids: Sequence[str]) -> None:
        """Write these traces in the due table."""
        ...

    def release(self, trace_ids: Sequence[str]) -> None:
        """Take these traces off the due table."""
        ...

    def held(self) -> list[str]:
        """The traces in the due table."""
        ...


class SqliteRefresh:
    """``RefreshStatements`` on SQLite's writer connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def refresh(self, trace_ids: Sequence[str]) -> list[tuple[str, int]]:
        counted: list[tuple[str, int]] = []
        for ids in fixed_chunks(list(trace_ids)):
            counted.extend(self._connection.execute(refresh_traces(len(ids)), ids))
        return counted

    def hold(self, trace_ids: Sequence[str]) -> None:
        self._connection.executemany(
            f"INSERT OR IGNORE INTO {DUE_TABLE} (trace_id) VALUES (?)", [(t,) for t in trace_ids])

    def release(self, trace_ids: Sequence[str]) -> None:
        self._connection.executemany(
            f"DELETE FROM {DUE_TABLE} WHERE trace_id = ?", [(t,) for t in trace_ids])

    def held(self) -> list[str]:
        """(A store older than schema 15 has no due table, and nothing held.)"""
        if not self._connection.execute(
                "SELECT 1 FROM sqlite_master WHERE name = ?", (DUE_TABLE,)).fetchone():
            return []
        return [row[0] for row in self._connection.execute(f"SELECT trace_id FROM {DUE_TABLE}")]


@dataclass(frozen=True, slots=True)
class RefreshPlan:
    """Which rows one transaction writes: ``together`` in one statement, ``apart`` each alone
    and timed (huge traces due), and the huge traces ``held`` until when."""

    together: tuple[str, ...] = ()
    apart: tuple[str, ...] = ()
    held: dict[str, float] = field(default_factory=dict)
    at: float = 0.0

    @property
    def refreshed(self) -> list[str]:
        """The traces whose rows it writes, in one order (PostgreSQL locks them so)."""
        return sorted({*self.together, *self.apart})


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
    """The writer's record of huge and held traces; its methods run on the writer's thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._huge: OrderedDict[str, _Huge] = OrderedDict()
        self._held: dict[str, float] = {}  # trace id → when due; never forgotten

    @property
    def holding(self) -> bool:
        """Whether a trace's row waits for a refresh (the writer's idle time will do it)."""
        return bool(self._held)

    def held_at_open(self, statements: RefreshStatements) -> None:
        """Hold, due at once, the traces a previous writer held when it stopped."""
        for trace_id in statements.held():
            self._held.setdefault(trace_id, 0.0)

    def plan(self, trace_ids: Collection[str]) -> RefreshPlan:
        """For a batch of ``trace_ids``: small traces refreshed with it, huge ones held unless
        their hold has passed, and the held traces now due."""
        now = self._clock()
        together: list[str] = []
        apart = [t for t, due in self._held.items() if due <= now]
        held: dict[str, float] = {}
        for trace_id in trace_ids:
            due = self._due(trace_id, now)
            if due is None:
                together.append(trace_id)
            elif due > now:
                held[trace_id] = due
            elif trace_id not in self._held:
                apart.append(trace_id)
        return RefreshPlan(tuple(together), tuple(apart), held, now)

    def plan_held(self) -> RefreshPlan:
        """Every held trace, now (a flush, idle time, closing)."""
        return RefreshPlan(apart=tuple(self._held), at=self._clock())

    def run(self, statements: RefreshStatements, plan: RefreshPlan) -> RefreshDone:
        """Write ``plan``'s rows in the caller's transaction."""
        done = RefreshDone(held=dict(plan.held))
        if plan.together:
            for trace_id, spans in statements.refresh(plan.together):
                if spans >= HUGE_TRACE:
                    done.learnt[trace_id] = (0.0, plan.at)
        for trace_id in plan.apart:
            started = self._clock()
            counted = statements.refresh([trace_id])
            ended = self._clock()
            done.refreshed.add(trace_id)
            if counted and counted[0][1] >= HUGE_TRACE:
                done.learnt[trace_id] = (ended - started, ended)
            else:
                done.small.add(trace_id)
        if plan.apart:
            statements.release(plan.apart)
        if plan.held:  # again, though held before: another writer may have refreshed it
            statements.hold(sorted(plan.held))
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
