"""The writer's idle work: when no batch waits, it makes received message text searchable
(``trace_index.index_pending``; in ``serve``, steps a ``text_planner`` made), then compresses
the spans stored since (``compaction``), in short transactions a batch arriving meanwhile
hardly waits behind. Apart from the thread's loop (``store.writer``), which calls it when its
queue stays empty, and, in ``serve``, after a batch once too many texts wait
(``IdleWork._bound_backlog``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lumos_studio.store import trace_index
from lumos_studio.store.compaction import compact_pending, give_back_pages
from lumos_studio.store.text_planner import TextPlanner
from lumos_studio.store.writer_queue import RecordQueue
from lumos_studio.store.writer_transactions import StoreChange, WriterTransactions

__all__ = [
    "BACKLOG_SECONDS",
    "IDLE_BEFORE_INDEXING",
    "IDLE_BETWEEN_STEPS",
    "SERVE_STEPS_PER_TRANSACTION",
    "SPANS_PER_IDLE_STEP",
    "TEXTS_PER_IDLE_STEP",
    "TEXTS_WAITING_IN_A_BURST",
    "IdleWork",
]

# The writer's one logger, as in ``writer_transactions``.
log = logging.getLogger("lumos_studio.store.writer")

# Spans whose message text one idle step indexes: ~10 ms, short enough that a batch arriving
# meanwhile hardly waits.
TEXTS_PER_IDLE_STEP = 200
# Steps a process without a UI (``serve``) takes in one transaction while no batch waits: a
# commit of the index's 64 KB pages cost as much as a quarter of a step's work (``bench
# ingest``'s 60,000 texts: ~51 ms of CPU per 1k spans in steps of 200, ~38 in ten steps a
# transaction).
SERVE_STEPS_PER_TRANSACTION = 10
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
# In ``serve``, how long what a burst leaves for after it may take the writer to index, at the
# rate its last index transactions ran (``IdleWork._texts_waiting_bound``): past as many queued
# texts, the writer indexes between batches too (``_bound_backlog``). Indexing all of it during
# the burst would slow the burst for nothing; leaving more than this makes the run a person just
# sent wait to be found.
BACKLOG_SECONDS = 0.6
# The bound before any index transaction was timed, and its least: ~0.7 s of a backlog on a machine
# indexing ~30,000 texts a second (planning and writing side by side), ~1.4 s on one half as fast
# (``bench ingest``: 100k spans, 60k texts), where the measured rate then takes over.
TEXTS_WAITING_IN_A_BURST = 20_000
LEAST_TEXTS_WAITING = 2_000
# Index transactions timed for the rate: whole ones, of at least this many texts.
TIMED_TEXTS = 1_000


class IdleWork(WriterTransactions):
    """The idle steps of ``StoreWriter``, which sets the attributes below; the PostgreSQL writer
    overrides ``_index_texts`` and ``_compact``."""

    idle_pause: float
    idle_before_indexing: float
    steps_per_transaction: int
    plan_ahead: bool  # index steps made by a ``TextPlanner`` on its own thread
    # Texts a burst may leave queued before the writer indexes between batches (None: only
    # when idle), against ``texts_queued`` (``_try_write`` adds, index transactions take).
    texts_waiting_bound: int | None
    _seconds_a_text: float | None  # an index transaction's wall time per text, as last timed
    _planner: TextPlanner | None
    path: Path
    _compaction_pending: bool
    _queue: RecordQueue

    if TYPE_CHECKING:
        def _lanes_hold_items(self) -> bool: ...  # ``StoreWriter``'s: a lane holds records

    def _index_step(self, touched: set[str]) -> int:
        """One index step in the writer's transaction: the planner's next one when it has one
        (``serve_without_ui``), else read and written here."""
        if self.plan_ahead:
            if self._planner is None:
                self._planner = TextPlanner(self.path, TEXTS_PER_IDLE_STEP)
            step = self._planner.take()
            return 0 if step is None else trace_index.apply_step(self._connection, step, touched)
        return trace_index.index_pending(self._connection, TEXTS_PER_IDLE_STEP, touched)

    def _close_planner(self) -> None:
        if self._planner is not None:
            self._planner.close()
            self._planner = None

    def serve_without_ui(self) -> None:
        """Index as soon as the queue is empty, and in longer transactions while no batch
        waits: no UI wants the GIL between steps. During a burst the writer indexes between
        batches when it can (SQLite's share runs beside the receiver's decoding, without the
        GIL), and after it a backlog costs less (100k spans in-process: 44 → 33 ms of CPU per
        1k spans, indexed in 3.2 s instead of 4.7; the durable rate the same). Each step is
        made by a ``TextPlanner`` beside the one being written (``bench ingest``: the whole
        load searchable 3.08 → 2.1–2.6 s after the last acknowledgement). Past as many waiting
        texts as it indexes in ``BACKLOG_SECONDS`` it indexes after a batch, batches waiting or
        not (``_bound_backlog``)."""
        self.idle_pause = 0.0
        self.idle_before_indexing = 0.0
        self.steps_per_transaction = SERVE_STEPS_PER_TRANSACTION
        self.plan_ahead = True
        self.texts_waiting_bound = TEXTS_WAITING_IN_A_BURST

    def _bound_backlog(self) -> None:
        """After a batch is written, in ``serve``: while more texts wait than the writer indexes
        in ``BACKLOG_SECONDS`` (``_texts_waiting_bound``), index them in whole transactions,
        batches waiting or not.

        Indexed only when idle, a 100,000-span burst left 60,000 texts, searchable ~2.1 s after
        its last acknowledgement; indexed between batches in one-step transactions, the commits
        cost so much that the burst fell to ~26,000 spans a second. In transactions of
        ``steps_per_transaction`` steps past a bound of 20,000 texts (``bench ingest``): ~29–34k
        spans a second, all searchable ~0.8 s after, ~54–61 ms of CPU per 1k spans. On a machine
        half as fast the same 20,000 texts took ~1.4 s: the bound is a time, not a count.

        It runs before the batch is answered: a burst that outruns the index waits for it.
        Answered first, its senders' next requests were decoded beside the index's work, and
        the burst was slower (28.8–30.0k spans a second against 28.8–33.9k, three rounds each).
        """
        bound = self._texts_waiting_bound()
        found_nothing = 0
        while bound is not None and self._texts_pending and self.texts_queued > bound:
            if self._index_transaction(stop_for_batches=False):
                found_nothing = 0
                continue
            # A step planned before the last batch came finds nothing once; twice, and the
            # reckoning was off (another process indexed the queue).
            found_nothing += 1
            if found_nothing == 2:
                self.texts_queued = 0
                return

    def _texts_waiting_bound(self) -> int | None:
        """The queued texts a burst may leave: as many as the writer indexes in
        ``BACKLOG_SECONDS`` at its timed rate, ``texts_waiting_bound`` (the most) until then; None:
        no bound (a process with a UI indexes when idle only)."""
        most = self.texts_waiting_bound
        if most is None or self._seconds_a_text is None:
            return most
        return max(LEAST_TEXTS_WAITING, min(most, int(BACKLOG_SECONDS / self._seconds_a_text)))

    def _index_texts(self) -> None:
        """A transaction of ``trace_index.index_pending`` steps, between two batches: up to
        ``steps_per_transaction``, fewer once a batch waits."""
        self._index_transaction(stop_for_batches=True)

    def _index_transaction(self, stop_for_batches: bool) -> int:
        """Up to ``steps_per_transaction`` index steps in one transaction (fewer once a batch
        waits, if ``stop_for_batches``); how many queue entries they covered. One of at least
        ``TIMED_TEXTS`` is timed: the rate the writer works off a backlog at
        (``_texts_waiting_bound``)."""
        started = time.perf_counter()
        touched: set[str] = set()
        covered = 0

        def step() -> int:
            nonlocal covered
            done = self._index_step(touched)
            covered += done
            return done

        try:
            with self._connection:
                self._connection.execute("BEGIN IMMEDIATE")
                done = self._idle_steps(step, TEXTS_PER_IDLE_STEP, stop_for_batches)
        except Exception as exc:
            if not self._refused(exc, "could not index message text"):
                log.exception("could not index message text; search will miss some runs")
            if self._planner is not None:
                self._planner.rolled_back()
            self._texts_pending = False
            return 0
        self._texts_pending = done == TEXTS_PER_IDLE_STEP
        if self._planner is not None:
            self._planner.committed()
            if not self._texts_pending:  # a step planned ahead missed what came after it
                self._texts_pending = trace_index.any_pending(self._connection)
        self.texts_queued = max(self.texts_queued - covered, 0) if self._texts_pending else 0
        if covered >= TIMED_TEXTS:
            seconds = (time.perf_counter() - started) / covered
            known = self._seconds_a_text
            self._seconds_a_text = seconds if known is None else (known + seconds) / 2
        if touched:  # a search over these traces may now find them
            self._tell(StoreChange(frozenset(touched)))
        elif done:
            self._checkpointer.poke()
        return covered

    def _compact(self) -> None:
        """A transaction of ``compaction.compact_pending`` steps, once the text is indexed (as
        many as ``_index_texts`` takes: fewer commits of 64 KB pages)."""
        try:
            with self._connection:
                self._connection.execute("BEGIN IMMEDIATE")
                done = self._idle_steps(
                    lambda: compact_pending(self._connection, SPANS_PER_IDLE_STEP),
                    SPANS_PER_IDLE_STEP)
                freed = done < SPANS_PER_IDLE_STEP and give_back_pages(self._connection)
        except Exception as exc:
            if not self._refused(exc, "could not compress stored spans"):
                log.exception("could not compress stored spans; they stay as they are")
            self._compaction_pending = False
            return
        self._compaction_pending = done == SPANS_PER_IDLE_STEP or freed
        if done:
            self._checkpointer.poke()

    def _idle_steps(
        self, step: Callable[[], int], size: int, stop_for_batches: bool = True
    ) -> int:
        """Up to ``steps_per_transaction`` idle steps in the caller's transaction, stopping once
        one does less than ``size`` (nothing left) or, if ``stop_for_batches``, a batch waits;
        what the last one did."""
        for _ in range(self.steps_per_transaction):
            done = step()
            if done < size or (
                stop_for_batches and (self._queue.qsize() or self._lanes_hold_items())
            ):
                break
        return done
