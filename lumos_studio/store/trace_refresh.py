"""When a trace's summary row is made again from its spans: at once for most traces, at a
bounded rate for huge ones.

Each batch refreshes the ``traces`` row of every trace it touched from all of that trace's
spans (``write_statements.refresh_traces``): counts, sums and distinct names are read again,
~0.4 µs a span of the trace. For a run of 20 spans that is nothing; a live trace of 100,000
spans arriving in 200 batches paid ~40 ms a batch, and ingest into it ran at half the speed
(``bench ingest``, "one huge trace").

So a trace is held when its refresh last counted ``HUGE_TRACE`` spans or more, and so are the
largest of a batch's traces when together they last counted more than ``BATCH_READS`` (many
live runs at once, each adding a few spans a batch). A held trace is refreshed at most once
per ``HOLD_FACTOR`` times the duration of the last refreshes of every live held trace (those
that got spans in the last ``LIVE_WINDOW`` seconds; ``MIN_HOLD`` at least), which bounds the
share of the writer's time their refreshes take together. Meanwhile a held row lags behind its
spans, which are committed and shown at once.

Bounds per trace alone fell short (``bench ingest``'s load spread over concurrent live runs,
their spans interleaved): ten runs of 10,000 spans, each refreshed every 0.25 s, took ~23 % of
the receiver's CPU and ingest ran at 20k spans/s instead of 30k; 25 runs of 4,000 spans, each
below ``HUGE_TRACE`` for half the load and so refreshed by every batch, 21.9k.

A batch that comes after the hold has passed refreshes it at once; a flush, the writer's idle
time and its close refresh every held trace, so whoever flushed reads exact rows.

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
BATCH_READS = 2_000  # spans a batch's refreshes read at most, as its traces last counted
HOLD_FACTOR = 20  # held this many times the live held traces' refreshes: ~5 % of the time
LIVE_WINDOW = 5.0  # seconds: a huge trace that got spans this recently counts as live
MIN_HOLD = 0.25  # seconds: as long as the writer waits before its idle work
REMEMBERED = 4_096  # traces whose last refresh is kept (evicted: learnt again)

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
    learnt: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # (spans, took, at)


@dataclass(slots=True)
class _Known:
    spans: int  # what its last refresh counted
    took: float  # seconds its last refresh took (0: not timed: refreshed with a batch)
    at: float  # when it was last refreshed
    seen: float  # when a batch last brought it spans


class TraceRefresh:
    """The writer's record of huge and held traces; its methods run on the writer's thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._known: OrderedDict[str, _Known] = OrderedDict()  # the last refreshed, LRU
        self._live: dict[str, _Known] = {}  # timed ones seen within ``LIVE_WINDOW``
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
        """For a batch of ``trace_ids``: small traces refreshed with it, huge ones (and the
        largest beyond ``BATCH_READS``) held unless their hold has passed, and the held traces
        now due."""
        now = self._clock()
        together: list[str] = []
        apart = [t for t, due in self._held.items() if due <= now]
        held: dict[str, float] = {}
        hold = self._hold(trace_ids, now)
        for trace_id, holdable in self._holdable(trace_ids).items():
            due = self._due(trace_id, now, hold if holdable else None)
            if due is None:
                together.append(trace_id)
            elif due > now:
                held[trace_id] = due
            elif trace_id not in self._held:
                apart.append(trace_id)
        return RefreshPlan(tuple(together), tuple(apart), held, now)

    def _holdable(self, trace_ids: Collection[str]) -> dict[str, bool]:
        """The batch's traces, each with whether it may be held: huge, or among the largest
        of a batch whose known traces last counted more than ``BATCH_READS`` together."""
        known = self._known
        marked = {t: t in known and known[t].spans >= HUGE_TRACE for t in trace_ids}
        sizes = sorted(((known[t].spans, t) for t in trace_ids if t in known and not marked[t]),
                       reverse=True)
        reads = sum(spans for spans, _ in sizes)
        for spans, trace_id in sizes:
            if reads <= BATCH_READS:
                break
            marked[trace_id] = True
            reads -= spans
        return marked

    def plan_held(self) -> RefreshPlan:
        """Every held trace, now (a flush, idle time, closing)."""
        return RefreshPlan(apart=tuple(self._held), at=self._clock())

    def run(self, statements: RefreshStatements, plan: RefreshPlan) -> RefreshDone:
        """Write ``plan``'s rows in the caller's transaction."""
        done = RefreshDone(held=dict(plan.held))
        if plan.together:
            for trace_id, spans in statements.refresh(plan.together):
                done.learnt[trace_id] = (spans, 0.0, plan.at)
        for trace_id in plan.apart:
            started = self._clock()
            counted = statements.refresh([trace_id])
            ended = self._clock()
            done.refreshed.add(trace_id)
            done.learnt[trace_id] = (counted[0][1] if counted else 0, ended - started, ended)
        if plan.apart:
            statements.release(plan.apart)
        if plan.held:  # again, though held before: another writer may have refreshed it
            statements.hold(sorted(plan.held))
        return done

    def settle(self, done: RefreshDone) -> None:
        """``done``'s transaction committed: remember what it learnt and held."""
        for trace_id in done.refreshed:
            self._held.pop(trace_id, None)
        known = self._known
        for trace_id, (spans, took, at) in done.learnt.items():
            last = known.get(trace_id)
            if last is None:
                known[trace_id] = last = _Known(spans, took, at, at)
            else:
                last.spans, last.took, last.at = spans, took, at
                known.move_to_end(trace_id)
            if took:
                self._live[trace_id] = last
        while len(known) > REMEMBERED:
            evicted, _ = known.popitem(last=False)
            self._live.pop(evicted, None)
        for trace_id, due in done.held.items():
            self._held.setdefault(trace_id, due)

    def _hold(self, trace_ids: Collection[str], now: float) -> float:
        """How long a trace is held now: ``HOLD_FACTOR`` times what the last refreshes of the
        live held traces took together. Marks the batch's timed traces live."""
        known, live = self._known, self._live
        for trace_id in trace_ids:
            last = known.get(trace_id)
            if last is not None and last.took:
                last.seen = now
                live[trace_id] = last
        for trace_id in [t for t, last in live.items() if last.seen < now - LIVE_WINDOW]:
            del live[trace_id]
        return max(MIN_HOLD, HOLD_FACTOR * sum(last.took for last in live.values()))

    def _due(self, trace_id: str, now: float, hold: float | None) -> float | None:
        """None: refresh with the batch; ``now``: refresh apart, timed; later: hold until.
        ``hold`` is None for a trace not to be held now (unless it is already)."""
        if trace_id in self._held:
            return max(self._held[trace_id], now)
        if hold is None:
            return None
        return max(self._known[trace_id].at + hold, now)
