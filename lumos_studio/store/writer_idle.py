"""The writer's idle work: when no batch waits, it makes received message text searchable
(``trace_index.index_pending``; in ``serve``, steps a ``text_planner`` made), then compresses
the spans stored since (``compaction``), in short transactions a batch arriving meanwhile
hardly waits behind. Apart from the thread's loop (``store.writer``), which calls it when its
queue stays empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lumos_studio.store import trace_index
from lumos_studio.store.compaction import compact_pending, give_back_pages
from lumos_studio.store.text_planner import TextPlanner
from lumos_studio.store.writer_queue import RecordQueue
from lumos_studio.store.writer_transactions import StoreChange, WriterTransactions

__all__ = [
    "IDLE_BEFORE_INDEXING",
    "IDLE_BETWEEN_STEPS",
    "SERVE_STEPS_PER_TRANSACTION",
    "SPANS_PER_IDLE_STEP",
    "TEXTS_PER_IDLE_STEP",
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


class IdleWork(WriterTransactions):
    """The idle steps of ``StoreWriter``, which sets the attributes below; the PostgreSQL writer
    overrides ``_index_texts`` and ``_compact``."""

    idle_pause: float
    idle_before_indexing: float
    steps_per_transaction: int
    plan_ahead: bool  # index steps made by a ``TextPlanner`` on its own thread
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
        load searchable 3.08 → 2.1–2.6 s after the last acknowledgement)."""
        self.idle_pause = 0.0
        self.idle_before_indexing = 0.0
        self.steps_per_transaction = SERVE_STEPS_PER_TRANSACTION
        self.plan_ahead = True

    def _index_texts(self) -> None:
        """A transaction of ``trace_index.index_pending`` steps, between two batches: up to
        ``steps_per_transaction``, fewer once a batch waits."""
        touched: set[str] = set()
        try:
            with self._connection:
                self._connection.execute("BEGIN IMMEDIATE")
                done = self._idle_steps(lambda: self._index_step(touched), TEXTS_PER_IDLE_STEP)
        except Exception:
            log.exception("could not index message text; search will miss some runs")
            if self._planner is not None:
                self._planner.rolled_back()
            self._texts_pending = False
            return
        self._texts_pending = done == TEXTS_PER_IDLE_STEP
        if self._planner is not None:
            self._planner.committed()
            if not self._texts_pending:  # a step planned ahead missed what came after it
                self._texts_pending = trace_index.any_pending(self._connection)
        if touched:  # a search over these traces may now find them
            self._tell(StoreChange(frozenset(touched)))
        elif done:
            self._checkpointer.poke()

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
        except Exception:
            log.exception("could not compress stored spans; they stay as they are")
            self._compaction_pending = False
            return
        self._compaction_pending = done == SPANS_PER_IDLE_STEP or freed
        if done:
            self._checkpointer.poke()

    def _idle_steps(self, step: Callable[[], int], size: int) -> int:
        """Up to ``steps_per_transaction`` idle steps in the caller's transaction, stopping once
        one does less than ``size`` (nothing left) or a batch waits; what the last one did."""
        for _ in range(self.steps_per_transaction):
            done = step()
            if done < size or self._queue.qsize() or self._lanes_hold_items():
                break
        return done
