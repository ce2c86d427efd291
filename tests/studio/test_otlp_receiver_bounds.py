"""The receiver is bounded: idle and slow connections time out, connections are limited, a full
disk or read-only store is named, and a token guards it (required off loopback)."""

from __future__ import annotations

import contextlib
import random
import select
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_studio.app import StudioApp
from lumos_studio.cli import cli
from lumos_studio.ingest.otlp_http import OtlpReceiver, TokenRequired, is_loopback
from lumos_studio.otlp import encode_trace_request_proto
from lumos_studio.records import SpanRecord
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store, StoreReader
from tests.builders import make_span
from tests.studio.test_otlp_receiver import status_of
from tests.ui.helpers import wait_for

PROTOBUF = {"Content-Type": "application/x-protobuf"}
TOKEN = "s3cret-token"


def until(condition: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def connect(receiver: OtlpReceiver) -> socket.socket:
    return socket.create_connection(("127.0.0.1", receiver.port), timeout=10)


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """Whether the server closes ``sock`` (EOF or reset) within ``timeout`` s; reads answers."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes ``sock``."""
    sock.settimeout(timeout)
    received = bytearray()
    with contextlib.suppress(ConnectionResetError):
        while piece := sock.recv(4096):
            received += piece
    return bytes(received)


def big_spans(count: int, tag: str) -> list[SpanRecord]:
    """Spans of ~20 kB each as stored (compressed): a batch of them must grow the store."""
    return [
        make_span(f"span {n}", trace_id=f"{tag}{n:031x}", span_id=f"{n + 1:016x}",
                  attributes={"blob": random.Random(f"{tag}{n}").randbytes(20_000).hex()})
        for n in range(count)
    ]


def set_pragma(store: Store, pragma: str) -> None:
    """Run a PRAGMA on the writer's own connection, on its thread (where limits apply)."""
    assert store.writer._command(lambda c: c.execute(f"PRAGMA {pragma}"), [], 10)


def fill_the_disk(store: Store) -> None:
    """The writer's store may not grow past its size now: SQLite answers SQLITE_FULL, for real,
    as on a full disk."""
    def limit(connection: sqlite3.Connection) -> None:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")

    assert store.writer._command(limit, [], 10)


# ------------------------------------------------------------------------------- timeouts


def test_idle_connections_are_closed_and_their_threads_end(store: Store) -> None:
    with OtlpReceiver(store.writer, port=0, idle_timeout=0.5) as receiver, ExitStack() as stack:
        baseline = threading.active_count()
        sockets = [stack.enter_context(connect(receiver)) for _ in range(30)]
        assert until(lambda: threading.active_count() >= baseline + 30)
        started = time.monotonic()
        assert all(closed_by_server(sock, timeout=10) for sock in sockets)
        assert time.monotonic() - started < 8  # the idle timeout, not the 10 s of our recv
        assert until(lambda: threading.active_count() <= baseline, timeout=5)
        # The receiver still serves.
        answer = httpx.post(f"{receiver.endpoint}/v1/traces", json={}, timeout=10)
        assert answer.status_code == 200


def test_a_trickled_request_is_cut_off_at_the_request_timeout(store: Store) -> None:
    with OtlpReceiver(store.writer, port=0, idle_timeout=2, request_timeout=1) as receiver, \
            connect(receiver) as sock:
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # a byte every 0.2 s: never idle, never done
            try:
                sock.sendall(b"x")
            except OSError:
                break
            if select.select([sock], [], [], 0.2)[0]:
                break
        answer = read_until_closed(sock, timeout=5)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"Connection: close" in answer and b"not received within 1 s" in answer


# ------------------------------------------------------------------------- connection bound


def test_connections_beyond_the_bound_get_503_without_a_thread_each(store: Store) -> None:
    with OtlpReceiver(store.writer, port=0, max_connections=4) as receiver, \
            ExitStack() as stack:
        baseline = threading.active_count()
        held = [stack.enter_context(connect(receiver)) for _ in range(4)]
        assert until(lambda: threading.active_count() >= baseline + 4)

        extra = [stack.enter_context(connect(receiver)) for _ in range(40)]
        answers = []
        for sock in extra:
            sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                         b"\r\nContent-Length: 2\r\n\r\n{}")
            answers.append(sock.recv(4096))
        assert threading.active_count() <= baseline + 4  # no handler thread for any of them
        assert all(answer.startswith(b"HTTP/1.1 503") for answer in answers), answers[0]
        assert all(b"Retry-After: 1\r\n" in answer for answer in answers)
        assert b"limit of 4 connections" in answers[0]
        assert all(closed_by_server(sock, timeout=10) for sock in extra)

        with httpx.Client(timeout=10) as client:
            refused = client.post(f"{receiver.endpoint}/v1/traces", json={})
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
            assert status_of(refused) == (
                14, "the receiver is serving its limit of 4 connections; retry later")
            for sock in held:
                sock.close()
            assert until(lambda: client.post(f"{receiver.endpoint}/v1/traces",
                                             json={}).status_code == 200)
        assert receiver.stats.busy >= 41


# --------------------------------------------------------------------- a store that is stuck


def test_a_full_disk_is_named_in_the_answer_and_the_status_line(
    store: Store, client: httpx.Client
) -> None:
    with OtlpReceiver(store.writer, port=0) as receiver:
        body = encode_trace_request_proto(big_spans(40, "a"))
        assert client.post(f"{receiver.endpoint}/v1/traces", content=body,
                           headers=PROTOBUF).status_code == 200
        fill_the_disk(store)

        full = client.post(f"{receiver.endpoint}/v1/traces",
                           content=encode_trace_request_proto(big_spans(40, "b")),
                           headers=PROTOBUF)
        assert full.status_code == 507
        code, message = status_of(full)
        assert code == 8 and message.startswith("the disk is full: the store ")
        assert "database or disk is full" in message and "free space" in message
        assert receiver.status_line().endswith("(1 failed request) · the disk is full")

        set_pragma(store, "max_page_count = 1073741823")  # space freed: stored again
        again = client.post(f"{receiver.endpoint}/v1/traces",
                            content=encode_trace_request_proto(big_spans(40, "b")),
                            headers=PROTOBUF)
        assert again.status_code == 200 and store.writer.storage_error is None
        assert "disk" not in receiver.status_line()


def test_a_read_only_store_is_named_in_the_answer(store: Store, client: httpx.Client) -> None:
    with OtlpReceiver(store.writer, port=0) as receiver:
        set_pragma(store, "query_only = 1")  # SQLITE_READONLY from SQLite itself
        answer = client.post(f"{receiver.endpoint}/v1/traces",
                             content=encode_trace_request_proto(big_spans(2, "c")),
                             headers=PROTOBUF)
        assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
        code, message = status_of(answer)
        assert code == 14 and message.startswith("the store is read-only: ")
        assert "make the file and its directory writable" in message
        assert receiver.status_line().endswith(" · the store is read-only")


async def test_the_studio_header_says_the_disk_is_full(store: Store) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer),
                    endpoint="http://127.0.0.1:4318")
    async with app.run_test(size=(120, 40)) as pilot:
        assert "disk" not in app.sub_title
        fill_the_disk(store)
        assert not store.writer.commit(big_spans(10, "d"))
        await wait_for(pilot, lambda: "⚠ the disk is full" in app.sub_title)
        assert "OTLP http://127.0.0.1:4318" in app.sub_title
        set_pragma(store, "max_page_count = 1073741823")
        assert store.writer.commit(big_spans(10, "d"))
        await wait_for(pilot, lambda: "disk" not in app.sub_title)


# ----------------------------------------------------------------------------------- tokens


def test_only_loopback_counts_as_loopback() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "203.0.113.7", "10.1.2.3"]))


def test_a_non_loopback_receiver_needs_a_token_before_it_binds(store: Store) -> None:
    with pytest.raises(TokenRequired, match=r"listening on 0\.0\.0\.0 lets other machines"):
        OtlpReceiver(store.writer, host="0.0.0.0", port=0)


def test_serve_off_loopback_without_a_token_exits_2_before_opening_anything(
    tmp_path: Path,
) -> None:
    db = tmp_path / "never.db"
    ran = CliRunner().invoke(cli, ["--db", str(db), "serve", "--host", "0.0.0.0"],
                             env={"LUMOS_OTLP_TOKEN": ""})
    assert ran.exit_code == 2
    assert "error: listening on 0.0.0.0 lets other machines write to the store, so it needs a " \
           "token" in ran.stderr
    assert "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20SECRET" in ran.stderr
    assert "Traceback" not in ran.output and not db.exists()


def test_serve_takes_the_token_from_the_environment(tmp_path: Path) -> None:
    ran = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "x.db"), "serve", "--host", "203.0.113.7", "--port", "0"],
        env={"LUMOS_OTLP_TOKEN": TOKEN},
    )
    # Past the token check: it tried to bind (an address this machine does not have).
    assert ran.exit_code == 1
    assert "error: --host 203.0.113.7 is not an address of this machine" in ran.stderr


def test_serve_help_says_how_exporters_send_the_token() -> None:
    shown = CliRunner().invoke(cli, ["serve", "--help"]).output
    assert "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>" in shown
    assert "LUMOS_OTLP_TOKEN" in shown and "--max-connections" in shown


@pytest.fixture
def guarded(store: Store) -> Iterator[OtlpReceiver]:
    with OtlpReceiver(store.writer, port=0, token=TOKEN) as started:
        yield started


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as opened:
        yield opened


def test_with_a_token_requests_without_it_get_401(
    guarded: OtlpReceiver, client: httpx.Client, store: Store
) -> None:
    body = encode_trace_request_proto(big_spans(1, "e"))
    url = f"{guarded.endpoint}/v1/traces"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}):
        answer = client.post(url, content=body, headers={**PROTOBUF, **headers})
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["content-type"] == PROTOBUF["Content-Type"]  # what it sent
        code, message = status_of(answer)
        assert code == 16 and "Authorization: Bearer <token>" in message
    assert client.get(url).status_code == 401  # nothing is told without the token
    store.writer.flush()
    assert StoreReader(store.path).count_traces() == 0
    assert guarded.stats.refused == 5

    bearer = {"Authorization": f"Bearer {TOKEN}"}
    answer = client.post(url, content=body, headers={**PROTOBUF, **bearer})
    assert answer.status_code == 200
    assert StoreReader(store.path).count_traces() == 1


def test_an_otel_exporter_sends_the_token_from_its_environment(
    guarded: OtlpReceiver, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def export(headers: str) -> tuple[SpanExportResult, str]:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", headers)
        finished = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({"service.name": "remote"}))
        provider.add_span_processor(SimpleSpanProcessor(finished))
        with provider.get_tracer("t").start_as_current_span("remote work") as span:
            pass
        exporter = OTLPSpanExporter(endpoint=f"{guarded.endpoint}/v1/traces")
        result = exporter.export(finished.get_finished_spans())
        exporter.shutdown()
        return result, format(span.get_span_context().trace_id, "032x")

    refused, refused_id = export("Authorization=Bearer%20not-it")
    accepted, accepted_id = export(f"Authorization=Bearer%20{TOKEN}")
    assert refused is SpanExportResult.FAILURE and accepted is SpanExportResult.SUCCESS
    reader = StoreReader(store.path)
    assert reader.trace_spans(refused_id) == []
    assert [s.name for s in reader.trace_spans(accepted_id)] == ["remote work"]
