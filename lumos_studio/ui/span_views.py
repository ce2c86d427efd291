"""The views of the open trace's spans, read once each: a live trace is loaded again ~10 times a
second, and only its new, ended or renamed spans are read again (``semantics.read_trace``)."""

from __future__ import annotations

from collections.abc import Sequence

from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.semantics import SpanView, read_trace


class SpanViews:
    """A cache of one trace's ``SpanView``s by span id; use it from one thread (a worker)."""

    def __init__(self) -> None:
        self.trace_id: str | None = None
        self._views: dict[str, SpanView] = {}
        self._read_as: dict[str, tuple[str, int | None]] = {}  # span id → (name, end) read

    def update(
        self, trace_id: str, spans: Sequence[SpanRecord], logs: Sequence[LogRecord] = ()
    ) -> dict[str, SpanView]:
        """Every span's view; spans unchanged since they were last read are not read again."""
        if trace_id != self.trace_id:
            self.trace_id, self._views, self._read_as = trace_id, {}, {}
        read_as = self._read_as
        stale = [s for s in spans if read_as.get(s.span_id) != (s.name, s.end_ns)]
        if stale:
            self._views.update(read_trace(stale, logs))
            for span in stale:
                read_as[span.span_id] = (span.name, span.end_ns)
        views = self._views
        return {s.span_id: views[s.span_id] for s in spans if s.span_id in views}
