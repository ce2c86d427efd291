"""``kill -9`` of ``lumos-studio serve`` under load loses no span it acknowledged.

A 200 is sent only once the writer committed the request's records (WAL, synchronous commit),
so whatever a client was told is stored must be in the file after the process dies mid-load.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from lumos_studio.otlp.proto_encode import encode_trace_request_proto
from lumos_studio.store import StoreReader
from tests.builders import make_span
from tests.studio.test_serve_cli import read_line_with

CLIENTS = 4
SPANS_PER_REQUEST = 50
LOAD_SECONDS = 2.0


def post_until_killed(endpoint: str, client: int, acknowledged: list[str],
                      errors: list[BaseException]) -> None:
    with httpx.Client(timeout=30) as http:
        for request in range(100_000):
            trace_id = f"{client:08x}{request:024x}"
            body = encode_trace_request_proto(
                [make_span(f"s{i}", trace_id=trace_id, span_id=f"{i + 1:016x}")
                 for i in range(SPANS_PER_REQUEST)]
            )
            try:
                answer = http.post(f"{endpoint}/v1/traces", content=body,
                                   headers={"Content-Type": "application/x-protobuf"})
            except httpx.HTTPError:  # the server was killed: this one was not acknowledged
                return
            except BaseException as exc:
                errors.append(exc)
                return
            if answer.status_code == 200:
                acknowledged.append(trace_id)


def test_kill_9_under_load_loses_no_acknowledged_span(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    process = subprocess.Popen(
        [sys.executable, "-m", "lumos_studio", "--db", str(db), "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    try:
        endpoint = read_line_with(process, "OTEL_EXPORTER_OTLP_ENDPOINT=").strip().split("=")[1]
        acknowledged: list[list[str]] = [[] for _ in range(CLIENTS)]
        errors: list[BaseException] = []
        threads = [threading.Thread(target=post_until_killed,
                                    args=(endpoint, n, acknowledged[n], errors))
                   for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(LOAD_SECONDS)
        process.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
        process.wait(10)
        for thread in threads:
            thread.join(60)
        assert not errors and not any(thread.is_alive() for thread in threads)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)

    assert process.returncode == -signal.SIGKILL
    traces = [trace for client in acknowledged for trace in client]
    assert traces, "no request was acknowledged before the kill"
    reader = StoreReader(db)
    try:
        stored = set(reader.trace_ids())
        lost = [trace for trace in traces if trace not in stored]
        assert not lost, f"{len(lost)} of {len(traces)} acknowledged traces lost"
        for trace in traces:
            assert len(reader.trace_spans(trace)) == SPANS_PER_REQUEST, trace
    finally:
        reader.close()
