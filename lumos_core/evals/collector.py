"""Each case's spans kept aside for its scorers, whatever else the tracer provider exports.

One ``CaseSpans`` processor is added to a provider the first time an experiment uses it and
stays (the SDK cannot remove processors); with no case open it only looks a span id up.
"""

from __future__ import annotations

import threading
import weakref

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

__all__ = ["CaseSpans", "case_spans_for"]


class CaseSpans(SpanProcessor):
    """Collects the finished descendants of each open case span."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: dict[int, int] = {}  # span id → its case span id
        self._spans: dict[int, list[ReadableSpan]] = {}  # case span id → finished spans

    def open(self, case_span_id: int) -> None:
        with self._lock:
            self._owner[case_span_id] = case_span_id
            self._spans[case_span_id] = []

    def close(self, case_span_id: int) -> list[ReadableSpan]:
        """Stop collecting for the case; its spans, in start order."""
        with self._lock:
            spans = self._spans.pop(case_span_id, [])
            for span_id in [s for s, c in self._owner.items() if c == case_span_id]:
                del self._owner[span_id]
        return sorted(spans, key=lambda s: s.start_time or 0)

    def snapshot(self, case_span_id: int) -> list[ReadableSpan]:
        with self._lock:
            spans = list(self._spans.get(case_span_id, ()))
        return sorted(spans, key=lambda s: s.start_time or 0)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        parent = span.parent
        if parent is None or not self._owner:
            return
        with self._lock:
            case = self._owner.get(parent.span_id)
            if case is not None:
                self._owner[span.context.span_id] = case

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None or not self._owner:
            return
        with self._lock:
            case = self._owner.get(context.span_id)
            if case is not None and case != context.span_id:
                self._spans[case].append(span)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


_installed: weakref.WeakKeyDictionary[TracerProvider, CaseSpans] = weakref.WeakKeyDictionary()
_install_lock = threading.Lock()


def case_spans_for(provider: TracerProvider) -> CaseSpans:
    """The provider's collector, added on first use."""
    with _install_lock:
        collector = _installed.get(provider)
        if collector is None:
            collector = _installed[provider] = CaseSpans()
            provider.add_span_processor(collector)
        return collector
