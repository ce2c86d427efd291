"""The in-process path: an OTel ``SpanProcessor`` that feeds the studio's store.

``on_start`` and ``on_end`` only enqueue (OpenTelemetry's rule for processors); the writer thread
converts. A started span is read when the writer gets to it (see ``_Started``).
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from lumos_studio.ingest.convert import span_to_record, started_record
from lumos_studio.records import SpanRecord
from lumos_studio.store.writer import StoreWriter


class _Started:
    """A running span, converted on the writer's thread, if it is still running by then.

    Nothing is copied on the agent's thread: copying the attributes cost ~4 µs a span there
    (the SDK's mapping iterates in Python). The writer copies them when it gets to the span,
    which also shows attributes set since the start; a span that has ended by then is skipped,
    since its finished copy is queued behind (half the writer's work under a burst).
    """

    __slots__ = ("span",)

    def __init__(self, span: Span) -> None:
        self.span = span

    def to_record(self) -> SpanRecord | None:
        span = self.span
        if span.end_time is not None:
            return None
        return started_record(span, dict(span.attributes or {}))


class _Ended:
    __slots__ = ("span",)

    def __init__(self, span: ReadableSpan) -> None:
        self.span = span

    def to_record(self) -> SpanRecord:
        return span_to_record(self.span)


class StudioSpanProcessor(SpanProcessor):
    """Sends every span, when it starts and when it ends, to a ``StoreWriter``."""

    def __init__(self, writer: StoreWriter, *, live: bool = True, wait: float = 0.5) -> None:
        self.writer = writer
        self.live = live
        self.wait = wait

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.live:
            self.writer.submit(_Started(span), self.wait)

    def on_end(self, span: ReadableSpan) -> None:
        self.writer.submit(_Ended(span), self.wait)

    def shutdown(self) -> None:
        self.writer.flush()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.writer.flush(timeout_millis / 1000)
