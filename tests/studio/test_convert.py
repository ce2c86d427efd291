from __future__ import annotations

from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from lumos_studio.ingest.convert import _record_from_properties, span_to_record


def test_sdk_span_becomes_a_record_with_hex_ids_and_plain_values(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = tracer_provider.get_tracer("lumos_core", "1.2.3")
    with (
        tracer.start_as_current_span("parent") as parent,
        tracer.start_as_current_span("child", kind=SpanKind.CLIENT) as child,
    ):
        child.set_attribute("gen_ai.response.finish_reasons", ["stop"])
        child.set_attribute("n", 3)
        child.add_event("note", {"k": "v"})
        child.set_status(Status(StatusCode.ERROR, "boom"))
    child_span, parent_span = exporter.get_finished_spans()

    record = span_to_record(child_span)

    assert record.trace_id == format(parent.get_span_context().trace_id, "032x")
    assert len(record.trace_id) == 32 and len(record.span_id) == 16
    assert record.span_id == format(child.get_span_context().span_id, "016x")
    assert record.parent_span_id == format(parent.get_span_context().span_id, "016x")
    assert record.kind == "CLIENT"
    assert (record.status_code, record.status_message) == ("ERROR", "boom")
    assert record.attributes == {"gen_ai.response.finish_reasons": ["stop"], "n": 3}
    assert [(e.name, e.attributes) for e in record.events] == [("note", {"k": "v"})]
    assert record.duration_ns == child_span.end_time - child_span.start_time
    assert (record.scope_name, record.scope_version) == ("lumos_core", "1.2.3")
    assert "service.name" in record.resource
    assert span_to_record(parent_span).parent_span_id is None


def test_the_sdk_spans_own_fields_read_as_its_public_properties_do() -> None:
    """``span_to_record`` reads the SDK's ``ReadableSpan`` through its fields; what it makes
    must be what the properties give, for every field a span can fill (and past the limits)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        span_limits=SpanLimits(max_attributes=3, max_events=1, max_links=1)
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scope", "2.0", schema_url="https://example.com/schema")
    remote = SpanContext(
        0x1234, 0x99, is_remote=True, trace_flags=TraceFlags(1),
        trace_state=TraceState([("vendor", "v1")]),
    )
    other = SpanContext(0x5678, 0x42, is_remote=False)
    with tracer.start_as_current_span(
        "busy",
        context=set_span_in_context(NonRecordingSpan(remote)),
        kind=SpanKind.PRODUCER,
        links=[Link(other, {"why": "fan-in"}), Link(other)],
    ) as span:
        span.set_attributes({"a": 1, "b": ("x", "y"), "c": 2.5, "d": True})
        span.add_event("first", {"k": "v"})
        span.add_event("second")
        span.set_status(Status(StatusCode.OK))
    with tracer.start_as_current_span("plain"):
        pass
    busy, plain_span = exporter.get_finished_spans()

    for finished in (busy, plain_span):
        assert span_to_record(finished) == _record_from_properties(finished)
    record = span_to_record(busy)
    assert (record.kind, record.status_code, record.trace_state) == ("PRODUCER", "OK", "vendor=v1")
    assert (record.dropped_attributes_count, record.dropped_events_count,
            record.dropped_links_count) == (1, 1, 1)
    assert [e.name for e in record.events] == ["second"]
    assert record.attributes["b"] == ["x", "y"]
    assert record.flags == 0x300  # the parent is remote
