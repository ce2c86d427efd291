"""What one writer transaction writes: records turned into rows before the writer thread sees them.

Making rows is Python work under the GIL. ``StoreWriter.commit`` does it on the caller's thread (a
receiver's request thread), so the writer thread, which every acknowledgement waits on, is left
with binding, stepping and committing, and a receiver's decoding overlaps with SQLite's writing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from lumos_studio.records import LogRecord, SpanRecord, finished_copy_wins
from lumos_studio.records_codec import log_row, span_row
from lumos_studio.semantics.genai_events import MESSAGE_EVENTS, log_event_name
from lumos_studio.store import trace_index
from lumos_studio.store.schema import LOG_COLUMNS, SPAN_COLUMNS

log = logging.getLogger(__name__)

_END_NS = SPAN_COLUMNS.index("end_ns")
_LOG_TIME = LOG_COLUMNS.index("time_ns")
_LOG_TRACE = LOG_COLUMNS.index("trace_id")
_LOG_SPAN = LOG_COLUMNS.index("span_id")


class Convertible(Protocol):
    """Something the writer thread turns into a record (an SDK span, a decoded batch...)."""

    def to_record(self) -> SpanRecord | LogRecord | None:
        """The record, or None when there is nothing to write any more (superseded)."""


Item = SpanRecord | LogRecord | Convertible


Convert = Callable[[Any], SpanRecord | LogRecord | None]


def as_record(item: Item) -> SpanRecord | LogRecord | None:
    """A record as it is; anything else converted by its own ``to_record``."""
    return item if isinstance(item, SpanRecord | LogRecord) else item.to_record()


def replaces(previous: tuple[Any, ...] | None, end_ns: int | None) -> bool:
    """Whether a copy of a span that ends at ``end_ns`` (None: still running) takes the place of
    the row already kept for it (``finished_copy_wins``)."""
    return previous is None or finished_copy_wins(previous[_END_NS], end_ns)


class PendingRows:
    """Span rows keyed by (trace, span), log rows, and what the trace index learns from them.

    Within one transaction a finished copy of a span wins over a started one (``replaces``).
    """

    __slots__ = ("dropped", "facts", "log_traces", "logs", "spans")

    def __init__(self) -> None:
        self.spans: dict[tuple[str, str], tuple[Any, ...]] = {}
        self.facts = trace_index.TraceFacts()
        self.logs: list[tuple[Any, ...]] = []
        self.log_traces: set[str] = set()
        self.dropped = 0  # items whose conversion failed

    @classmethod
    def of(cls, items: Iterable[Item]) -> PendingRows:
        pending = cls()
        pending.add(items)
        return pending

    def copy(self) -> PendingRows:
        """Rows of one's own to merge others into; these stay as they are."""
        copied = PendingRows()
        copied.merge(self)
        return copied

    def __len__(self) -> int:
        return len(self.spans) + len(self.logs)

    def add(self, items: Iterable[Any], convert: Convert = as_record, keep: bool = False) -> None:
        """Convert and add; an item that cannot be converted is logged and counted, not fatal.

        ``keep``: the finished records are kept, so their message text is made from them at
        commit instead of read back from the store later (``trace_index.index_or_queue``). The
        writer keeps those it converted itself (its lanes'); a receiver's batches are indexed
        when the writer is idle, so that bulk ingest never waits for the index.
        """
        spans = self.spans
        records: list[SpanRecord] = []
        for item in items:
            try:
                record = convert(item)
            except Exception:
                log.exception("could not convert a record; skipped")
                self.dropped += 1
                continue
            if record is None:
                continue
            if isinstance(record, LogRecord):
                self.logs.append(log_row(record))
                if record.trace_id:
                    self.log_traces.add(record.trace_id)
                    if record.span_id and log_event_name(record) in MESSAGE_EVENTS:
                        # A message that came after its span: the span's text is made again.
                        self.facts.to_index.append((record.trace_id, record.span_id))
                continue
            key = (record.trace_id, record.span_id)
            if replaces(spans.get(key), record.end_ns):
                spans[key] = span_row(record)
                records.append(record)
        try:
            self.facts.add(records, keep)
        except Exception:  # never fatal: the rows are made, only some text goes unindexed
            log.exception("could not read what a batch adds to the trace index; one by one")
            for record in records:
                with contextlib.suppress(Exception):
                    self.facts.add((record,), keep)

    def split(self) -> tuple[PendingRows, PendingRows]:
        """Two halves of these rows, each with its own facts: how the writer finds the one row
        that fails a transaction (``StoreWriter``), without writing the rest one by one."""
        spans = list(self.spans.items())
        logs = self.logs
        middle = (len(spans) + len(logs)) // 2
        if middle <= len(spans):
            return self._part(spans[:middle], []), self._part(spans[middle:], logs)
        middle -= len(spans)
        return self._part(spans, logs[:middle]), self._part([], logs[middle:])

    def _part(self, spans: list[tuple[tuple[str, str], tuple[Any, ...]]],
              logs: list[tuple[Any, ...]]) -> PendingRows:
        part = PendingRows()
        part.spans = dict(spans)
        traces = {key[0] for key in part.spans}
        facts = part.facts
        facts.to_index = [key for key in self.facts.to_index if key in part.spans]
        facts.in_memory = {
            key: record for key, record in self.facts.in_memory.items() if key in part.spans
        }
        facts.conversations = {
            trace: conversation for trace, conversation in self.facts.conversations.items()
            if trace in traces
        }
        part.logs = logs
        part.log_traces = {row[_LOG_TRACE] for row in logs if row[_LOG_TRACE]}
        return part

    def describe(self) -> str:
        """Which record these rows hold, for a message about the one the store refused."""
        if self.spans:
            trace_id, span_id = next(iter(self.spans))
            return f"span {span_id} of trace {trace_id}"
        if self.logs:
            row = self.logs[0]
            where = f" of span {row[_LOG_SPAN]}" if row[_LOG_SPAN] else ""
            where += f" of trace {row[_LOG_TRACE]}" if row[_LOG_TRACE] else ""
            return f"log record at {row[_LOG_TIME]} ns{where}"
        return "no record"

    def merge(self, other: PendingRows) -> None:
        """Take ``other``'s rows too (two batches committed in one transaction)."""
        spans = self.spans
        for key, row in other.spans.items():
            if replaces(spans.get(key), row[_END_NS]):
                spans[key] = row
        self.facts.merge(other.facts)
        self.logs.extend(other.logs)
        self.log_traces |= other.log_traces
        self.dropped += other.dropped
