"""Fuzz the OTLP receiver: many valid, hostile and mutated requests against a live server.

Not part of a plain ``make bench`` (it is a check, not a figure, and takes a minute): run it
with ``make fuzz`` or ``python -m bench fuzz``. It serves a real receiver on 127.0.0.1 with a
real store, sends protobuf and JSON requests for both signals (some gzip- or deflate-encoded,
some with a wrong type or encoding, some inflating past the body limit), drawn from the
property tests' strategies (``tests/studio/ingest_strategies.py``), and prints how many were
tried and how each was answered. It exits non-zero if any answer is a 5xx other than 503, a
request raised on the client, the server stopped answering, or a batch failed in the writer.
``LUMOS_FUZZ_SECONDS`` (default 60) and ``LUMOS_FUZZ_REQUESTS`` (default 50,000) bound it.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
import time
import warnings
import zlib
from collections import Counter
from pathlib import Path

import httpx
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lumos_studio.ingest.otlp_http import OtlpReceiver
from lumos_studio.otlp.proto_encode import encode_trace_request_proto
from lumos_studio.store import Store
from tests.builders import weather_trace
from tests.studio.ingest_strategies import (
    json_body,
    logs_request_json,
    logs_request_proto,
    trace_request_json,
    trace_request_proto,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_BODY = 256 * 1024  # small, so that a few bodies inflate past it (413)

requests = st.one_of(
    st.tuples(st.just("traces"), st.just(PROTOBUF), trace_request_proto()),
    st.tuples(st.just("logs"), st.just(PROTOBUF), logs_request_proto()),
    st.tuples(st.just("traces"), st.just(JSON), trace_request_json.map(json_body)),
    st.tuples(st.just("logs"), st.just(JSON), logs_request_json.map(json_body)),
    st.tuples(st.sampled_from(["traces", "logs", "metrics"]),
              st.sampled_from([PROTOBUF, JSON, "text/plain"]), st.binary(max_size=300)),
    st.tuples(st.sampled_from(["traces", "logs"]), st.just(PROTOBUF),
              st.just(b"\0" * (2 * MAX_BODY))),  # inflates past the limit once gzipped
)
encodings = st.sampled_from(["", "", "gzip", "gzip", "deflate", "br"])


def _encode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=1)
    if encoding == "deflate":
        return zlib.compress(body, 1)
    return body


def main(console: Console) -> None:
    seconds = float(os.environ.get("LUMOS_FUZZ_SECONDS", "60"))
    limit = int(os.environ.get("LUMOS_FUZZ_REQUESTS", "50000"))
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "fuzz.db") as store:
        receiver = OtlpReceiver(store.writer, port=0, max_body=MAX_BODY).start()
        try:
            started = time.monotonic()
            with httpx.Client(base_url=receiver.endpoint, timeout=30) as client:
                _fuzz(client, outcomes, problems, started + seconds, limit)
                elapsed = time.monotonic() - started
                # Still alive and well: a good batch is stored and acknowledged.
                body = encode_trace_request_proto(weather_trace(trace_id="f" * 32))
                try:
                    last = client.post("/v1/traces", content=body,
                                       headers={"Content-Type": PROTOBUF})
                    if last.status_code != 200:
                        problems.append(f"a good batch after the fuzz got {last.status_code}")
                except httpx.HTTPError as exc:
                    problems.append(f"the server no longer answers: {exc!r}")
        finally:
            receiver.stop()
        writer = store.writer
        if writer.failed_batches:
            problems.append(f"{writer.failed_batches} batches failed in the writer")
        tried = sum(outcomes.values())
        _report(console, Counter(outcomes), elapsed, writer.rejected, writer.failed_batches)
    for problem in problems[:10]:
        console.print(Text("problem ", style="bold red") + Text(problem))  # outside text: data
    if problems:
        console.print(f"[bold red]FAIL[/] {len(problems)} problems in {tried:,} requests")
        raise SystemExit(1)
    console.print(f"[bold green]PASS[/] {tried:,} requests, every one answered as it should be")


def _fuzz(client: httpx.Client, outcomes: Counter[str], problems: list[str], deadline: float,
          limit: int) -> None:
    @settings(max_examples=limit, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    @given(request=requests, encoding=encodings)
    def send(request: tuple[str, str, bytes], encoding: str) -> None:
        if time.monotonic() > deadline:
            raise _TimeUp  # the only way to end a hypothesis run early
        signal_name, media, body = request
        headers = {"Content-Type": media}
        if encoding:
            headers["Content-Encoding"] = encoding
        try:
            answer = client.post(f"/v1/{signal_name}", content=_encode(body, encoding),
                                 headers=headers)
        except Exception as exc:  # any of them is a finding
            outcomes["exception"] += 1
            problems.append(f"{signal_name} {media} {encoding or 'plain'}: {exc!r}")
            return
        status = answer.status_code
        outcomes[str(status)] += 1
        if status >= 500 and status != 503:
            problems.append(f"{status} for {signal_name} {media}: {answer.content[:200]!r}")
        elif status != 200 and not answer.content:
            problems.append(f"{status} without a message for {signal_name} {media}")

    with warnings.catch_warnings(), contextlib.suppress(_TimeUp):
        warnings.simplefilter("ignore")
        send()


class _TimeUp(Exception):
    """Raised by a request drawn after the fuzz run's time is up."""


def _report(console: Console, outcomes: Counter[str], elapsed: float, rejected: int,
            failed: int) -> None:
    tried = sum(outcomes.values())
    exceptions = outcomes.pop("exception", 0)
    table = Table(title=f"{tried:,} requests in {elapsed:.0f} s ({tried / elapsed:,.0f}/s)")
    table.add_column("answer")
    table.add_column("requests", justify="right")
    for status in ("200", "400", "404", "413", "415", "503"):
        table.add_row(status, f"{outcomes.pop(status, 0):,}")
    for status, count in sorted(outcomes.items()):
        table.add_row(f"[bold red]{status}[/]", f"{count:,}")
    table.add_row("exceptions", f"{exceptions:,}")
    table.add_row("records the writer dropped", f"{rejected:,}")
    table.add_row("batches that failed in the writer", f"{failed:,}")
    console.print(table)
