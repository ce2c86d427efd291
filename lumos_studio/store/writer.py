"""The single writer: one thread drains its lanes and a bounded queue into SQLite in batched
transactions.

Everything that ingests spans goes through it, nothing else writes: single records through
lanes (``submit``; the in-process processors have lanes of their own, ``store.lane``), the OTLP
receiver's batches through ``commit_rows``, replay through ``submit_many``. Conversion of SDK
spans happens here, off the agent's thread. After each commit, subscribers learn which traces
changed.

One transaction holds many clients' records, so one record the store cannot hold (an integer
past 64 bits, a value SQLite cannot bind) must not fail the others: the writer then writes
each client's batch apart, halving a failing one until the failing records are found
(``store.isolation``), drops and counts those (``rejected``, with a warning naming them) and
commits the rest. Each batch learns which of its records were dropped (``commit_rows``). A
store that is locked, full or read-only fails the transaction as a whole, as before: retrying
in parts would not help.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lumos_studio.store import trace_index
from lumos_studio.store.checkpoint import Checkpointer
from lumos_studio.store.compaction import compact_pending, give_back_pages
from lumos_studio.store.connection import open_writer_connection
from lumos_studio.store.isolation import is_data_error, write_isolating
from lumos_studio.store.lane import Lane
from lumos_studio.store.pending import Convert, Convertible, Item, PendingRows, as_record
from lumos_studio.store.schema import LOG_COLUMNS, SPAN_COLUMNS, ensure_schema, index_new_logs
from lumos_studio.store.sql_batches import fixed_chunks
from lumos_studio.store.storage_error import StorageProblem, storage_problem

__all__ = ["ChangeListener", "Convertible", "Item", "Lane", "StoreChange", "StoreWriter"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoreChange:
    """What one commit changed: the traces whose spans changed, and how many logs were added."""

    trace_ids: frozenset[str]
    logs: int = 0
    log_trace_ids: frozenset[str] = frozenset()


ChangeListener = Callable[[StoreChange], None]

# Spans whose message text one idle step indexes: ~10 ms, short enough that a batch arriving
# meanwhile hardly waits.
TEXTS_PER_IDLE_STEP = 200
# Spans compressed in one idle step (~15 µs each): as short a transaction as an index step.
SPANS_PER_IDLE_STEP = 500
# How long the queue stays empty before the writer indexes: receivers' requests arrive closer
# together than this during a burst, so bulk ingest never waits behind the index.
IDLE_BEFORE_INDEXING = 0.25
# Once idle, the pause between two index steps: it leaves the GIL to the UI's thread between
# steps (a process without a UI, ``serve``, sets ``idle_pause`` to 0: the pauses made a quarter
# of the time a backlog took). Waiting IDLE_BEFORE_INDEXING before every step indexed ~700 texts
# a second: twelve minutes for a store of a million spans (schema 6 re-indexes a store when it is
# opened).
IDLE_BETWEEN_STEPS = 0.005


# Spans are written with multi-row statements, not executemany: sqlite3 releases the GIL around
# every step, and while the receiver's threads decode, each re-acquisition can wait a whole switch
# interval. A batch is one statement (two past 1,024 rows), so a transaction takes ~5 round trips.
# Its rows are padded with NULL rows (left out by the statement) to a multiple of
# ``_ROWS_STEP``: the in-process lanes' batches come in every size, and compiling a statement of
# a size not seen lately cost ~4 ms (500 rows) where running it costs ~3.
_MAX_ROWS_PER_STATEMENT = 1_024  # 21 columns × 1,024 parameters, under SQLite's 32,766
_ROWS_STEP = 64
_PADDING = (None,) * len(SPAN_COLUMNS)


@functools.cache
def _upsert_spans(rows: int) -> str:
    """The upsert of ``rows`` value rows, those whose trace id is NULL (padding) left out."""
    row = f"({', '.join('?' * len(SPAN_COLUMNS))})"
    return (
        f"INSERT INTO spans ({', '.join(SPAN_COLUMNS)}) SELECT * FROM (VALUES "
        f"{', '.join([row] * rows)}) WHERE column1 IS NOT NULL "
        "ON CONFLICT(trace_id, span_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in SPAN_COLUMNS[2:])
        # A finished span is final: a late "started" copy or a re-import never overwrites it.
        + " WHERE spans.end_ns IS NULL"
    )


def _padded(chunk: Sequence[tuple[Any, ...]]) -> tuple[int, list[Any]]:
    """The statement size for ``chunk`` (a multiple of ``_ROWS_STEP``) and its parameters."""
    size = -(-len(chunk) // _ROWS_STEP) * _ROWS_STEP
    parameters = list(itertools.chain.from_iterable(chunk))
    parameters.extend(_PADDING * (size - len(chunk)))
    return size, parameters


_T = TypeVar("_T")


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """Slices of at most ``_MAX_ROWS_PER_STATEMENT``."""
    for start in range(0, len(items), _MAX_ROWS_PER_STATEMENT):
        yield items[start : start + _MAX_ROWS_PER_STATEMENT]


_INSERT_LOG = (
    f"INSERT OR IGNORE INTO logs ({', '.join(LOG_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(LOG_COLUMNS))})"
)

# An upsert, not INSERT OR REPLACE: a trace's pin outlives its refreshes, and so does its
# conversation id (given apart, to the traces without one: ``trace_index.set_conversations``).
# ``batch`` lists the traces. The conversation ids once came in ``batch`` too, read by a
# subquery for each trace: a scan of the batch each, ~30 µs a trace in an agent's batch of 800.
# What both engines' trace refresh shares: the columns, the run's names read from its spans, its
# times and span count (``TRACE_REFRESH_HEAD``), and what an existing trace's row takes
# (``TRACE_REFRESH_UPDATE``); each engine writes its own sums and its own list of the batch.
TRACE_REFRESH_HEAD = """
INSERT INTO traces (
    trace_id, root_name, agent_name, service_name, start_ns, end_ns, span_count, error_count,
    running_count, input_tokens, output_tokens, agents, models, tools)
SELECT
    s.trace_id,
    (SELECT name FROM spans r WHERE r.trace_id = s.trace_id
        ORDER BY r.parent_span_id IS NOT NULL, r.start_ns LIMIT 1),
    (SELECT agent_name FROM spans a WHERE a.trace_id = s.trace_id AND a.agent_name IS NOT NULL
        ORDER BY a.start_ns LIMIT 1),
    (SELECT service_name FROM spans v WHERE v.trace_id = s.trace_id
        ORDER BY v.parent_span_id IS NOT NULL, v.start_ns LIMIT 1),
    min(s.start_ns), max(s.end_ns), count(*),"""
TRACE_REFRESH_UPDATE = "ON CONFLICT (trace_id) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in (
        "root_name", "agent_name", "service_name", "start_ns", "end_ns", "span_count",
        "error_count", "running_count", "input_tokens", "output_tokens", "agents", "models",
        "tools"))
_REFRESH_TRACE = "WITH batch(trace_id) AS (VALUES {ids})" + TRACE_REFRESH_HEAD + """
    sum(s.status_code = 'ERROR'), sum(s.end_ns IS NULL),
    sum(CASE WHEN s.operation = 'chat' THEN s.input_tokens END),
    sum(CASE WHEN s.operation = 'chat' THEN s.output_tokens END),
    group_concat(DISTINCT s.agent_name), group_concat(DISTINCT s.model),
    group_concat(DISTINCT s.tool_name)
FROM spans s WHERE s.trace_id IN (SELECT trace_id FROM batch) GROUP BY s.trace_id
""" + TRACE_REFRESH_UPDATE


@functools.cache
def _refresh_traces(count: int) -> str:
    return _REFRESH_TRACE.format(ids=", ".join(["(?)"] * count))


# A span row is ~3 KB: with SQLite's default 4 KiB pages each takes a page of its own and costs
# ~40 µs to write; 64 KiB pages hold ~20 rows, and bulk ingest costs about half the CPU in 25 %
# less file (bench/ingest.py). A small live commit writes a few 64 KiB pages (~1 ms), which the
# writer's batching keeps rare. Better set in ``connection.py`` before WAL mode; here until then.
PAGE_SIZE = 65_536


def _use_large_pages(connection: sqlite3.Connection) -> None:
    """Give a new, empty store ``PAGE_SIZE`` pages, and incremental auto-vacuum (the pages
    compression frees go back to the disk: ``compaction``); a store with tables keeps its own."""
    if connection.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE:
        return
    if connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        return
    # WAL mode fixes the page size once the header is written; leave it for a moment.
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute(f"PRAGMA page_size={PAGE_SIZE}")
    connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
    connection.execute("VACUUM")
    connection.execute("PRAGMA journal_mode=WAL")


class _Flush:
    """A marker in the queue; set once everything queued before it is committed."""

    __slots__ = ("done", "due")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.due: list[int] = []  # each lane's ``taken`` count that covers what came before


class _Batch:
    """Records queued as one entry by ``commit``, as rows; ``ok`` tells if they committed, less
    the records the store could not hold, whose reasons are in ``rejected``."""

    __slots__ = ("done", "ok", "rejected", "rows", "size")

    def __init__(self, rows: PendingRows) -> None:
        self.rows = rows
        self.size = len(rows) or 1
        self.done = threading.Event()
        self.ok = False
        self.rejected: list[str] = []


class _Command:
    """A change other than ingest (pin, delete), run by the writer in a transaction of its own."""

    __slots__ = ("done", "due", "ok", "run", "trace_ids")

    def __init__(self, run: Callable[[sqlite3.Connection], None], trace_ids: Sequence[str]) -> None:
        self.run = run
        self.trace_ids = frozenset(trace_ids)
        self.done = threading.Event()
        self.due: list[int] = []
        self.ok = False


class _Wake:
    """Put in the queue by a lane whose putter found the writer about to sleep."""

    __slots__ = ()


_WAKE = _Wake()


class _Idle:
    """What waiting returns after it indexed text instead (the queue stayed empty)."""

    __slots__ = ()


_IDLE = _Idle()


class _NoEntry:
    """What a look at the queue returns when it is empty."""

    __slots__ = ()


_NO_ENTRY = _NoEntry()

Entry = _Flush | _Batch | _Command | _Wake | None


class _RecordQueue(queue.Queue[Entry]):
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
        self.records += item.size if type(item) is _Batch else 1

    def _get(self) -> Entry:
        item: Entry = self.queue.popleft()
        self.records -= item.size if type(item) is _Batch else 1
        return item


class StoreWriter:
    """Owns the only read-write connection; see the module docstring.

    Two ways in: single records go through lanes (``submit``, or a lane of one's own from
    ``lane``: the agent's thread pays a deque append), batches that a caller waits for and
    flushes, pins and deletes go through the queue. A flush or a command waits for what the
    lanes held when the writer read it.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_queue: int = 200_000,
        batch_size: int = 1_000,
        linger: float = 0.01,
    ) -> None:
        self.path = path
        self.batch_size = batch_size
        self.linger = linger  # seconds to gather single records into one transaction
        self.idle_pause = IDLE_BETWEEN_STEPS  # between two idle steps: the UI's turn
        self.max_queue = max_queue
        self._queue = _RecordQueue(max_queue)
        self._lanes: list[Lane[object]] = []
        self._default_lane: Lane[Item] = self.lane(as_record)
        self.sleeping = False  # the writer is about to block on the queue (see ``lane``)
        self._open_storage(path)
        self._texts_pending = True  # a previous session may have left some
        self._compaction_pending = True  # likewise: spans not compressed yet
        self._closed = False
        self._listeners: list[ChangeListener] = []
        self._thread: threading.Thread | None = None
        self.written = 0  # span rows inserted or updated (re-imports of final spans don't count)
        self.logs_written = 0
        self.dropped = 0
        self.failed_batches = 0
        # A full disk or a read-only store, from the last failed write until one succeeds.
        self.storage_error: StorageProblem | None = None
        self.rejected = 0  # records dropped because the store cannot hold a value of theirs

    def _open_storage(self, path: Path) -> None:
        """Open the connection, bring the schema up to date, start the checkpointer (the
        PostgreSQL writer, ``store.postgres.writer``, opens its own storage instead)."""
        self._connection = open_writer_connection(path)
        try:
            _use_large_pages(self._connection)
            ensure_schema(self._connection)
            Checkpointer.take_over(self._connection)
            self._checkpointer = Checkpointer(path)
        except BaseException:  # a full disk, a damaged file: leave no open file behind
            self._connection.close()
            raise

    def subscribe(self, listener: ChangeListener) -> None:
        """Call ``listener`` (on the writer thread) with what each commit changed."""
        self._listeners.append(listener)

    def start(self) -> StoreWriter:
        """Start the writer thread (once; never again after ``close``)."""
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(
                target=self._run, name="lumos-store-writer", daemon=True
            )
            self._thread.start()
        return self

    def lane(self, convert: Convert) -> Lane[Any]:
        """A lane of one's own: items ``convert`` turns into records on the writer's thread.

        For producers on a hot path (the in-process span processor): they put their own
        objects, with no wrapper to say how to convert them.
        """
        lane: Lane[Any] = Lane(self, convert, self.max_queue)
        self._lanes = [*self._lanes, lane]  # the writer thread iterates a list never mutated
        return lane

    def wake(self) -> None:
        """Make the writer's wait for an entry return (a lane's putter found it sleeping)."""
        with contextlib.suppress(queue.Full):  # full: the writer is busy, not asleep
            self._queue.put_nowait(_WAKE)

    def submit(self, item: Item, timeout: float | None = 0.0) -> bool:
        """Queue one span or log; False (and counted) if there was no room within ``timeout`` s."""
        return self._default_lane.put(item, timeout)

    def submit_many(self, records: Iterable[Item], timeout: float | None = None) -> int:
        """Queue records, waiting for room (for importers, which prefer slow to lossy)."""
        count = 0
        put = self._default_lane.put
        for record in records:
            if not put(record, timeout):
                break
            count += 1
        return count

    def has_room(self, count: int) -> bool:
        """Whether ``count`` more items fit now (receivers answer 503 instead of blocking)."""
        waiting = self._queue.qsize() + sum(len(lane) for lane in self._lanes)
        return self.max_queue - waiting >= count

    def commit(
        self, records: Sequence[Item], timeout: float = 10.0, rejected: list[str] | None = None
    ) -> bool:
        """Queue ``records`` as one entry and wait until the transaction holding them committed.

        What a receiver acknowledges is then durable. One queue entry and one wake-up per call
        instead of one per record, and the rows are made here, on the caller's thread
        (``store.pending``); False if there was no room within ``timeout``, if the commit took
        longer, or if the transaction failed (then none of them was stored). A record the store
        cannot hold is dropped on its own: True for the rest, and the reason is appended to
        ``rejected`` (see the module's docstring).
        """
        return self.commit_rows(PendingRows.of(records), timeout, rejected)

    def commit_rows(
        self, rows: PendingRows, timeout: float = 10.0, rejected: list[str] | None = None
    ) -> bool:
        """``commit`` for records already made into rows (the OTLP receiver makes them so)."""
        if self._thread is None:
            self.start()
        if self._closed:
            return False
        entry = _Batch(rows)
        try:
            self._queue.put(entry, timeout=timeout)
        except queue.Full:
            return False
        if not entry.done.wait(timeout):
            return False
        if rejected is not None:
            rejected.extend(entry.rejected)
        return entry.ok

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is committed."""
        if self._thread is None:
            self.start()
        if self._closed:
            return False
        marker = _Flush()
        try:
            self._queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.done.wait(timeout)

    def pin_traces(self, trace_ids: Sequence[str], pinned: bool, timeout: float = 10.0) -> bool:
        """Pin (or unpin) traces; True once committed."""
        pinned_ns = time.time_ns() if pinned else None
        return self._command(lambda c: trace_index.pin(c, trace_ids, pinned_ns), trace_ids,
                             timeout)

    def delete_traces(self, trace_ids: Sequence[str], timeout: float = 30.0) -> bool:
        """Delete traces with their spans, logs and indexed text; True once committed."""
        return self._command(lambda c: trace_index.delete(c, trace_ids), trace_ids, timeout)

    def _command(self, run: Callable[[sqlite3.Connection], None], trace_ids: Sequence[str],
                 timeout: float) -> bool:
        if self._thread is None:
            self.start()
        if self._closed:
            return False
        command = _Command(run, trace_ids)
        try:
            self._queue.put(command, timeout=timeout)
        except queue.Full:
            return False
        return command.done.wait(timeout) and command.ok

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued, stop the thread and close the connection.

        A closed writer stays closed: a late ``flush`` (an SDK processor shutting down at exit)
        returns False instead of starting a thread on the closed connection.
        """
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            if self._thread.is_alive():
                # Still inside SQLite (waiting for a write lock another process holds): closing
                # the connection under it crashed the process (SIGSEGV). Left to the exit.
                log.warning("the store writer is still busy; its connection is left open")
                self._checkpointer.close(timeout)
                return
            self._thread = None
        self._connection.close()
        self._checkpointer.close(timeout)

    def _run(self) -> None:
        markers: list[_Flush] = []  # flushes waiting for the lanes to reach their ``due``
        command: _Command | None = None  # likewise; no entry is read past it until it ran
        stopping: list[int] | None = None  # once closing: what the lanes held then is due
        indexing = False  # the last step indexed text: the writer is idle, keep going
        while True:
            rows: PendingRows | None = None  # the first batch's, or all of them merged
            count = 0
            entries: list[_Batch] = []
            if command is None and stopping is None:
                block = not markers and not self._lanes_hold_items()
                item = self._wait_for_entry(indexing) if block else self._next_entry()
                indexing = item is _IDLE
                if indexing:
                    continue
                if item is _WAKE and self.linger:
                    # Single records trickle in: wait a moment so one transaction takes many.
                    # Batches (receivers waiting to acknowledge) and flushes go at once.
                    time.sleep(self.linger)
                while item is not _NO_ENTRY:
                    if item is None:
                        stopping = self._lanes_due()
                        break
                    match item:
                        case _Batch():
                            if rows is None:
                                rows = item.rows
                            else:
                                if rows is entries[0].rows:  # the committer's: merge into ours
                                    rows = rows.copy()
                                rows.merge(item.rows)
                            count += item.size
                            entries.append(item)
                        case _Flush():
                            item.due = self._lanes_due()
                            markers.append(item)
                        case _Command():
                            item.due = self._lanes_due()
                            command = item  # after what was queued before it, and alone
                            break
                    if count >= self.batch_size:
                        break
                    item = self._next_entry()
            parts: list[tuple[PendingRows, _Batch | None]] = [(e.rows, e) for e in entries]
            lane_rows = self._take_from_lanes()
            if lane_rows is not None:
                parts.append((lane_rows, None))
                if rows is None:
                    rows = lane_rows
                else:
                    if rows is entries[0].rows:  # the committer's, which it counts after
                        rows = rows.copy()
                    rows.merge(lane_rows)
            if rows is not None:
                self.dropped += rows.dropped
            if rows:
                self._write_parts(rows, parts)
                self._compaction_pending = True
            else:
                for entry in entries:
                    entry.ok = True
            for entry in entries:
                entry.done.set()
            if command is not None and self._lanes_reached(command.due):
                command.ok = self._run_command(command)
                command.done.set()
                command = None
            done = [marker for marker in markers if self._lanes_reached(marker.due)]
            if done:
                while self._texts_pending:  # flushed means searchable too
                    self._index_texts()
                for marker in done:
                    marker.done.set()
                markers = [marker for marker in markers if marker not in done]
            if (stopping is not None and command is None and not markers
                    and self._lanes_reached(stopping)):
                return

    def _wait_for_entry(self, indexing: bool = False) -> Entry | _Idle:
        """Block for the next entry; ``_WAKE`` if a lane got items; ``_IDLE`` after indexing
        (sooner when the last step indexed too: ``idle_pause``)."""
        self.sleeping = True  # before the last look at the lanes: see ``store.lane``
        try:
            if self._lanes_hold_items():
                return _WAKE
            if not (self._texts_pending or self._compaction_pending):
                return self._queue.get()
            try:
                return self._queue.get(
                    timeout=self.idle_pause if indexing else IDLE_BEFORE_INDEXING
                )
            except queue.Empty:
                pass
        finally:
            self.sleeping = False
        if self._texts_pending:
            self._index_texts()  # idle: make a little more message text searchable
        else:
            self._compact()  # then compress a few more stored spans
        return _IDLE

    def _next_entry(self) -> Entry | _NoEntry:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return _NO_ENTRY

    def _lanes_hold_items(self) -> bool:
        return any(len(lane) for lane in self._lanes)

    def _lanes_due(self) -> list[int]:
        """Each lane's ``taken`` once all it holds now is taken."""
        return [lane.taken + len(lane) for lane in self._lanes]

    def _lanes_reached(self, due: list[int]) -> bool:
        return all(lane.taken >= count for lane, count in zip(self._lanes, due, strict=False))

    def _take_from_lanes(self) -> PendingRows | None:
        """Up to a batch from each lane, converted here; None when the lanes are empty."""
        rows: PendingRows | None = None
        for lane in self._lanes:
            if not len(lane):
                continue
            items = lane.take(self.batch_size)
            if rows is None:
                rows = PendingRows()
            rows.add(items, lane.convert, keep=True)
        return rows

    def _index_texts(self) -> None:
        """One small transaction of ``trace_index.index_pending``, between two batches."""
        touched: set[str] = set()
        try:
            with self._connection:
                self._connection.execute("BEGIN IMMEDIATE")
                done = trace_index.index_pending(self._connection, TEXTS_PER_IDLE_STEP, touched)
        except Exception:
            log.exception("could not index message text; search will miss some runs")
            self._texts_pending = False
            return
        self._texts_pending = done == TEXTS_PER_IDLE_STEP
        if touched:  # a search over these traces may now find them
            self._tell(StoreChange(frozenset(touched)))
        elif done:
            self._checkpointer.poke()

    def _compact(self) -> None:
        """One small transaction of ``compaction.compact_pending``, once the text is indexed."""
        try:
            with self._connection:
                self._connection.execute("BEGIN IMMEDIATE")
                done = compact_pending(self._connection, SPANS_PER_IDLE_STEP)
                freed = done < SPANS_PER_IDLE_STEP and give_back_pages(self._connection)
        except Exception:
            log.exception("could not compress stored spans; they stay as they are")
            self._compaction_pending = False
            return
        self._compaction_pending = done == SPANS_PER_IDLE_STEP or freed
        if done:
            self._checkpointer.poke()

    def _run_command(self, command: _Command) -> bool:
        try:
            with self._connection:
                self._connection.execute("BEGIN IMMEDIATE")
                command.run(self._connection)
        except Exception:
            log.exception("a store command failed")
            return False
        self._tell(StoreChange(command.trace_ids))
        return True

    def _tell(self, change: StoreChange) -> None:
        """After each commit: schedule a checkpoint, tell the subscribers what changed."""
        self._checkpointer.restart_if_due(self._connection)
        self._checkpointer.poke()
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:
                log.exception("a store listener failed")

    def _write(self, items: list[Item]) -> bool:
        """Write ``items`` in one transaction now, on this thread (tests step the writer so)."""
        rows = PendingRows.of(items)
        self.dropped += rows.dropped
        return self._write_parts(rows, [(rows, None)])

    def _write_parts(self, rows: PendingRows, parts: list[tuple[PendingRows, _Batch | None]]
                     ) -> bool:
        """Write ``rows`` (the ``parts`` merged) in one transaction; True if all committed.

        If a record in it is one the store cannot hold, each part (a committer's batch, the
        lanes' records) is written apart by ``write_isolating``; each batch gets its own ``ok``
        and the reasons for its records that were dropped.
        """
        error = self._try_write(rows)
        if error is None:
            for _, entry in parts:
                if entry is not None:
                    entry.ok = True
            return True
        if not is_data_error(error):
            self._failed(rows, error)
            return False
        log.info("a batch of %d records holds one the store cannot hold (%s: %s); "
                 "writing it in parts", len(rows), type(error).__name__, error)
        all_ok = True
        for part, entry in parts:
            rejected = entry.rejected if entry is not None else []
            failure = write_isolating(part, self._try_write, rejected,
                                      error if len(parts) == 1 else None)
            self.rejected += len(rejected)
            if failure is not None:
                self._failed(part, failure)
            if entry is not None:
                entry.ok = failure is None
            all_ok = all_ok and failure is None
        return all_ok

    def _failed(self, rows: PendingRows, error: BaseException) -> None:
        self.failed_batches += 1
        problem = storage_problem(error, self.path)
        if problem is None:
            log.error("could not write a batch of %d records", len(rows), exc_info=error)
            return
        # A full disk or a read-only store is not a bug: no traceback, said again only once
        # it changes.
        level = logging.DEBUG if problem == self.storage_error else logging.WARNING
        log.log(level, "could not write %d records: %s", len(rows), problem.short)
        self.storage_error = problem

    def _try_write(self, rows: PendingRows) -> Exception | None:
        """Write ``rows`` in one transaction: None once committed, else what failed it (the
        transaction is then rolled back)."""
        spans, logs = rows.spans, rows.logs
        facts = rows.facts
        trace_ids = frozenset([key[0] for key in spans])
        connection = self._connection
        try:
            with connection:
                connection.execute("BEGIN IMMEDIATE")
                changed = 0  # rows the upserts wrote: re-imports of finished spans don't count
                for chunk in _chunks(list(spans.values())):
                    size, parameters = _padded(chunk)
                    changed += connection.execute(_upsert_spans(size), parameters).rowcount
                for ids in fixed_chunks(list(trace_ids)):
                    connection.execute(_refresh_traces(len(ids)), ids)
                trace_index.set_conversations(connection, facts.conversations)
                queued = trace_index.index_or_queue(connection, facts, rows.log_traces)
                before = connection.total_changes
                connection.executemany(_INSERT_LOG, logs)
                logs_added = connection.total_changes - before
                if logs_added:
                    index_new_logs(connection)  # full-text search, in the same transaction
        except Exception as exc:
            return exc
        self.storage_error = None
        if queued:
            self._texts_pending = True
        self.written += changed
        self.logs_written += logs_added
        self._tell(StoreChange(trace_ids, logs_added, frozenset(rows.log_traces)))
        return None
