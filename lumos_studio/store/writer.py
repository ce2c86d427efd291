"""The single writer: one thread drains its lanes and a bounded queue into SQLite in batched
transactions.

Everything that ingests spans goes through it, nothing else writes: single records through
lanes (``submit``; the in-process processors have lanes of their own, ``store.lane``), the OTLP
receiver's batches through ``commit_rows``, replay through ``submit_many``. Conversion of SDK
spans happens here, off the agent's thread. After each commit, subscribers learn which traces
changed.

Here is the thread's loop: what it takes from the lanes and the queue, and when. What each
transaction writes, and how a batch holding a record the store cannot hold still commits the
rest, is ``store.writer_transactions``; what it does while idle, ``store.writer_idle``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from lumos_studio.store import trace_index
from lumos_studio.store.checkpoint import Checkpointer
from lumos_studio.store.connection import open_writer_connection, use_large_pages
from lumos_studio.store.lane import Lane
from lumos_studio.store.pending import Convert, Convertible, Item, PendingRows, as_record
from lumos_studio.store.schema import ensure_schema
from lumos_studio.store.storage_error import StorageProblem
from lumos_studio.store.trace_refresh import SqliteRefresh, TraceRefresh
from lumos_studio.store.write_packing import SpanPacker
from lumos_studio.store.writer_idle import IDLE_BEFORE_INDEXING, IDLE_BETWEEN_STEPS, IdleWork
from lumos_studio.store.writer_queue import (
    IDLE,
    NO_ENTRY,
    WAKE,
    Batch,
    Command,
    Entry,
    Flush,
    Idle,
    NoEntry,
    RecordQueue,
)
from lumos_studio.store.writer_transactions import ChangeListener, StoreChange

__all__ = ["ChangeListener", "Convertible", "Item", "Lane", "StoreChange", "StoreWriter"]

log = logging.getLogger(__name__)

OTHERS_LOOK_EVERY = 1.0  # seconds between two looks for other processes' commits
# A look that failed (a PostgreSQL server gone away: each may wait its connect timeout) is
# tried again twice as late each time, up to this many seconds apart.
OTHERS_LOOK_AT_MOST = 30.0


class StoreWriter(IdleWork):
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
        # The queue empty this long, the writer indexes, ``steps_per_transaction`` steps at most
        # in one transaction (more than one only while no batch waits): ``serve_without_ui``.
        self.idle_before_indexing = IDLE_BEFORE_INDEXING
        self.steps_per_transaction = 1
        self.plan_ahead = False
        self._planner = None
        self.texts_waiting_bound: int | None = None  # ``serve_without_ui`` sets one
        self._seconds_a_text: float | None = None
        self.texts_queued = 0
        self.max_queue = max_queue
        self._queue = RecordQueue(max_queue)
        self._lanes: list[Lane[object]] = []
        self._default_lane: Lane[Item] = self.lane(as_record)
        self.sleeping = False  # the writer is about to block on the queue (see ``lane``)
        self._refresh = TraceRefresh()
        self._refresh_retry_at = 0.0  # after a failed refresh of held traces: not before
        self._open_storage(path)
        self._texts_pending = True  # a previous session may have left some
        self._compaction_pending = True  # likewise: spans not compressed yet
        self._packer = SpanPacker()
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
        self._others_seen: int | None = None  # ``_others_mark`` at the last look
        self._others_look_at = 0.0  # monotonic: the next look for other processes' commits
        self._others_missed = 0  # looks that failed in a row

    def _open_storage(self, path: Path) -> None:
        """Open the connection, bring the schema up to date, start the checkpointer (the
        PostgreSQL writer, ``store.postgres.writer``, opens its own storage instead)."""
        self._connection = open_writer_connection(path)
        try:
            use_large_pages(self._connection)
            ensure_schema(self._connection)
            self._refresh.held_at_open(SqliteRefresh(self._connection))
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
            self._queue.put_nowait(WAKE)

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
        entry = Batch(rows)
        try:
            self._queue.put(entry, timeout=timeout)
        except queue.Full:
            return False
        if not entry.done.wait(timeout):
            return False
        if rejected is not None:
            rejected.extend(entry.rejected)
        return entry.ok

    def flush(self, timeout: float = 10.0, *, searchable: bool = True) -> bool:
        """Wait until everything submitted so far is committed, and its message text indexed
        unless not ``searchable`` (what waits to be indexed is kept in the store: a writer
        that opens it next indexes it in its idle time)."""
        if self._thread is None:
            self.start()
        if self._closed:
            return False
        marker = Flush(searchable)
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
        command = Command(run, trace_ids)
        try:
            self._queue.put(command, timeout=timeout)
        except queue.Full:
            return False
        return command.done.wait(timeout) and command.ok

    def takes_writes(self, timeout: float = 10.0) -> bool:
        """Whether the store takes a write now: the header's user version written again as it
        is (an empty transaction passes on a read-only file: SQLite refuses the first page
        written). False for a read-only store or file (``storage_error`` then says which), or
        one locked past ``timeout``: for a command that only stores, before its work."""
        def rewrite_version(connection: sqlite3.Connection) -> None:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            connection.execute(f"PRAGMA user_version = {int(version)}")

        return self._command(rewrite_version, (), timeout)

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
        self._close_planner()
        self._connection.close()
        self._checkpointer.close(timeout)

    def _run(self) -> None:
        markers: list[Flush] = []  # flushes waiting for the lanes to reach their ``due``
        command: Command | None = None  # likewise; no entry is read past it until it ran
        stopping: list[int] | None = None  # once closing: what the lanes held then is due
        indexing = False  # the last step indexed text: the writer is idle, keep going
        while True:
            self._notice_others_commits()
            rows: PendingRows | None = None  # the first batch's, or all of them merged
            count = 0
            entries: list[Batch] = []
            if command is None and stopping is None:
                block = not markers and not self._lanes_hold_items()
                item = self._wait_for_entry(indexing) if block else self._next_entry()
                indexing = item is IDLE
                if indexing:
                    continue
                if item is WAKE and self.linger:
                    # Single records trickle in: wait a moment so one transaction takes many.
                    # Batches (receivers waiting to acknowledge) and flushes go at once.
                    time.sleep(self.linger)
                while item is not NO_ENTRY:
                    if item is None:
                        stopping = self._lanes_due()
                        break
                    match item:
                        case Batch():
                            if rows is None:
                                rows = item.rows
                            else:
                                if rows is entries[0].rows:  # the committer's: merge into ours
                                    rows = rows.copy()
                                rows.merge(item.rows)
                            count += item.size
                            entries.append(item)
                        case Flush():
                            item.due = self._lanes_due()
                            markers.append(item)
                        case Command():
                            item.due = self._lanes_due()
                            command = item  # after what was queued before it, and alone
                            break
                    if count >= self.batch_size:
                        break
                    item = self._next_entry()
            parts: list[tuple[PendingRows, Batch | None]] = [(e.rows, e) for e in entries]
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
                self._bound_backlog()  # before the answer: see there
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
                if self._refresh.holding:  # flushed means every trace's row exact too
                    self._refresh_held()
                while self._texts_pending and any(m.searchable for m in done):
                    self._index_texts()  # flushed means searchable too, when asked
                for marker in done:
                    marker.done.set()
                markers = [marker for marker in markers if marker not in done]
            if (stopping is not None and command is None and not markers
                    and self._lanes_reached(stopping)):
                if self._refresh.holding:
                    self._refresh_held()
                return

    def _notice_others_commits(self) -> None:
        """Tell the subscribers (``StoreChange.others``) when another process committed: a
        ``run`` or an ``eval`` in another terminal, a second studio, a ``serve``. A look, at
        most every ``OTHERS_LOOK_EVERY``, reads ``_others_mark``."""
        now = time.monotonic()
        if now < self._others_look_at:
            return
        self._others_look_at = now + OTHERS_LOOK_EVERY
        mark = self._others_mark()
        if mark is None:  # a store gone bad is said where it is written; look less often
            self._others_missed += 1
            self._others_look_at = time.monotonic() + min(
                OTHERS_LOOK_EVERY * 2 ** min(self._others_missed, 16), OTHERS_LOOK_AT_MOST)
            return
        self._others_missed = 0
        if self._others_seen is not None and mark != self._others_seen:
            self._notify(StoreChange(frozenset(), others=True))
        self._others_seen = mark

    def _others_mark(self) -> int | None:
        """A number only other processes' commits change; None if it cannot be read now.
        SQLite's ``data_version`` on this connection changes only with other connections'
        commits (not this one's, not a checkpoint's): ~1 µs."""
        try:
            version: int = self._connection.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            return None
        return version

    def _wait_for_entry(self, indexing: bool = False) -> Entry | Idle:
        """Block for the next entry; ``WAKE`` if a lane got items; ``IDLE`` after indexing
        (sooner when the last step indexed too: ``idle_pause``)."""
        self.sleeping = True  # before the last look at the lanes: see ``store.lane``
        try:
            if self._lanes_hold_items():
                return WAKE
            other_work = self._texts_pending or self._compaction_pending
            if not (other_work or self._refresh.holding):
                try:  # awake once in a while: the loop then looks for others' commits
                    return self._queue.get(timeout=OTHERS_LOOK_EVERY)
                except queue.Empty:
                    return IDLE
            timeout = self.idle_pause if indexing else self.idle_before_indexing
            if not other_work:  # only held rows, whose refresh failed a moment ago: not sooner
                timeout = max(timeout, self._refresh_retry_at - time.monotonic())
            try:
                return self._queue.get(timeout=timeout)
            except queue.Empty:
                pass
        finally:
            self.sleeping = False
        if self._refresh.holding and time.monotonic() >= self._refresh_retry_at:
            if not self._refresh_held():  # idle: every trace's row exact first
                self._refresh_retry_at = time.monotonic() + 1.0
        elif self._texts_pending:
            self._index_texts()  # idle: make a little more message text searchable
        else:
            self._compact()  # then compress a few more stored spans
        return IDLE

    def _next_entry(self) -> Entry | NoEntry:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return NO_ENTRY

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
