"""The OTLP/HTTP receiver against the real OTel exporters, hand-made OTLP/JSON, and bad input."""

from __future__ import annotations

import gc
import gzip
import itertools
import random
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from lumos_core.telemetry import semconv as sc
from lumos_studio.ingest.otlp_http import RECEIVER_SWITCH_INTERVAL, OtlpReceiver, ReceiverStats
from lumos_studio.otlp import encode_logs_request, encode_trace_request, encode_trace_request_proto
from lumos_studio.otlp.proto_codec import decode_trace_request_proto
from lumos_studio.otlp.proto_span import RawAttributes, RawEvents
from lumos_studio.records import LogRecord, SpanEvent
from lumos_studio.records_codec import span_row, unpack
from lumos_studio.store import Store, StoreReader, StoreWriter
from lumos_studio.store.schema import SPAN_COLUMNS
from tests.builders import T0, weather_trace

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def receiver(store: Store) -> Iterator[OtlpReceiver]:
    with OtlpReceiver(store.writer, port=0, max_body=1 << 20) as started:
        yield started


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as opened:
        yield opened


def exported_provider(receiver: OtlpReceiver, *, batch: bool, **options: Any) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "exporter-test"}))
    exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", **options)
    provider.add_span_processor(
        BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    )
    return provider


def fresh_reader(store: Store) -> StoreReader:
    """A new connection: what another process would see, with no flush in between."""
    return StoreReader(store.path)


# ------------------------------------------------------------------------- real exporters


@pytest.mark.parametrize(
    "options", [{"batch": True}, {"batch": False, "compression": Compression.Gzip}]
)
def test_spans_from_the_real_exporter_are_stored_once_acknowledged(
    receiver: OtlpReceiver, store: Store, options: dict[str, Any]
) -> None:
    provider = exported_provider(receiver, **options)
    tracer = provider.get_tracer("agents", "1.2")
    with tracer.start_as_current_span("invoke_agent weather") as root:
        root.set_attribute(sc.OPERATION_NAME, "invoke_agent")
        root.set_attribute(sc.AGENT_NAME, "weather")
        with tracer.start_as_current_span("chat gpt", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes({sc.OPERATION_NAME: "chat", sc.USAGE_INPUT_TOKENS: 20,
                                 "tags": ("a", "b"), "ratio": 0.5, "stream": False})
            chat.add_event("gen_ai.choice", {"index": 0})
        with tracer.start_as_current_span("execute_tool boom") as tool:
            tool.set_status(StatusCode.ERROR, "it broke")
    assert provider.force_flush()

    trace_id = format(root.get_span_context().trace_id, "032x")
    spans = {s.name: s for s in fresh_reader(store).trace_spans(trace_id)}
    assert set(spans) == {"invoke_agent weather", "chat gpt", "execute_tool boom"}
    stored_chat = spans["chat gpt"]
    assert stored_chat.parent_span_id == format(root.get_span_context().span_id, "016x")
    assert stored_chat.kind == "CLIENT" and stored_chat.scope_name == "agents"
    assert stored_chat.attributes == {sc.OPERATION_NAME: "chat", sc.USAGE_INPUT_TOKENS: 20,
                                      "tags": ["a", "b"], "ratio": 0.5, "stream": False}
    assert [(e.name, e.attributes) for e in stored_chat.events] == [("gen_ai.choice", {"index": 0})]
    assert stored_chat.service_name == "exporter-test"
    assert spans["execute_tool boom"].status_code == "ERROR"
    assert spans["execute_tool boom"].status_message == "it broke"
    [summary] = fresh_reader(store).list_traces()
    assert summary.agent_name == "weather" and summary.span_count == 3
    assert receiver.stats.spans == 3 and receiver.stats.refused == 0
    provider.shutdown()


def test_logs_from_the_real_exporter_and_a_started_event_that_the_span_end_replaces(
    receiver: OtlpReceiver, store: Store
) -> None:
    tracer_provider = exported_provider(receiver, batch=False)
    logger_provider = LoggerProvider(resource=Resource.create({"service.name": "worker"}))
    log_exporter = OTLPLogExporter(endpoint=f"{receiver.endpoint}/v1/logs")
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    logger = logger_provider.get_logger("lumos_core")
    tracer = tracer_provider.get_tracer("lumos_core")

    span = tracer.start_span("execute_tool slow", kind=SpanKind.INTERNAL)
    context = trace.set_span_in_context(span)
    logger.emit(context=context, event_name=sc.EVENT_SPAN_STARTED, body={
        "name": "execute_tool slow", "kind": "INTERNAL", "parent_span_id": None,
        "start_time_unix_nano": str(T0), "attributes": {sc.TOOL_NAME: "slow"}})
    logger.emit(context=context, body="still working", severity_text="INFO",
                attributes={"step": 2})

    ids = span.get_span_context()
    trace_id, span_id = format(ids.trace_id, "032x"), format(ids.span_id, "016x")
    running = fresh_reader(store).span(trace_id, span_id)
    assert running is not None and running.running and running.start_ns == T0
    assert running.attributes == {sc.TOOL_NAME: "slow"} and running.service_name == "worker"
    [note] = fresh_reader(store).logs(trace_id=trace_id)
    assert (note.body, note.span_id, note.attributes) == ("still working", span_id, {"step": 2})
    assert receiver.stats.logs == 2

    span.end()
    finished = fresh_reader(store).span(trace_id, span_id)
    assert finished is not None and not finished.running and finished.start_ns != T0
    assert finished.service_name == "exporter-test"

    # A late copy of the started event (logs and spans are exported separately) changes nothing.
    logger.emit(context=context, event_name=sc.EVENT_SPAN_STARTED, body={"name": "again"})
    assert fresh_reader(store).span(trace_id, span_id) == finished
    logger_provider.shutdown()
    tracer_provider.shutdown()


def test_batched_logs_exporter(receiver: OtlpReceiver, store: Store) -> None:
    provider = LoggerProvider()
    provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{receiver.endpoint}/v1/logs"))
    )
    for n in range(250):
        provider.get_logger("bulk").emit(body=f"line {n}")
    assert provider.force_flush()
    logs = fresh_reader(store).logs()
    assert [log.body for log in logs] == [f"line {n}" for n in range(250)]
    provider.shutdown()


# ---------------------------------------------------------------------------- OTLP/JSON


def test_hand_made_json_traces_and_logs(
    receiver: OtlpReceiver, store: Store, client: httpx.Client
) -> None:
    request = encode_trace_request(weather_trace())
    request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = TRACE_ID.upper()
    answer = client.post(f"{receiver.endpoint}/v1/traces", content=orjson.dumps(request),
                         headers=JSON)
    assert (answer.status_code, answer.json()) == (200, {})
    assert answer.headers["content-type"] == "application/json"
    assert len(fresh_reader(store).trace_spans(TRACE_ID)) == 4

    log = LogRecord(time_ns=T0, body={"k": [1, 2]}, trace_id=TRACE_ID, span_id="a000000000000002")
    answer = client.post(f"{receiver.endpoint}/v1/logs",
                         content=gzip.compress(orjson.dumps(encode_logs_request([log]))),
                         headers={**JSON, "Content-Encoding": "gzip"})
    assert (answer.status_code, answer.json()) == (200, {})
    assert fresh_reader(store).logs(span_id="a000000000000002") == [log]


def test_some_invalid_spans_are_a_partial_success(
    receiver: OtlpReceiver, store: Store, client: httpx.Client
) -> None:
    request = encode_trace_request(weather_trace())
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[1]["spanId"] = "not-an-id"
    answer = client.post(f"{receiver.endpoint}/v1/traces", json=request)

    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "spans[1]: spanId: invalid id" in partial["errorMessage"]
    assert len(fresh_reader(store).trace_spans(TRACE_ID)) == 3

    body = encode_trace_request_proto(weather_trace(trace_id="1" * 32))
    answer = client.post(f"{receiver.endpoint}/v1/traces", content=body.replace(
        bytes.fromhex("a000000000000003"), b"\0" * 8), headers=PROTOBUF)
    response = ExportTraceServiceResponse.FromString(answer.content)
    assert answer.status_code == 200 and response.partial_success.rejected_spans == 1
    assert "all-zero" in response.partial_success.error_message


def test_bad_bytes_in_a_value_keep_the_batch_and_show_as_such(
    receiver: OtlpReceiver, store: Store, client: httpx.Client
) -> None:
    """What stays encoded is decoded leniently, and so is a span's name."""
    records = weather_trace()
    records[1] = replace(records[1], attributes={**records[1].attributes, "note": "AAAA",
                                                 "broken": "ZZZZ"},
                         events=(SpanEvent("retry", T0, {"why": "QQQQ"}),))
    records[2] = replace(records[2], name="NNNN")
    body = encode_trace_request_proto(records)
    body = body.replace(b"AAAA", b"\xffA\xfeA")  # invalid UTF-8 in an attribute's value
    body = body.replace(b"\n\x04ZZZZ", b"\n\x09ZZZZ")  # an AnyValue that is not protobuf
    body = body.replace(b"QQQQ", b"Q\xffQQ")  # invalid UTF-8 inside an event
    body = body.replace(b"NNNN", b"N\xffNN")  # invalid UTF-8 in a span's name

    answer = client.post(f"{receiver.endpoint}/v1/traces", content=body, headers=PROTOBUF)

    response = ExportTraceServiceResponse.FromString(answer.content)
    assert answer.status_code == 200 and not response.HasField("partial_success")
    stored = {s.span_id: s for s in fresh_reader(store).trace_spans(TRACE_ID)}
    assert len(stored) == len(records)
    assert stored[records[2].span_id].name == "N\ufffdNN"
    kept = stored[records[1].span_id]
    assert kept.attributes["note"] == "\ufffdA\ufffdA"
    assert kept.attributes["broken"].startswith("<invalid OTLP value: 6 bytes")
    assert kept.attributes[sc.OPERATION_NAME] == records[1].attributes[sc.OPERATION_NAME]
    [event] = kept.events
    assert event.name.startswith("<invalid OTLP event") and event.time_ns == kept.start_ns


# ------------------------------------------------------------------------------ bad input


def status_of(answer: httpx.Response) -> tuple[int, str]:
    """The google.rpc.Status of an error answer, in either encoding."""
    if answer.headers["content-type"] == "application/x-protobuf":
        status = Status.FromString(answer.content)
        return status.code, status.message
    body = answer.json()
    return body["code"], body["message"]


def test_bad_bodies_are_refused_and_nothing_stored_is_lost(
    receiver: OtlpReceiver, store: Store, client: httpx.Client
) -> None:
    good = encode_trace_request_proto(weather_trace())
    assert client.post(f"{receiver.endpoint}/v1/traces", content=good,
                       headers=PROTOBUF).status_code == 200
    before = fresh_reader(store).trace_spans(TRACE_ID)
    bad_ids = encode_trace_request(weather_trace(trace_id="2" * 32))
    for span in bad_ids["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        span["traceId"] = "xyz"
    cases: list[tuple[bytes, dict[str, str], int, str]] = [
        (good[:-7], PROTOBUF, 400, "invalid protobuf body"),
        (b'{"resourceSpans": [', JSON, 400, "invalid JSON"),
        (orjson.dumps(bad_ids), JSON, 400, "traceId: invalid id 'xyz'"),
        (b"[]", JSON, 400, "expected a JSON object"),
        (good, {"Content-Type": "text/plain"}, 415, "unsupported Content-Type text/plain"),
        (good, {}, 415, "unsupported Content-Type none"),
        (good, {**PROTOBUF, "Content-Encoding": "br"}, 415, "unsupported Content-Encoding br"),
        (gzip.compress(good)[:-9], {**PROTOBUF, "Content-Encoding": "gzip"}, 400, "gzip"),
        (b"not gzip", {**PROTOBUF, "Content-Encoding": "gzip"}, 400, "invalid gzip body"),
        (gzip.compress(bytes(3 << 20)), {**PROTOBUF, "Content-Encoding": "gzip"}, 413,
         "inflates to over the 1,048,576 byte limit"),
        (bytes(2 << 20), PROTOBUF, 413, "over the 1,048,576 byte limit"),
    ]
    for body, headers, status, message in cases:
        answer = client.post(f"{receiver.endpoint}/v1/traces", content=body, headers=headers)
        assert answer.status_code == status, (message, answer.text)
        code, text = status_of(answer)
        assert code == (3 if status in (400, 413, 415) else code) and message in text, text

    assert fresh_reader(store).trace_spans(TRACE_ID) == before
    assert fresh_reader(store).count_traces() == 1
    assert receiver.stats.refused == len(cases)
    # The receiver still works, on a reused connection too.
    assert client.post(f"{receiver.endpoint}/v1/logs", json={}).status_code == 200


def test_an_oversized_body_is_refused_without_reading_it(receiver: OtlpReceiver) -> None:
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/x-protobuf\r\n"
                     b"Content-Length: 10000000000\r\n\r\nsome bytes")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413") and b"Connection: close" in answer


def test_unknown_paths_and_methods(receiver: OtlpReceiver, client: httpx.Client) -> None:
    missing = client.post(f"{receiver.endpoint}/v1/metrics", content=b"x", headers=PROTOBUF)
    assert missing.status_code == 404 and status_of(missing)[0] == 5
    wrong = client.get(f"{receiver.endpoint}/v1/traces")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert client.put(f"{receiver.endpoint}/v1/logs", content=b"{}").status_code == 405
    assert client.post(f"{receiver.endpoint}/v1/traces/", json={}).status_code == 200


def test_a_full_queue_answers_503_with_retry_after(tmp_path: Path, client: httpx.Client) -> None:
    writer = StoreWriter(tmp_path / "busy.db", max_queue=3)  # never started: nothing drains it
    with OtlpReceiver(writer, port=0) as busy:
        answer = client.post(f"{busy.endpoint}/v1/traces",
                             content=encode_trace_request_proto(weather_trace()), headers=PROTOBUF)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert status_of(answer) == (14, "the studio's store is busy; retry later")
    assert busy.stats.busy == 1 and busy.stats.spans == 0
    writer.close()


def test_fuzzed_bodies_never_break_the_receiver(
    receiver: OtlpReceiver, client: httpx.Client
) -> None:
    rng = random.Random(3)
    seeds = [
        (encode_trace_request_proto(weather_trace()), PROTOBUF, "/v1/traces"),
        (orjson.dumps(encode_trace_request(weather_trace())), JSON, "/v1/traces"),
        (orjson.dumps(encode_logs_request([LogRecord(T0, {"a": [1, {"b": None}]})])), JSON,
         "/v1/logs"),
    ]
    statuses = set()
    for n in range(400):
        body, headers, path = seeds[n % len(seeds)]
        mutated = bytearray(body)
        for _ in range(rng.randint(1, 8)):
            choice = rng.random()
            position = rng.randrange(len(mutated))
            if choice < 0.5:
                mutated[position] = rng.randrange(256)
            elif choice < 0.8:
                del mutated[position:position + rng.randint(1, 40)]
            else:
                mutated[position:position] = rng.randbytes(rng.randint(1, 20))
        answer = client.post(f"{receiver.endpoint}{path}", content=bytes(mutated), headers=headers)
        statuses.add(answer.status_code)
        assert answer.status_code in (200, 400), answer.text
    assert statuses == {200, 400}
    assert client.post(f"{receiver.endpoint}/v1/traces", json={}).status_code == 200


# ------------------------------------------------------------------------------------ ports


def test_a_taken_port_moves_to_the_next_free_one(store: Store) -> None:
    with OtlpReceiver(store.writer, port=0) as first:
        second = OtlpReceiver(store.writer, port=first.port)
        try:
            assert second.port != first.port and second.host == "127.0.0.1"
            assert second.endpoint == f"http://127.0.0.1:{second.port}"
        finally:
            second.stop()


@pytest.mark.parametrize("port", [-1, 65536, 70000])
def test_a_port_out_of_range_is_a_value_error_saying_so(store: Store, port: int) -> None:
    with pytest.raises(ValueError, match=f"port {port} is not a TCP port"):
        OtlpReceiver(store.writer, port=port)


def test_a_receive_only_process_shortens_gil_turns_while_it_serves(store: Store) -> None:
    receiver = OtlpReceiver(store.writer, port=0)
    seen: list[float] = []

    def report(stats: ReceiverStats) -> None:
        seen.append(sys.getswitchinterval())
        raise KeyboardInterrupt  # what Ctrl-C does to ``lumos-studio serve``

    before = sys.getswitchinterval()
    try:
        receiver.serve_forever(report, interval=0.01)
    finally:
        gc.unfreeze()
    assert seen == [RECEIVER_SWITCH_INTERVAL] and before > RECEIVER_SWITCH_INTERVAL
    assert sys.getswitchinterval() == before


def test_serve_forever_reports_every_interval_not_every_gil_turn(store: Store) -> None:
    receiver = OtlpReceiver(store.writer, port=0)
    reported: list[float] = []

    def report(stats: ReceiverStats) -> None:
        reported.append(time.monotonic())
        if len(reported) == 3:
            raise KeyboardInterrupt

    try:
        receiver.serve_forever(report, interval=0.1)
    finally:
        gc.unfreeze()
    gaps = [later - earlier for earlier, later in itertools.pairwise(reported)]
    assert min(gaps) >= 0.09  # not the GIL's switch interval (5 ms): 200 lines a second


# -------------------------------------------------------------- spans kept as their OTLP bytes


def test_protobuf_spans_keep_their_bytes_and_read_only_hot_attributes(store: Store) -> None:
    records = weather_trace()
    records[1] = replace(records[1], events=(SpanEvent("gen_ai.choice", T0, {"index": 0}),))
    records[2] = replace(records[2], attributes={
        **records[2].attributes, sc.USAGE_INPUT_TOKENS: -5, "long": "x" * 300,
        sc.REQUEST_MODEL: "é" * 200,  # a multi-byte length, non-ASCII
    })
    decoded = decode_trace_request_proto(encode_trace_request_proto(records))

    chat = decoded[1]
    assert isinstance(chat.attributes, RawAttributes) and isinstance(chat.events, RawEvents)
    assert chat.attributes.get(sc.OPERATION_NAME) == "chat"
    assert chat.attributes.get(sc.USAGE_OUTPUT_TOKENS) == 4
    assert chat.attributes._items is None  # hot attributes did not decode the rest
    assert len(chat.events) == 1 and chat.events._items is None
    assert decoded == records  # compares like the dicts and tuples they stand for
    assert decoded[2].attributes.get(sc.USAGE_INPUT_TOKENS) == -5
    assert decoded[2].attributes.get(sc.REQUEST_MODEL) == "é" * 200
    assert decoded[0].events == () and dict(decoded[0].attributes) == records[0].attributes

    row = span_row(chat)
    assert unpack(row[SPAN_COLUMNS.index("span")]) == chat.attributes.otlp  # kept as it came
    assert row[SPAN_COLUMNS.index("model")] == "scripted"

    without_events = replace(chat, span_id="f" * 16, events=())
    store.writer.commit([*decoded, without_events])
    stored = {s.span_id: s for s in store.reader.trace_spans(TRACE_ID)}
    assert [stored[r.span_id] for r in records] == records
    assert stored["f" * 16].events == () and stored["f" * 16].attributes == records[1].attributes
    [summary] = store.reader.list_traces()
    assert summary.agent_name == "weather" and summary.input_tokens == 30 + 20  # + the copy


def test_unusual_key_value_encodings_still_fill_the_hot_columns() -> None:
    span = Span(trace_id=bytes.fromhex(TRACE_ID), span_id=b"\1" * 8, name="odd")
    value_first = KeyValue(value=AnyValue(string_value="chat")).SerializeToString() + KeyValue(
        key=sc.OPERATION_NAME).SerializeToString()  # the value field before the key
    span.attributes.append(KeyValue.FromString(value_first))
    span.attributes.add(key=sc.USAGE_INPUT_TOKENS).value.array_value.values.add(int_value=1)
    span.attributes.add(key=sc.AGENT_NAME)  # no value at all
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.append(span)

    [record] = decode_trace_request_proto(request.SerializeToString())

    assert record.attributes.get(sc.OPERATION_NAME) == "chat"
    assert record.attributes.get(sc.USAGE_INPUT_TOKENS) == [1]
    assert record.attributes.get(sc.AGENT_NAME) is None and sc.AGENT_NAME in record.attributes
    assert dict(record.attributes) == {
        sc.OPERATION_NAME: "chat", sc.USAGE_INPUT_TOKENS: [1], sc.AGENT_NAME: None,
    }
