"""Nothing of a span is lost on the way in and out (issue 14): each captured dialect fixture, the
OTel Python SDK's own OTLP output and spans POSTed as protobuf to the receiver come back out of
``lumos-studio export`` as the same OTLP, read by protobuf's own JSON parser (links, trace
state, flags, scope attributes, schema URLs, dropped counts, bytes values included)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, TraceFlags, TraceState

from lumos_studio.cli import cli
from lumos_studio.ingest.otlp_http import OtlpReceiver
from lumos_studio.ingest.processor import StudioSpanProcessor
from lumos_studio.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def proto_json(line: str | bytes) -> ExportTraceServiceRequest:
    """An OTLP/JSON line through protobuf's own (strict) JSON parser; OTLP/JSON writes ids in
    hex where protobuf's JSON mapping has base64, the one difference the OTLP spec makes."""
    request = orjson.loads(line)
    for resource_spans in request.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                _ids_to_base64(span)
                for link in span.get("links", ()):
                    _ids_to_base64(link)
    return json_format.Parse(orjson.dumps(request), ExportTraceServiceRequest())


def _ids_to_base64(owner: dict[str, Any]) -> None:
    for field in _ID_FIELDS:
        value = owner.get(field)
        if value and len(value) in (16, 32):
            owner[field] = base64.b64encode(bytes.fromhex(value)).decode()


def spans_of(requests: list[ExportTraceServiceRequest]) -> list[dict[str, Any]]:
    """Every span with its resource and scope, order normalised (spans, attributes)."""
    out = []
    for request in requests:
        for resource_spans in request.resource_spans:
            resource = _normal(json_format.MessageToDict(resource_spans.resource))
            for scope_spans in resource_spans.scope_spans:
                scope = _normal(json_format.MessageToDict(scope_spans.scope))
                for span in scope_spans.spans:
                    out.append({
                        "resource": resource,
                        "resourceSchemaUrl": resource_spans.schema_url,
                        "scope": scope,
                        "scopeSchemaUrl": scope_spans.schema_url,
                        "span": _normal(json_format.MessageToDict(span)),
                    })
    return sorted(out, key=lambda s: (s["span"]["traceId"], s["span"]["spanId"]))


def _normal(value: Any) -> Any:
    """Attribute lists sorted by key, empty messages dropped (``{}`` and absent are the same)."""
    if isinstance(value, dict):
        out = {key: _normal(item) for key, item in value.items()}
        out = {key: item for key, item in out.items() if item != {}}
        if isinstance(out.get("attributes"), list):
            out["attributes"] = sorted(out["attributes"], key=lambda kv: kv["key"])
        if isinstance(out.get("values"), list) and all(
            isinstance(kv, dict) and "key" in kv for kv in out["values"]
        ):
            out["values"] = sorted(out["values"], key=lambda kv: kv["key"])
        return out
    if isinstance(value, list):
        return [_normal(item) for item in value]
    return value


def trace_lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.startswith(b'{"resourceSpans"')]


def import_then_export(tmp_path: Path, source: Path) -> Path:
    db, out = tmp_path / "studio.db", tmp_path / "out.jsonl"
    ran = CliRunner().invoke(cli, ["--db", str(db), "import", str(source)])
    assert ran.exit_code == 0, ran.output
    return export(db, out)


def export(db: Path, out: Path) -> Path:
    ran = CliRunner().invoke(cli, ["--db", str(db), "export", "--all", "-o", str(out)])
    assert ran.exit_code == 0, ran.output
    return out


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.jsonl")), ids=lambda p: p.stem)
def test_each_dialect_fixture_comes_back_out_as_it_went_in(tmp_path: Path, fixture: Path) -> None:
    expected = spans_of([proto_json(line) for line in trace_lines(fixture)])
    assert expected
    out = import_then_export(tmp_path, fixture)
    assert spans_of([proto_json(line) for line in trace_lines(out)]) == expected


# ------------------------------------------------------------------- the OTel SDK's own output

LINKED = SpanContext(
    0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, is_remote=True,
    trace_flags=TraceFlags(1), trace_state=TraceState([("vendor", "linked")]),
)


def sdk_spans() -> list[ReadableSpan]:
    """Spans made by the real SDK with everything a span can carry."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource({"service.name": "round-trip"}, "https://opentelemetry.io/schemas/1.30.0")
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer(
        "round.trip", "1.2", "https://opentelemetry.io/schemas/1.37.0",
        attributes={"scope.kind": "test", "scope.n": 3},
    )
    remote_parent = SpanContext(
        0x1AF7651916CD43DD8448EB211C80319C, 0x00F067AA0BA902B7, is_remote=True,
        trace_flags=TraceFlags(1), trace_state=TraceState([("congo", "t61rcWkgMzE")]),
    )
    from opentelemetry.trace import NonRecordingSpan, set_span_in_context

    context = set_span_in_context(NonRecordingSpan(remote_parent))
    with tracer.start_as_current_span(
        "invoke_workflow weather",
        context=context,
        links=[Link(LINKED, {"link.kind": "caused-by", "link.bytes": b"\x00\x01"})],
        attributes={"blob": b"\x00\xff\x10", "gen_ai.operation.name": "invoke_workflow",
                    "list": [1, 2, 3]},
    ) as span:
        span.add_event("gen_ai.user.message", {"content": "Paris?", "raw": b"\x01"})
        span.add_event("checkpoint")
        with tracer.start_as_current_span("chat gpt-4o-mini") as child:
            child.set_attribute("gen_ai.request.model", "gpt-4o-mini")
    provider.shutdown()
    return list(exporter.get_finished_spans())


def test_the_sdks_own_otlp_comes_back_out_as_it_went_in(tmp_path: Path) -> None:
    request = encode_spans(sdk_spans())
    source = tmp_path / "sdk.jsonl"
    source.write_text(json_format.MessageToJson(request, indent=None) + "\n")
    out = import_then_export(tmp_path, source)
    [line] = trace_lines(out)
    got = spans_of([proto_json(line)])
    assert got == spans_of([request])
    workflow = next(s["span"] for s in got if s["span"]["name"] == "invoke_workflow weather")
    assert workflow["links"][0]["attributes"]
    assert workflow["traceState"] == "congo=t61rcWkgMzE"
    assert workflow["flags"] == 0x300  # the parent is remote
    assert {"key": "blob", "value": {"bytesValue": "AP8Q"}} in workflow["attributes"]
    assert got[0]["scope"]["attributes"] and got[0]["scopeSchemaUrl"].endswith("1.37.0")


@pytest.fixture
def receiver(store: Store) -> Iterator[OtlpReceiver]:
    with OtlpReceiver(store.writer, port=0, max_body=1 << 20) as started:
        yield started


def test_protobuf_posted_to_the_receiver_comes_back_out_as_it_went_in(
    tmp_path: Path, store: Store, receiver: OtlpReceiver
) -> None:
    request = encode_spans(sdk_spans())
    posted = httpx.post(
        f"{receiver.endpoint}/v1/traces", content=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"}, timeout=10,
    )
    assert posted.status_code == 200
    store.writer.flush()
    out = export(store.path, tmp_path / "out.jsonl")
    assert spans_of([proto_json(line) for line in trace_lines(out)]) == spans_of([request])


def test_the_in_process_processor_keeps_what_the_sdk_exporter_sends(
    tmp_path: Path, store: Store
) -> None:
    """The same spans through ``StudioSpanProcessor`` export as the SDK's own encoder has them."""
    spans = sdk_spans()
    processor = StudioSpanProcessor(store.writer, live=False)
    for span in spans:
        processor.on_end(span)
    store.writer.flush()
    out = export(store.path, tmp_path / "out.jsonl")
    expected = encode_spans(spans)
    # The SDK's encoder leaves a link's trace state out; the processor keeps it.
    for resource_spans in expected.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                for link in span.links:
                    link.trace_state = "vendor=linked"
    assert spans_of([proto_json(line) for line in trace_lines(out)]) == spans_of([expected])


def test_otlp_json_posted_to_the_receiver_comes_back_out_as_it_went_in(
    tmp_path: Path, store: Store, receiver: OtlpReceiver
) -> None:
    request = encode_spans(sdk_spans())
    posted = httpx.post(
        f"{receiver.endpoint}/v1/traces", content=json_format.MessageToJson(request),
        headers={"Content-Type": "application/json"}, timeout=10,
    )
    assert posted.status_code == 200
    store.writer.flush()
    out = export(store.path, tmp_path / "out.jsonl")
    assert spans_of([proto_json(line) for line in trace_lines(out)]) == spans_of([request])
