"""The in-process path: an OTel ``SpanProcessor`` that feeds the studio's store.

``on_start`` and ``on_end`` only hand the span to the writer (OpenTelemetry's rule for
processors): one deque append each, on two lanes of their own (``store.lane``), so the lane says
how the writer thread converts it. A started span is read when the writer gets to it
(``started_or_superseded``).
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from lumos_studio.ingest.convert import span_to_record, started_record
from lumos_studio.records import SpanRecord
from lumos_studio.store.writer import StoreWriter


def started_or_superseded(span: Span) -> SpanRecord | None:
    """A running span's record, read on the writer's thread, or None if it has ended by then.

    Nothing is copied on the agent's thread: copying the attributes cost ~4 µs a span there
    (the SDK's mapping iterates in Python). The writer copies them when it gets to the span,
    which also shows attributes set since the start; a span that has ended by then is skipped,
    since its finished copy is on the way (half the writer's work under a burst).
    """
    if span.end_time is not None:
        return None
    return started_record(span, dict(span.attributes or {}))


class StudioSpanProcessor(SpanProcessor):
    """Sends every span, when it starts and when it ends, to a ``StoreWriter``.

    ``wait``: how long the agent's thread may wait for room when the writer is that far behind
    (then the span is dropped and counted).
    """

    def __init__(self, writer: StoreWriter, *, live: bool = True, wait: float = 0.5) -> None:
        self.writer = writer
        self.live = live
        self.wait = wait
        self._started = writer.lane(started_or_superseded)
        self._ended = writer.lane(span_to_record)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.live:
            self._started.put(span, self.wait)

    def on_end(self, span: ReadableSpan) -> None:
        self._ended.put(span, self.wait)

    def shutdown(self) -> None:
        self.writer.flush()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.writer.flush(timeout_millis / 1000)
