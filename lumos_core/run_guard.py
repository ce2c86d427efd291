"""The spans still open in the worker (``lumos_core.runner``), by run: a cancelled run's end
with the reason, and the studio hears of each start and end at once (OTLP exports in batches: a
worker that dies leaves the studio to close what it had open).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Status, StatusCode

from lumos_core.worker_protocol import Report, SpanEnded, SpanStarted

# The run a span belongs to: set by whoever starts a run, copied into its tasks and threads.
current_run: ContextVar[int | None] = ContextVar("lumos_current_run", default=None)


class OpenSpans(SpanProcessor):
    """Remembers every span still open, by the run that started it (``current_run``), so a
    stopped run's spans can be marked or ended with the reason. ``on_start`` / ``on_end``
    also call the listeners given (the worker tells the studio)."""

    def __init__(
        self,
        on_start: Callable[[Span, int | None], None] | None = None,
        on_end: Callable[[ReadableSpan], None] | None = None,
    ) -> None:
        self._open: dict[int, tuple[int | None, Span]] = {}
        self._lock = threading.Lock()
        self._on_start = on_start
        self._on_end = on_end

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        run = current_run.get()
        with self._lock:
            self._open[span.context.span_id] = (run, span)
        if self._on_start is not None:
            self._on_start(span, run)

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None:
            with self._lock:
                self._open.pop(span.context.span_id, None)
        if self._on_end is not None:
            self._on_end(span)

    def spans(self, run: int | None = None, *, every: bool = False) -> list[Span]:
        """The open spans of ``run`` (all of them with ``every``), oldest first."""
        with self._lock:
            return [s for r, s in self._open.values() if every or r == run]

    def mark(self, reason: str, run: int | None = None, *, every: bool = False) -> None:
        """Set ERROR ``reason`` on open spans: when they end (a cancellation unwinding), that
        is their status. An exception's own status is not set over it (``CancelledError`` is
        not an ``Exception``, so OpenTelemetry leaves the status alone)."""
        for span in self.spans(run, every=every):
            span.set_status(Status(StatusCode.ERROR, reason))


def reporting_spans(send: Callable[[Report], None]) -> OpenSpans:
    """Open spans, each start and end also sent with ``send`` (the worker's, to the studio; a
    lost message is no error: the studio is gone or going)."""

    def started(span: Span, run: int | None) -> None:
        parent = span.parent
        scope = span.instrumentation_scope
        _quietly(send, SpanStarted(
            run=run,
            trace_id=format(span.context.trace_id, "032x"),
            span_id=format(span.context.span_id, "016x"),
            parent_span_id=format(parent.span_id, "016x") if parent is not None else None,
            name=span.name,
            kind=span.kind.name,
            start_ns=span.start_time or 0,
            attributes=jsonable_attributes(span.attributes),
            scope_name=scope.name if scope is not None else "",
            scope_version=(scope.version or "") if scope is not None else "",
        ))

    def ended(span: ReadableSpan) -> None:
        if span.context is None:
            return
        status = span.status
        _quietly(send, SpanEnded(
            trace_id=format(span.context.trace_id, "032x"),
            span_id=format(span.context.span_id, "016x"),
            end_ns=span.end_time or 0,
            status_code=status.status_code.name,
            status_message=status.description or "",
            attributes=jsonable_attributes(span.attributes),
        ))

    return OpenSpans(started, ended)


def jsonable_attributes(attributes: Any) -> dict[str, Any]:
    return {str(k): list(v) if isinstance(v, tuple) else v for k, v in (attributes or {}).items()}


def _quietly(send: Callable[[Report], None], message: Report) -> None:
    with contextlib.suppress(OSError, TypeError):
        send(message)
