"""``--forward``: what the receiver stores reaches other OTLP receivers, even one that was down.

The targets are real receivers (the studio's own, each with its own store) or, for answers a
collector gives that ours never would, a real HTTP server on 127.0.0.1 that answers as told.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from lumos_studio.forward import Forwarder, parse_target
from lumos_studio.forward.target import ForwardTarget
from lumos_studio.ingest.otlp_http import OtlpReceiver
from lumos_studio.otlp.proto_encode import encode_trace_request_proto
from lumos_studio.store import Store
from tests.builders import make_span
from tests.forward.collector import Collector
from tests.studio.test_serve_cli import read_line_with
from tests.studio.test_worker_session import wait_until

PROTOBUF = "application/x-protobuf"
SPANS_PER_REQUEST = 50


def body_of(request: int) -> bytes:
    trace_id = f"{request + 1:032x}"  # an all-zero id is invalid
    return encode_trace_request_proto(
        [make_span(f"s{i}", trace_id=trace_id, span_id=f"{i + 1:016x}")
         for i in range(SPANS_PER_REQUEST)]
    )


def post(endpoint: str, body: bytes) -> int:
    answer = httpx.post(f"{endpoint}/v1/traces", content=body,
                        headers={"Content-Type": PROTOBUF}, timeout=30)
    return answer.status_code


def stored_spans(path: Path) -> int:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        count: int = connection.execute("SELECT count(*) FROM spans").fetchone()[0]
        return count
    finally:
        connection.close()


def wait_for(condition: Callable[[], object]) -> None:
    """Until ``condition`` holds; 30 s, as a restarted collector takes a while to be retried."""
    wait_until(condition, timeout=30.0)


@contextmanager
def studio_receiver(db: Path, port: int = 0,
                    forwarder: Forwarder | None = None) -> Iterator[OtlpReceiver]:
    with Store(db) as store:
        receiver = OtlpReceiver(
            store.writer, port=port,
            forward=forwarder,
        ).start()
        try:
            yield receiver
        finally:
            receiver.stop()
            store.writer.flush()


@contextmanager
def team_collector(db: Path, port: int = 0) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``lumos-studio serve`` in a process of its own, as a team's collector would run."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lumos_studio", "--db", str(db), "serve", "--otlp-port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    try:
        line = read_line_with(process, "OTEL_EXPORTER_OTLP_ENDPOINT=")
        yield line.strip().split("=")[1], process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(30)


def test_a_target_that_goes_down_mid_load_and_comes_back_gets_every_span(tmp_path: Path) -> None:
    team_db = tmp_path / "team.db"
    with team_collector(team_db) as (team, first_life):
        port = int(team.rsplit(":", 1)[1])
        forwarder = Forwarder([parse_target(team)], tmp_path / "spool").start()
        with studio_receiver(tmp_path / "local.db", forwarder=forwarder) as local:
            for request in range(10):
                assert post(local.endpoint, body_of(request)) == 200
            first_life.send_signal(signal.SIGKILL)  # the collector goes down mid-load
            first_life.wait(30)
            for request in range(10, 30):
                assert post(local.endpoint, body_of(request)) == 200
            wait_for(lambda: forwarder.statuses()[0].problem is not None)
            status = forwarder.statuses()[0]
            assert status.queued_records > 0
            assert "cannot reach" in (status.problem or "")
            with team_collector(team_db, port) as (again, _):  # … and comes back
                assert again == team
                wait_for(forwarder.drained)
                forwarder.stop()
    assert stored_spans(team_db) == 30 * SPANS_PER_REQUEST
    final = forwarder.statuses()[0]
    assert final.sent_records >= 30 * SPANS_PER_REQUEST  # a batch in flight at the kill: twice
    assert (final.dropped_records, final.refused_records, final.queued_records) == (0, 0, 0)


def test_what_was_queued_when_the_studio_stopped_is_sent_by_the_next_one(tmp_path: Path) -> None:
    with studio_receiver(tmp_path / "team.db") as team:
        endpoint, port = team.endpoint, team.port
    spool = tmp_path / "spool"
    forwarder = Forwarder([parse_target(endpoint)], spool).start()
    for request in range(3):
        forwarder.accept("traces", PROTOBUF, body_of(request), SPANS_PER_REQUEST)
    forwarder.stop()  # the target was down all along: all three wait on disk
    with studio_receiver(tmp_path / "team.db", port=port):
        restarted = Forwarder([parse_target(endpoint)], spool)
        assert restarted.statuses()[0].queued_records == 3 * SPANS_PER_REQUEST
        restarted.start()
        wait_for(restarted.drained)
        restarted.stop()
    assert stored_spans(tmp_path / "team.db") == 3 * SPANS_PER_REQUEST


def test_past_the_queue_bound_new_requests_are_dropped_and_counted(tmp_path: Path) -> None:
    body = body_of(0)
    forwarder = Forwarder([parse_target("http://127.0.0.1:9")], tmp_path / "spool",
                          limit_bytes=len(body) * 2)
    for request in range(5):
        forwarder.accept("traces", PROTOBUF, body_of(request), SPANS_PER_REQUEST)
    status = forwarder.statuses()[0]
    assert status.queued_records == 2 * SPANS_PER_REQUEST
    assert status.dropped_records == 3 * SPANS_PER_REQUEST
    assert "150 dropped (queue full)" in status.line()
    forwarder.stop()


def test_retryable_answers_are_retried_and_final_refusals_dropped_and_counted(
        tmp_path: Path, collector: tuple[str, type[Collector]]) -> None:
    url, handler = collector
    handler.answers = [(503, {"Retry-After": "0"}), (429, {"Retry-After": "0"}),
                       (200, {}), (400, {})]
    forwarder = Forwarder([parse_target(url)], tmp_path / "spool").start()
    forwarder.accept("traces", PROTOBUF, body_of(0), SPANS_PER_REQUEST)
    wait_for(forwarder.drained)
    forwarder.accept("traces", PROTOBUF, body_of(1), SPANS_PER_REQUEST)
    wait_for(forwarder.drained)
    forwarder.stop()
    status = forwarder.statuses()[0]
    assert [body for _, _, body in handler.seen] == [body_of(0)] * 3 + [body_of(1)]
    assert status.sent_records == SPANS_PER_REQUEST  # the first, on its third try
    assert status.refused_records == SPANS_PER_REQUEST  # the 400: sending again cannot help
    assert status.problem is not None and status.problem.startswith("HTTP 400")


def test_requests_carry_the_standard_otlp_headers_and_go_to_each_signals_path(
        tmp_path: Path, collector: tuple[str, type[Collector]]) -> None:
    url, handler = collector
    environ = {"OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20team-key,x-team=ml",
               "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "x-team=logs"}
    forwarder = Forwarder([parse_target(f"{url}/v1/traces", environ)], tmp_path / "spool")
    forwarder.start()
    forwarder.accept("traces", PROTOBUF, b"\x0a\x00", 1)
    wait_for(forwarder.drained)
    forwarder.accept("logs", "application/json", b"{}", 1)
    wait_for(forwarder.drained)
    forwarder.stop()
    (traces_path, traces_headers, _), (logs_path, logs_headers, _) = handler.seen
    assert (traces_path, logs_path) == ("/v1/traces", "/v1/logs")
    assert traces_headers["authorization"] == "Bearer team-key"
    assert traces_headers["content-type"] == PROTOBUF
    assert (traces_headers["x-team"], logs_headers["x-team"]) == ("ml", "logs")
    assert logs_headers["content-type"] == "application/json"


def test_queued_protobuf_requests_go_out_joined_and_json_ones_alone(
        tmp_path: Path, collector: tuple[str, type[Collector]]) -> None:
    url, handler = collector
    forwarder = Forwarder([parse_target(url)], tmp_path / "spool")
    for request in range(3):
        forwarder.accept("traces", PROTOBUF, body_of(request), SPANS_PER_REQUEST)
    forwarder.accept("traces", "application/json", b'{"resourceSpans": []}', 0)
    forwarder.accept("traces", "application/json", b'{"resourceSpans": []}', 0)
    forwarder.start()
    wait_for(forwarder.drained)
    wait_for(lambda: len(handler.seen) == 3)
    forwarder.stop()
    joined = handler.seen[0][2]
    assert joined == b"".join(body_of(request) for request in range(3))
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    parsed = ExportTraceServiceRequest.FromString(joined)
    assert sum(len(scope.spans) for resource in parsed.resource_spans
               for scope in resource.scope_spans) == 3 * SPANS_PER_REQUEST
    assert [body for _, _, body in handler.seen[1:]] == [b'{"resourceSpans": []}'] * 2


@pytest.mark.parametrize("given, base", [
    ("http://collector:4318", "http://collector:4318"),
    ("http://collector:4318/", "http://collector:4318"),
    ("https://otel.example/team/v1/traces", "https://otel.example/team"),
    (" http://[::1]:4318/v1/logs/ ", "http://[::1]:4318"),
])
def test_a_forward_target_is_its_base_url_whichever_form_is_given(given: str, base: str) -> None:
    target = parse_target(given, {})
    assert target.base_url == base
    assert target.url("logs") == f"{base}/v1/logs"


@pytest.mark.parametrize("given", ["collector:4318", "ftp://collector", "http://",
                                   "http://collector:4318/?key=1"])
def test_a_forward_target_that_is_not_a_base_url_is_refused_saying_what_to_give(
        given: str) -> None:
    with pytest.raises(ValueError, match="--forward") as refused:
        parse_target(given, {})
    assert "http" in str(refused.value)


def test_a_targets_label_never_shows_its_credentials() -> None:
    target = ForwardTarget("https://user:secret@otel.example:4318/team")
    assert target.label == "otel.example:4318"
    assert "secret" not in target.spool_name


def test_a_reopened_queue_gives_back_its_requests_in_order_and_no_torn_one(
        tmp_path: Path) -> None:
    from lumos_studio.forward.spool import Spool

    spool = Spool(tmp_path / "q")
    for request in range(3):
        spool.put("traces", PROTOBUF, body_of(request), SPANS_PER_REQUEST)
    spool.put("logs", "application/json", b'{"resourceLogs": []}', 2)
    (tmp_path / "q" / "000000000099.traces.50.pb.tmp").write_bytes(b"\x0a")  # killed mid-write
    reopened = Spool(tmp_path / "q")
    assert (reopened.queued_records, reopened.queued_bytes) == (
        3 * SPANS_PER_REQUEST + 2, sum(len(body_of(n)) for n in range(3)) + 20)
    first = reopened.take()
    assert first is not None and first.read_body() == b"".join(body_of(n) for n in range(3))
    reopened.done(first)
    second = reopened.take()
    assert second is not None and (second.signal, second.records) == ("logs", 2)
    reopened.done(second)
    assert reopened.take() is None
    assert list((tmp_path / "q").iterdir()) == []


def test_a_queued_entry_that_cannot_be_read_is_passed_over_when_the_queue_reopens(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from lumos_studio.forward.spool import Spool

    spool = Spool(tmp_path / "q")
    spool.put("traces", PROTOBUF, body_of(0), SPANS_PER_REQUEST)
    dangling = tmp_path / "q" / "000000000099.traces.5.pb"
    dangling.symlink_to(tmp_path / "gone")
    with caplog.at_level("WARNING"):
        reopened = Spool(tmp_path / "q")  # the studio starts, forwarding, all the same
    assert reopened.queued_records == SPANS_PER_REQUEST
    batch = reopened.take()
    assert batch is not None and batch.read_body() == body_of(0)
    assert "000000000099.traces.5.pb cannot be read" in caplog.text


def test_a_staged_body_is_queued_only_once_confirmed_and_gone_if_the_process_dies_first(
        tmp_path: Path) -> None:
    from lumos_studio.forward.spool import Spool

    died = Spool(tmp_path / "q")
    died.stage("traces", PROTOBUF, body_of(0))  # written while the store commits
    assert died.take() is None  # not acknowledged yet: not sent
    assert died.queued_bytes == len(body_of(0))  # but held against the bound
    spool = Spool(tmp_path / "q")  # the process died before the answer: never acknowledged
    assert (spool.queued_records, spool.queued_bytes) == (0, 0)
    assert list((tmp_path / "q").iterdir()) == []
    refused = spool.stage("traces", PROTOBUF, body_of(1))
    spool.discard(refused)  # its records were not stored
    assert spool.queued_bytes == 0
    staged = spool.stage("traces", PROTOBUF, body_of(2))
    assert spool.confirm(staged, SPANS_PER_REQUEST)
    reopened = Spool(tmp_path / "q")
    batch = reopened.take()
    assert batch is not None and batch.read_body() == body_of(2)
    assert batch.records == SPANS_PER_REQUEST


def test_a_request_the_store_does_not_take_is_not_forwarded(tmp_path: Path) -> None:
    unreachable = parse_target("http://127.0.0.1:9")  # nothing is sent in this test
    forwarder = Forwarder([unreachable], tmp_path / "spool")
    with studio_receiver(tmp_path / "local.db", forwarder=forwarder) as local:
        assert post(local.endpoint, body_of(0)) == 200
        local.writer.close()  # the store stops taking writes
        assert post(local.endpoint, body_of(1)) == 503
    status = forwarder.statuses()[0]
    assert status.queued_records == SPANS_PER_REQUEST  # the acknowledged request only
    assert status.queued_bytes == len(body_of(0))
    assert len(list((tmp_path / "spool").rglob("*"))) == 2  # its directory and one file
    forwarder.stop()
