"""A span made current for a block, as ``Tracer.start_as_current_span`` does, at less cost.

The API's ``start_as_current_span`` nests two generator context managers (its own and
``use_span``) around ``start_span``: ~1.6 µs a span on top of the span itself, paid four times an
agent run even with tracing off. ``current_span`` does the same steps in one small class: start
the span, make it current, and on leaving detach it, record an ``Exception`` (event + ERROR status,
as ``use_span`` words it) and end it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace import (
    Link,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)


class current_span:  # named like the function it stands in for
    """``with current_span(tracer, name, kind, attributes) as span:`` — the span is current
    inside the block and ends when it is left (what ``start_as_current_span`` does)."""

    __slots__ = ("_span", "_token")

    def __init__(
        self,
        tracer: trace.Tracer,
        name: str,
        kind: SpanKind,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[Link] | None = None,
    ) -> None:
        self._span = tracer.start_span(name, kind=kind, attributes=attributes, links=links)
        self._token: object = None

    def __enter__(self) -> trace.Span:
        self._token = context_api.attach(set_span_in_context(self._span))
        return self._span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        span = self._span
        try:
            context_api.detach(self._token)  # type: ignore[arg-type]
            # Only errors: GeneratorExit, CancelledError and the like end the span unmarked.
            if isinstance(exc, Exception) and span.is_recording():
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        finally:
            span.end()


def link_to(trace_id: str | None, span_id: str | None, attributes: Mapping[str, Any]) -> list[Link]:
    """A link to an earlier span known by its hex ids (a run a fork or a resume continues, a
    call repeated by hand); none when either id is missing."""
    if not trace_id or not span_id:
        return []
    context = SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True,
                          trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return [Link(context, dict(attributes))]
