"""``telemetry.spans.current_span`` does what ``start_as_current_span`` does, which it replaces
on the agent's hot path."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lumos_core.telemetry.spans import current_span


def test_the_span_is_current_inside_and_the_parent_again_after(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = tracer_provider.get_tracer("t")
    with tracer.start_as_current_span("parent") as parent:
        with current_span(tracer, "child", SpanKind.CLIENT, {"k": "v"}) as child:
            assert trace.get_current_span() is child
        assert trace.get_current_span() is parent
    finished = {s.name: s for s in exporter.get_finished_spans()}
    assert finished["child"].parent is not None
    assert finished["child"].parent.span_id == parent.get_span_context().span_id
    assert finished["child"].kind is SpanKind.CLIENT
    assert dict(finished["child"].attributes or {}) == {"k": "v"}
    assert finished["child"].status.status_code is StatusCode.UNSET


def test_an_error_is_recorded_as_start_as_current_span_records_it(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = tracer_provider.get_tracer("t")
    for opener in (
        lambda: current_span(tracer, "ours", SpanKind.INTERNAL),
        lambda: tracer.start_as_current_span("theirs"),
    ):
        with pytest.raises(ValueError, match="boom"), opener():
            raise ValueError("boom")
    ours, theirs = exporter.get_finished_spans()
    for span in (ours, theirs):
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "ValueError: boom"
        assert [e.name for e in span.events] == ["exception"]
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_a_cancelled_task_ends_its_span_unmarked(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = tracer_provider.get_tracer("t")

    async def waits() -> None:
        with current_span(tracer, "waiting", SpanKind.INTERNAL):
            await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.create_task(waits())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == ()
