"""The writer thread's transactions: a batch of records, a command (pin, delete), and telling
the subscribers what each commit changed; apart from the thread's loop (``store.writer``), which
decides when each runs.

One transaction holds many clients' records, so one record the store cannot hold (an integer
past 64 bits, a value SQLite cannot bind) must not fail the others: the writer then writes
each client's batch apart, halving a failing one until the failing records are found
(``store.isolation``), drops and counts those (``rejected``, with a warning naming them) and
commits the rest. Each batch learns which of its records were dropped (``commit_rows``). A
store that is locked, full or read-only fails the transaction as a whole, as before: retrying
in parts would not help.

A full disk or a read-only store is not a bug: whichever transaction meets it (a batch, a
command, the idle indexing and compression), it is kept as ``storage_error``, for the writer's
owner to say (the receiver's answer, ``serve``'s status line, the studio's header, a command's
error), and logged without a traceback, at INFO: said by the owner, not twice.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lumos_studio.store import trace_index
from lumos_studio.store.checkpoint import Checkpointer
from lumos_studio.store.isolation import is_data_error, write_isolating
from lumos_studio.store.log_index import index_new_logs
from lumos_studio.store.pending import Item, PendingRows
from lumos_studio.store.storage_error import StorageProblem, storage_problem
from lumos_studio.store.trace_refresh import (
    RefreshDone,
    RefreshPlan,
    SqliteRefresh,
    TraceRefresh,
)
from lumos_studio.store.write_packing import SpanPacker
from lumos_studio.store.write_statements import (
    INSERT_LOG,
    padded,
    statement_chunks,
    upsert_spans,
)
from lumos_studio.store.writer_queue import Batch, Command

__all__ = ["ChangeListener", "StoreChange", "WriterTransactions"]

# The writer's one logger, whichever module logs: the importer hears its failures by this name
# (``importer._writer_failures``).
log = logging.getLogger("lumos_studio.store.writer")


@dataclass(frozen=True, slots=True)
class StoreChange:
    """What one commit changed: the traces whose spans changed, and how many logs were added."""

    trace_ids: frozenset[str]
    logs: int = 0
    log_trace_ids: frozenset[str] = frozenset()
    #: Another process committed (a ``run``, an ``eval``, a second studio): what, nobody here
    #: knows, so anything shown may have changed.
    others: bool = False


ChangeListener = Callable[[StoreChange], None]


class WriterTransactions:
    """The transactions of ``StoreWriter``, which sets every attribute below (its ``__init__``
    and ``_open_storage``); the PostgreSQL writer overrides ``_try_write`` and ``_run_command``."""

    path: Path
    written: int
    logs_written: int
    dropped: int
    failed_batches: int
    rejected: int
    storage_error: StorageProblem | None
    _connection: sqlite3.Connection
    _checkpointer: Checkpointer
    _listeners: list[ChangeListener]
    _texts_pending: bool
    texts_queued: int  # spans queued for indexing, as reckoned (``IdleWork._bound_backlog``)
    _packer: SpanPacker  # spans compressed as they are stored, once the store has a dictionary
    _refresh: TraceRefresh  # which traces' rows each transaction makes again, and when

    def _run_command(self, command: Command) -> bool:
        try:
            with self._connection:
                self._connection.execute("BEGIN IMMEDIATE")
                command.run(self._connection)
        except Exception as exc:
            if not self._refused(exc, "a store command failed"):
                log.exception("a store command failed")
            return False
        self._tell(StoreChange(command.trace_ids))
        return True

    def _tell(self, change: StoreChange) -> None:
        """After each commit: schedule a checkpoint, tell the subscribers what changed."""
        self._checkpointer.restart_if_due(self._connection)
        self._checkpointer.poke()
        self._notify(change)

    def _notify(self, change: StoreChange) -> None:
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

    def _write_parts(self, rows: PendingRows, parts: list[tuple[PendingRows, Batch | None]]
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
        if not self._refused(error, f"could not write {len(rows)} records"):
            log.error("could not write a batch of %d records", len(rows), exc_info=error)

    def _refused(self, error: BaseException, what: str) -> bool:
        """Whether ``error`` is the store refusing writes (a full disk, a read-only file); then
        it is kept in ``storage_error`` and logged as ``what`` without a traceback (see the
        module's docstring), at DEBUG while it stays the same."""
        problem = storage_problem(error, self.path)
        if problem is None:
            return False
        level = logging.DEBUG if problem == self.storage_error else logging.INFO
        log.log(level, "%s: %s", what, problem.short)
        self.storage_error = problem
        return True

    def _try_write(self, rows: PendingRows) -> Exception | None:
        """Write ``rows`` in one transaction: None once committed, else what failed it (the
        transaction is then rolled back)."""
        spans, logs = rows.spans, rows.logs
        facts = rows.facts
        trace_ids = frozenset([key[0] for key in spans])
        plan = self._refresh.plan(trace_ids)
        connection = self._connection
        packer = self._packer
        if spans:
            packer.prepare(connection, self.written)
        try:
            with connection:
                connection.execute("BEGIN IMMEDIATE")
                changed = 0  # rows the upserts wrote: re-imports of finished spans don't count
                for chunk in statement_chunks(packer.rows(list(spans.values()))):
                    size, parameters = padded(chunk)
                    changed += connection.execute(upsert_spans(size), parameters).rowcount
                refreshed = self._refresh.run(SqliteRefresh(connection), plan)
                trace_index.set_conversations(connection, facts.conversations)
                queued = trace_index.index_or_queue(connection, facts, rows.log_traces)
                before = connection.total_changes
                connection.executemany(INSERT_LOG, logs)
                logs_added = connection.total_changes - before
                if logs_added:
                    index_new_logs(connection)  # full-text search, in the same transaction
        except Exception as exc:
            return exc
        self.storage_error = None
        self._refresh.settle(refreshed)
        if queued:
            self._texts_pending = True
            self.texts_queued += queued
        self.written += changed
        self.logs_written += logs_added
        self._tell(StoreChange(trace_ids | refreshed.refreshed, logs_added,
                               frozenset(rows.log_traces)))
        return None

    # What a store refusing the refresh of held rows raises: logged, and tried again later.
    _held_refresh_errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def _refresh_held(self) -> bool:
        """Make every held trace's row exact (``trace_refresh``): at a flush, when idle, on
        closing. False if the store refused the transaction (tried again later)."""
        plan = self._refresh.plan_held()
        try:
            done = self._write_held(plan)
        except self._held_refresh_errors as exc:
            what = "could not refresh the summaries of long traces"
            if not self._refused(exc, what):
                log.warning("%s: %s", what, exc)
            return False
        self._refresh.settle(done)
        self._tell(StoreChange(frozenset(done.refreshed)))
        return True

    def _write_held(self, plan: RefreshPlan) -> RefreshDone:
        """Write ``plan``'s rows in a transaction of their own (each engine's)."""
        with self._connection:
            self._connection.execute("BEGIN IMMEDIATE")
            return self._refresh.run(SqliteRefresh(self._connection), plan)
