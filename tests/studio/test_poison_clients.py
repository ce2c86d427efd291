"""A poison client next to good ones, on a real receiver and store: the good ones never notice.

The poison client sends spans starting at 2^64 - 1 ns every 50 ms (protobuf fixed64 allows it,
SQLite's int64 does not) while three good clients send ordinary batches. Were the poison to reach
the writer's merged transaction, it would fail the good clients' records with it (503s).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from lumos_studio.ingest.otlp_http import OtlpReceiver
from lumos_studio.otlp.proto_encode import encode_trace_request_proto
from lumos_studio.records import SpanRecord
from lumos_studio.store import Store, StoreReader
from tests.builders import make_span

PROTOBUF = {"Content-Type": "application/x-protobuf"}
RUN_SECONDS = 3.0
MAX_REQUESTS = 400  # per client: the loop ends even on a very fast machine


def batch(client: int, request: int, size: int = 20) -> list[SpanRecord]:
    trace_id = f"{client:08x}{request:024x}"
    return [make_span(f"work {i}", trace_id=trace_id, span_id=f"{i + 1:016x}")
            for i in range(size)]


def poison_body(request: int) -> bytes:
    spans = batch(0xBAD, request, 3)
    body = encode_trace_request_proto(spans)
    # Every span's start time (fixed64, field 7: tag 0x39) becomes 2^64 - 1.
    start = spans[0].start_ns.to_bytes(8, "little")
    return body.replace(b"\x39" + start, b"\x39" + b"\xff" * 8)


def run_client(endpoint: str, stop: threading.Event, make: Callable[[int], bytes],
               outcomes: Counter[int], acknowledged: list[bytes] | None, pause: float) -> None:
    with httpx.Client(timeout=30) as client:
        for request in range(MAX_REQUESTS):
            if stop.is_set():
                return
            body = make(request)
            answer = client.post(f"{endpoint}/v1/traces", content=body, headers=PROTOBUF)
            outcomes[answer.status_code] += 1
            if answer.status_code != 200:
                assert Status.FromString(answer.content).message  # every refusal says why
            elif acknowledged is not None:
                acknowledged.append(body)
            if pause:
                time.sleep(pause)


def test_good_clients_never_get_503_next_to_a_poison_client(store: Store) -> None:
    stop = threading.Event()
    good: list[tuple[Counter[int], list[bytes]]] = [(Counter(), []) for _ in range(3)]
    poison: Counter[int] = Counter()
    with OtlpReceiver(store.writer, port=0) as receiver:
        threads = [
            threading.Thread(target=run_client, args=(
                receiver.endpoint, stop,
                lambda r, n=n: encode_trace_request_proto(batch(n + 1, r)),
                outcomes, acknowledged, 0.0))
            for n, (outcomes, acknowledged) in enumerate(good)
        ]
        threads.append(threading.Thread(
            target=run_client, args=(receiver.endpoint, stop, poison_body, poison, None, 0.05)))
        for thread in threads:
            thread.start()
        time.sleep(RUN_SECONDS)
        stop.set()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads)

    assert poison and set(poison) == {400}, poison  # refused for good, not "retry later"
    reader = StoreReader(store.path)
    for client, (outcomes, acknowledged) in enumerate(good, start=1):
        assert set(outcomes) == {200}, (client, outcomes)
        assert len(acknowledged) == outcomes[200] > 0
        for request in range(len(acknowledged)):
            trace_id = f"{client:08x}{request:024x}"
            assert len(reader.trace_spans(trace_id)) == 20, trace_id
    assert not [t for t in reader.trace_ids() if t.startswith(f"{0xBAD:08x}")]
    reader.close()


def test_records_the_store_refuses_are_answered_400_or_as_a_partial_success(
    store: Store,
) -> None:
    """What reaches the writer and fails there (here: a real trigger refusing a span) costs its
    own records: a request of only such records is answered 400, not a 503 retried for ever."""
    with sqlite3.connect(store.path) as connection:
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON spans WHEN NEW.name = 'refused' "
            "BEGIN SELECT RAISE(ABORT, 'refused by the store'); END"
        )
    refused = [make_span("refused", trace_id="1" * 32, span_id=f"{i + 1:016x}") for i in range(3)]
    mixed = [*batch(7, 0, 4), make_span("refused", trace_id="2" * 32, span_id="f" * 16)]
    with OtlpReceiver(store.writer, port=0) as receiver, httpx.Client(timeout=30) as client:
        url = f"{receiver.endpoint}/v1/traces"
        all_refused = client.post(url, content=encode_trace_request_proto(refused),
                                  headers=PROTOBUF)
        partly = client.post(url, content=encode_trace_request_proto(mixed), headers=PROTOBUF)

    assert all_refused.status_code == 400
    message = Status.FromString(all_refused.content).message
    assert "refused by the store" in message and "(and" not in message  # three reasons shown
    assert partly.status_code == 200
    partial = ExportTraceServiceResponse.FromString(partly.content).partial_success
    assert partial.rejected_spans == 1 and f"span {'f' * 16}" in partial.error_message
    reader = StoreReader(store.path)
    assert len(reader.trace_spans(f"{7:08x}{0:024x}")) == 4
    assert not reader.trace_spans("1" * 32) and not reader.trace_spans("2" * 32)
    reader.close()
    assert store.writer.rejected == 4
