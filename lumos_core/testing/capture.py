"""Spans of agent runs kept in memory for a test to look at (``captured_spans``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core.telemetry import activate_providers, reset_providers
from lumos_core.telemetry import semconv as sc
from lumos_core.testing.otlp_json import RecordedSpan

__all__ = ["CapturedSpans"]


class CapturedSpans:
    """A ``TracerProvider`` whose finished spans stay in memory, in the order they ended.

    Pass ``provider`` to ``Agent.run(tracer_provider=...)``, or run inside ``active()``, which
    makes it the default for every agent run in this context (the pytest fixture does that).
    """

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    @property
    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in start order."""
        return sorted(self.exporter.get_finished_spans(), key=lambda s: s.start_time or 0)

    def __iter__(self) -> Iterator[ReadableSpan]:
        return iter(self.spans)

    def __len__(self) -> int:
        return len(self.exporter.get_finished_spans())

    def names(self) -> list[str]:
        """Span names in start order, like ``["invoke_agent weather", "chat scripted", ...]``."""
        return [s.name for s in self.spans]

    def of(self, operation: str) -> list[ReadableSpan]:
        """Spans of one GenAI operation (``"chat"``, ``"execute_tool"``, ``"invoke_agent"``...)."""
        return [s for s in self.spans if (s.attributes or {}).get(sc.OPERATION_NAME) == operation]

    def attribute(self, operation: str, key: str) -> list[Any]:
        """One attribute of each span of ``operation`` (``None`` where a span lacks it)."""
        return [(s.attributes or {}).get(key) for s in self.of(operation)]

    def records(self) -> list[RecordedSpan]:
        """The spans as a saved trace holds them, for ``replay(captured_spans.records())``."""
        return [_record(s) for s in self.spans]

    def clear(self) -> None:
        """Forget the spans captured so far (between two runs of one test)."""
        self.exporter.clear()

    @contextmanager
    def active(self) -> Iterator[CapturedSpans]:
        """Agent runs in this context record here without passing ``tracer_provider``."""
        tokens = activate_providers(self.provider)
        try:
            yield self
        finally:
            reset_providers(tokens)

    def shutdown(self) -> None:
        self.provider.shutdown()


def _record(span: ReadableSpan) -> RecordedSpan:
    context = span.get_span_context()
    parent = span.parent
    return RecordedSpan(
        trace_id=format(context.trace_id if context else 0, "032x"),
        span_id=format(context.span_id if context else 0, "016x"),
        parent_span_id=format(parent.span_id, "016x") if parent is not None else None,
        name=span.name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time,
        status_code=span.status.status_code.name,
        attributes=dict(span.attributes or {}),
    )
