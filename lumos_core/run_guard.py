"""The spans still open in a process running user code, by run: to close them, with the
reason, when a run is stopped. Used by the worker (``lumos_core.runner``) and ``lumos-studio run``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Status, StatusCode

from lumos_core.telemetry import semconv as sc

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

    def end_all(self, reason: str) -> None:
        """End every open span now with ERROR ``reason``, innermost first."""
        for span in reversed(self.spans(every=True)):
            span.set_status(Status(StatusCode.ERROR, reason))
            span.end()

    def running_tool(self) -> str | None:
        """The tool most recently started and still running, if any."""
        for span in reversed(self.spans(every=True)):
            attributes: Any = span.attributes or {}
            name = attributes.get(sc.TOOL_NAME)
            if name:
                return str(name)
        return None
