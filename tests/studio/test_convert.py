from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from lumos_studio.ingest.convert import span_to_record


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
