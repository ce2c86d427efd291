"""The OTLP/HTTP receiver: ``POST /v1/traces`` and ``/v1/logs``, protobuf or JSON, into the store.

Any OpenTelemetry exporter pointed at it with ``OTEL_EXPORTER_OTLP_ENDPOINT`` shows up in the
studio. What it acknowledges is durable: it answers 200 only once the writer has committed the
request's records (``StoreWriter.commit``), 503 + ``Retry-After`` when the writer's queue is full
(OTLP's retryable answer), 4xx with a ``google.rpc.Status`` message for a body it cannot take.

The stdlib ``ThreadingHTTPServer`` is enough: at 500 spans a request the server's own cost is
noise next to decoding and SQLite (``bench/ingest.py`` measures it), and it adds no dependency.
"""

from __future__ import annotations

import errno
import gc
import logging
import signal
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from lumos_studio.ingest.live_spans import split_started
from lumos_studio.ingest.otlp_answers import (
    JSON,
    PROTOBUF,
    rejection_message,
    status_body,
    success_body,
)
from lumos_studio.ingest.proto_rows import decode_trace_rows
from lumos_studio.otlp import OtlpDecodeError, decode_logs_request, decode_trace_request
from lumos_studio.otlp.logs_codec import decode_logs_request_proto
from lumos_studio.store.pending import PendingRows
from lumos_studio.store.writer import StoreWriter

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY",
    "DEFAULT_PORT",
    "OtlpReceiver",
    "ReceiverStats",
]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318  # the OTLP/HTTP default, so exporters work unconfigured
DEFAULT_MAX_BODY = 32 * 1024 * 1024
PORT_TRIES = 50  # 4318, 4319, ... when taken
# The GIL switch interval of a process that only receives (``serve_forever``): see there.
RECEIVER_SWITCH_INTERVAL = 0.000_5
RETRY_AFTER_SECONDS = 1

_SIGNALS = {"/v1/traces": "traces", "/v1/logs": "logs"}



class _Refusal(Exception):
    """An answer other than 200, with the Status message that explains it."""

    def __init__(self, status: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close  # the body was not read, so the connection cannot be reused


@dataclass(slots=True)
class ReceiverStats:
    """Running totals, for the ``serve`` command's status line and the app's header."""

    requests: int = 0
    spans: int = 0
    logs: int = 0
    rejected: int = 0  # items refused inside accepted requests (partial success)
    refused: int = 0  # requests answered 4xx
    busy: int = 0  # requests answered 503 (queue full or commit too slow)

    def line(self) -> str:
        text = f"{self.spans:,} spans, {self.logs:,} logs in {self.requests:,} requests"
        counts = zip((self.rejected, self.refused, self.busy), _PROBLEMS, strict=True)
        problems = ", ".join(f"{count:,} {label}" for count, label in counts if count)
        return f"{text} ({problems})" if problems else text


_PROBLEMS = ("rejected items", "refused requests", "busy answers")


class OtlpReceiver:
    """Binds at construction (so ``port`` is known), serves on background threads after ``start``.

    ``port`` 0 takes any free port; another port that is taken moves to the next free one.
    """

    def __init__(
        self,
        writer: StoreWriter,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        max_body: int = DEFAULT_MAX_BODY,
        ack_timeout: float = 30.0,
    ) -> None:
        self.writer = writer
        self.max_body = max_body
        self.ack_timeout = ack_timeout
        self.stats = ReceiverStats()
        self._stats_lock = threading.Lock()
        self._decoding = threading.Lock()
        self._server = _bind(host, port, self)
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The base URL for ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> OtlpReceiver:
        """Serve on a background thread (one more per connection) until ``stop``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.2},
                name=f"lumos-otlp-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close the socket; requests in flight finish on their own threads."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def serve_forever(
        self, report: Callable[[ReceiverStats], None] | None = None, interval: float = 1.0
    ) -> None:
        """Serve until Ctrl-C (or SIGTERM), calling ``report`` every ``interval`` s; then stop.

        For a process that only receives (``lumos-studio serve``), two interpreter settings:
        - what is loaded so far is frozen out of the garbage collector's sight, as the collector
          otherwise rescans those objects again and again while records stream through;
        - the GIL switch interval drops from 5 ms to 0.5. The writer thread gives up the GIL
          around each SQLite statement and must get it back from a thread decoding the next
          request; with 5 ms it waited there 40 % of its time (its wall time a span fell from
          43–50 to 28–36 µs), and every acknowledgement waits on it. Since rows are made on the
          request threads the writer keeps up either way, and the two settings' rates differ
          within the machine's noise (``bench ingest``); the shorter one keeps acknowledgements
          prompt. Not in the studio app, whose in-process agents would pay for the extra
          switches (``bench ingest`` measures their span processor too).
        """
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        gc.collect()
        gc.freeze()
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(RECEIVER_SWITCH_INTERVAL)
        self.start()
        try:
            while True:
                time.sleep(interval)
                if report is not None:
                    report(self.stats)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
            sys.setswitchinterval(switch_interval)
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _count(self, **deltas: int) -> None:
        with self._stats_lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    # ------------------------------------------------------------------------ one request

    def handle(self, signal_name: str, media: str, body: bytes) -> tuple[bytes, int]:
        """Decode, store and acknowledge one export request; returns (response body, rejected).

        Raises ``_Refusal`` for every answer but 200.
        """
        rejected: list[str] = []
        try:
            # One decode at a time: under the GIL, parallel decoding only adds thread switches
            # (and cache misses); waiting here costs nothing while the writer commits.
            with self._decoding:
                if signal_name == "traces":
                    rows = _decode_traces(media, body, rejected)
                else:
                    rows = _decode_logs(media, body, rejected)
        except OtlpDecodeError as exc:
            raise _Refusal(400, str(exc)) from None
        except Exception as exc:  # a decoder bug must not take the receiver down
            log.exception("could not decode an OTLP %s request", signal_name)
            raise _Refusal(400, f"cannot decode the body ({type(exc).__name__}: {exc})") from None
        count = len(rows)
        if rejected and not count:
            raise _Refusal(400, rejection_message(rejected))
        if count:
            if not self.writer.has_room(count):
                raise _Refusal(503, "the studio's store is busy; retry later")
            dropped: list[str] = []  # records the store could not hold (``StoreWriter``)
            if not self.writer.commit_rows(rows, self.ack_timeout, dropped):
                raise _Refusal(503, "the records were not committed in time; retry later")
            if dropped:
                rejected.extend(dropped)
                count -= len(dropped)
                if not count:  # all of them: retrying cannot help, so not a 503
                    raise _Refusal(400, rejection_message(rejected))
        counted = "spans" if signal_name == "traces" else "logs"
        self._count(requests=1, rejected=len(rejected), **{counted: count})
        return success_body(signal_name, media, rejected), len(rejected)


def _decode_traces(media: str, body: bytes, rejected: list[str]) -> PendingRows:
    if media == PROTOBUF:
        return decode_trace_rows(body, rejected)  # the hot path: no records in between
    return PendingRows.of(decode_trace_request(_json(body), rejected))


def _decode_logs(media: str, body: bytes, rejected: list[str]) -> PendingRows:
    if media == PROTOBUF:
        logs = decode_logs_request_proto(body, rejected)
    else:
        logs = decode_logs_request(_json(body), rejected)
    started, logs = split_started(logs)  # "span started" events become running spans
    return PendingRows.of([*started, *logs])


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body) if body else {}
    except orjson.JSONDecodeError as exc:
        raise OtlpDecodeError(f"invalid JSON: {exc}") from None


class _Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, so an exporter reuses it for every batch."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms ACK wait
    server: _Server
    server_version = "lumos-studio-otlp"
    sys_version = ""

    def do_POST(self) -> None:
        media = JSON
        self._body_read = False
        try:
            signal_name = self._signal()
            media = self._media_type()
            body = _inflate(
                self._read_body(), self.headers.get("Content-Encoding", ""), self._max_body
            )
            response, _ = self.server.receiver.handle(signal_name, media, body)
        except _Refusal as refusal:
            self._refuse(media, refusal)
        except Exception as exc:
            log.exception("OTLP receiver failed on a request")
            self._refuse(media, _Refusal(500, f"internal error: {type(exc).__name__}"))
        else:
            self._answer(200, media, response)

    def do_GET(self) -> None:
        self._not_allowed()

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    _body_read = False

    @property
    def _max_body(self) -> int:
        return self.server.receiver.max_body

    def _not_allowed(self) -> None:
        self._body_read = False
        try:
            self._signal()
            refusal = _Refusal(405, f"{self.command} is not supported; OTLP/HTTP uses POST")
        except _Refusal as not_found:
            refusal = not_found
        self._refuse(JSON, refusal, allow=refusal.status == 405)

    def _signal(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        signal_name = _SIGNALS.get(path)
        if signal_name is None:
            raise _Refusal(404, f"no OTLP endpoint at {path or '/'}; use /v1/traces or /v1/logs")
        return signal_name

    def _media_type(self) -> str:
        media = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media in (PROTOBUF, JSON):
            return media
        shown = media or "none"
        raise _Refusal(415, f"unsupported Content-Type {shown}; use {PROTOBUF} or {JSON}")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise _Refusal(411, "a Content-Length (or chunked encoding) is required", close=True)
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError(length_header)
        except ValueError:
            raise _Refusal(400, f"bad Content-Length {length_header!r}", close=True) from None
        if length > self._max_body:
            raise _Refusal(413, _too_large(length, self._max_body), close=True)
        body = self.rfile.read(length)
        self._body_read = True
        if len(body) < length:
            raise _Refusal(400, "the body ended before Content-Length", close=True)
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _Refusal(400, "malformed chunked body", close=True) from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                self._body_read = True
                return b"".join(chunks)
            total += size
            if total > self._max_body:
                raise _Refusal(413, _too_large(total, self._max_body), close=True)
            chunk = self.rfile.read(size)
            self.rfile.readline(8)  # the CRLF after the chunk
            if len(chunk) < size:
                raise _Refusal(400, "the chunked body ended early", close=True)
            chunks.append(chunk)

    def _discard_body(self, refusal: _Refusal) -> None:
        """Read an unwanted body so the connection stays usable, unless it is too big."""
        self._body_read = True
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            length = -1
        if 0 <= length <= self._max_body:
            self.rfile.read(length)
        else:
            refusal.close = True

    def _refuse(self, media: str, refusal: _Refusal, *, allow: bool = False) -> None:
        receiver = self.server.receiver
        if refusal.status == 503:
            receiver._count(busy=1)
        elif refusal.status < 500:
            receiver._count(refused=1)
        if not refusal.close and not self._body_read:
            self._discard_body(refusal)
        if refusal.close:
            self.close_connection = True
        headers = {"Allow": "POST"} if allow else {}
        if refusal.status == 503:
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        body = status_body(media, refusal.status, refusal.message)
        self._answer(refusal.status, media, body, headers)

    def _answer(
        self, status: int, media: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", media)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:  # the client went away; nothing to tell it
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _too_large(size: int, limit: int) -> str:
    return f"body of {size:,} bytes is over the {limit:,} byte limit"


def _inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip or deflate), never producing more than ``limit`` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity", "none"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return _decompress(body, 31, limit, "gzip")
    if encoding == "deflate":
        try:
            return _decompress(body, 15, limit, "deflate")
        except _Refusal as refusal:
            if refusal.status == 413:
                raise
            return _decompress(body, -15, limit, "deflate")  # raw deflate, as some clients send
    raise _Refusal(415, f"unsupported Content-Encoding {encoding}; use gzip, deflate or none")


def _decompress(body: bytes, wbits: int, limit: int, name: str) -> bytes:
    out: list[bytes] = []
    size = 0
    data = body
    while data:
        inflater = zlib.decompressobj(wbits)
        try:
            chunk = inflater.decompress(data, limit - size + 1)
        except zlib.error as exc:
            raise _Refusal(400, f"invalid {name} body: {exc}") from None
        size += len(chunk)
        if size > limit or inflater.unconsumed_tail:
            raise _Refusal(413, f"{name} body inflates to over the {limit:,} byte limit")
        if not inflater.eof:
            raise _Refusal(400, f"truncated {name} body")
        out.append(chunk)
        data = inflater.unused_data if wbits == 31 else b""  # gzip may hold several members
    return b"".join(out)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], receiver: OtlpReceiver) -> None:
        self.receiver = receiver
        super().__init__(address, _Handler)


class _Server6(_Server):
    address_family = socket.AF_INET6


def _bind(host: str, port: int, receiver: OtlpReceiver) -> _Server:
    server_class = _Server6 if ":" in host else _Server
    candidates = [0] if port == 0 else range(port, min(port + PORT_TRIES, 65536))
    for candidate in candidates:
        try:
            return server_class((host, candidate), receiver)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or candidate == candidates[-1]:
                raise
    raise AssertionError("unreachable")


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
