"""``lumos-studio serve`` in a real subprocess, and ``import`` of files that carry logs."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from lumos_studio.cli import cli
from lumos_studio.otlp import encode_lines, encode_log_lines
from lumos_studio.records import LogRecord
from lumos_studio.store import StoreReader
from tests.builders import T0, weather_trace


def read_line_with(process: subprocess.Popen[str], marker: str, timeout: float = 60) -> str:
    """The first stdout line containing ``marker``, without hanging if it never comes."""
    return read_lines_until(process, marker, timeout)[-1]


def read_lines_until(process: subprocess.Popen[str], marker: str, timeout: float = 60
                     ) -> list[str]:
    """The stdout lines up to the first containing ``marker``, without hanging if it never comes.

    A thread reads the pipe: select() on it would miss lines already in the reader's buffer.
    """
    assert process.stdout is not None
    stdout = process.stdout
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"serve never printed {marker!r}")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def serving(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    db = tmp_path / "served.db"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # serve flushes
    options: list[str] = getattr(request, "param", [])  # a test's own, parametrized indirectly
    process = subprocess.Popen(
        [sys.executable, "-m", "lumos_studio", "--db", str(db), "serve", "--port", "0", *options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        # Ctrl-C as in a terminal, even when the suite itself runs as a background job (which
        # ignores SIGINT, and children inherit that).
        preexec_fn=_default_sigint,
    )
    try:
        yield process, db
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def test_serve_receives_from_an_exporter_and_stops_cleanly_on_ctrl_c(
    serving: tuple[subprocess.Popen[str], Path],
) -> None:
    process, db = serving
    endpoint = read_line_with(process, "OTEL_EXPORTER_OTLP_ENDPOINT=").strip().split("=", 1)[1]
    assert endpoint.startswith("http://127.0.0.1:")

    provider = TracerProvider(resource=Resource.create({"service.name": "ci-job"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{endpoint}/v1/traces")))
    tracer = provider.get_tracer("ci")
    with tracer.start_as_current_span("nightly eval") as root, tracer.start_span("chat model"):
        pass
    provider.shutdown()
    trace_id = format(root.get_span_context().trace_id, "032x")

    # Acknowledged means stored: another command on the same file sees it while serve runs.
    listed = CliRunner().invoke(cli, ["--db", str(db), "traces"], catch_exceptions=False)
    assert listed.exit_code == 0 and trace_id in listed.stdout and "nightly eval" in listed.stdout
    assert StoreReader(db).trace_spans(trace_id)[0].service_name == "ci-job"

    process.send_signal(signal.SIGINT)
    process.wait(20)  # stdout is drained by read_line_with's thread
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert process.returncode == 0, stderr
    assert "stopped; stored 2 spans, 0 logs in 2 requests" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("serving", [["--token", "s3cret"]], indirect=True)
def test_serve_with_a_token_takes_only_requests_that_carry_it(
    serving: tuple[subprocess.Popen[str], Path],
) -> None:
    process, db = serving
    printed = read_lines_until(process, "OTEL_EXPORTER_OTLP_HEADERS=")
    endpoint = next(line for line in printed if line.startswith("OTEL_EXPORTER_OTLP_ENDPOINT="))
    endpoint = endpoint.strip().split("=", 1)[1]
    assert printed[-1].strip() == "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>"
    assert all("s3cret" not in line for line in printed)  # the secret is not echoed

    anonymous = httpx.post(f"{endpoint}/v1/traces", json={}, timeout=10)
    assert anonymous.status_code == 401

    provider = TracerProvider(resource=Resource.create({"service.name": "remote"}))
    exporter = OTLPSpanExporter(f"{endpoint}/v1/traces", headers={"Authorization": "Bearer s3cret"})
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("ci").start_as_current_span("remote job") as span:
        pass
    provider.shutdown()
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert [s.name for s in StoreReader(db).trace_spans(trace_id)] == ["remote job"]

    process.send_signal(signal.SIGINT)
    process.wait(20)
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert process.returncode == 0, stderr
    assert "stopped; stored 1 span, 0 logs in 1 request (1 refused request)" in stderr


@pytest.mark.parametrize(("host", "said"), [
    ("203.0.113.7", "--host 203.0.113.7 is not an address of this machine"),
    ("999.1.1.1", "cannot resolve --host 999.1.1.1: "),
], ids=["not this machine's", "no such address"])
def test_serve_blames_the_host_when_the_address_is_at_fault(
    tmp_path: Path, host: str, said: str
) -> None:
    ran = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "x.db"), "serve", "--host", host, "--port", "0",
              "--token", "s3cret"],
    )
    assert ran.exit_code == 1 and said in ran.stderr
    assert "give --host 127.0.0.1" in ran.stderr
    assert "--otlp-port" not in ran.stderr  # the port is not what is wrong


def test_serve_blames_the_port_when_the_port_is_at_fault(tmp_path: Path) -> None:
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 65535))  # the last port: no next one to move to
    except OSError:
        pytest.skip("port 65535 is taken here")
    with holder:
        holder.listen()
        ran = CliRunner().invoke(
            cli, ["--db", str(tmp_path / "x.db"), "serve", "--otlp-port", "65535"])
    assert ran.exit_code == 1
    assert "cannot listen on 127.0.0.1:65535: Address already in use" in ran.stderr
    assert "try --otlp-port 0" in ran.stderr and "--host" not in ran.stderr


@pytest.mark.parametrize("size", ["0", "-1", "1023"])
def test_serve_refuses_a_body_limit_that_would_refuse_every_request(
    tmp_path: Path, size: str
) -> None:
    ran = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "serve", "--max-body", size])
    assert ran.exit_code == 2
    assert f"Invalid value for '--max-body': {size} is not in the range x>=1024" in ran.stderr
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def test_import_stores_logs_and_started_spans_from_a_file(tmp_path: Path) -> None:
    spans = weather_trace()
    trace_id = spans[0].trace_id
    started = LogRecord(
        time_ns=T0, event_name="lumos.span.started", trace_id=trace_id,
        span_id="a000000000000009", body={"name": "execute_tool pending", "kind": "INTERNAL",
                                          "parent_span_id": "a000000000000001"},
    )
    note = LogRecord(time_ns=T0 + 1, body="looked it up", trace_id=trace_id,
                     span_id="a000000000000003", severity_number=9, severity_text="INFO")
    path = tmp_path / "with-logs.jsonl"
    path.write_text("".join(encode_lines(spans)) + "".join(encode_log_lines([started, note])))
    db = tmp_path / "imported.db"

    ran = CliRunner().invoke(cli, ["--db", str(db), "import", str(path)])

    assert ran.exit_code == 0, ran.output
    assert "imported 5 new spans in 1 trace and 1 new log record" in ran.stderr
    reader = StoreReader(db)
    assert [log.body for log in reader.logs(trace_id=trace_id)] == ["looked it up"]
    pending = reader.span(trace_id, "a000000000000009")
    assert pending is not None and pending.running
