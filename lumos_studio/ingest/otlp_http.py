"""The OTLP/HTTP receiver: ``POST /v1/traces`` and ``/v1/logs``, protobuf or JSON, into the store.

Any OpenTelemetry exporter pointed at it with ``OTEL_EXPORTER_OTLP_ENDPOINT`` shows up in the
studio. What it acknowledges is durable: it answers 200 only once the writer has committed the
request's records (``StoreWriter.commit``), 503 + ``Retry-After`` when the writer's queue is full
(OTLP's retryable answer), 4xx with a ``google.rpc.Status`` message for a body it cannot take,
507 when the store's disk is full and 503 when the store is read-only, saying so.

Its senders are untrusted: connections are bounded in number and time (``otlp_connections``),
and with a ``token`` every request must carry ``Authorization: Bearer <token>``, which binding to
anything but loopback requires.

The stdlib ``ThreadingHTTPServer`` is enough: at 500 spans a request the server's own cost is
noise next to decoding and SQLite (``bench/ingest.py`` measures it), and it adds no dependency.
"""

from __future__ import annotations

import errno
import gc
import hmac
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from lumos_studio.counts import counted
from lumos_studio.ingest.live_spans import split_started
from lumos_studio.ingest.otlp_answers import (
    JSON,
    PROTOBUF,
    rejection_message,
    status_body,
    success_body,
)
from lumos_studio.ingest.otlp_connections import BoundedServer, is_loopback
from lumos_studio.ingest.otlp_request import RETRY_AFTER_SECONDS, OtlpHandler, Refusal
from lumos_studio.otlp import OtlpDecodeError
from lumos_studio.store.pending import PendingRows
from lumos_studio.store.writer import StoreWriter

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_PORT",
    "OtlpReceiver",
    "ReceiverStats",
    "TokenRequired",
    "is_loopback",
]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4318  # the OTLP/HTTP default, so exporters work unconfigured
DEFAULT_MAX_BODY = 32 * 1024 * 1024
PORT_TRIES = 50  # 4318, 4319, ... when taken
# The GIL switch interval of a process that only receives (``serve_forever``): see there.
RECEIVER_SWITCH_INTERVAL = 0.000_5
DEFAULT_MAX_CONNECTIONS = 64
# A keep-alive connection idle this long is closed: exporters batch every few seconds (the SDK's
# BatchSpanProcessor every 5), and reconnect when they find it closed.
DEFAULT_IDLE_TIMEOUT = 10.0
# A request, from its first byte, is read within this: OTel exporters give up after 10 s.
DEFAULT_REQUEST_TIMEOUT = 30.0

class PendingForward(Protocol):
    """A request's body on its way to ``--forward`` targets: queued once its records are
    stored (``confirm``), forgotten when they are not (``discard``)."""

    def confirm(self, records: int) -> None: ...

    def discard(self) -> None: ...


class Forward(Protocol):
    """Where each request's body goes as its records are stored (``Forwarder``): ``begin``
    writes it while the store commits, so forwarding adds little to the answer."""

    def begin(self, signal: str, media: str, body: bytes) -> PendingForward: ...


class TokenRequired(ValueError):
    """A receiver bound to a non-loopback address without a token: anyone could write."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"listening on {host} lets other machines write to the store, so it needs a token"
        )
        self.host = host


@dataclass(slots=True)
class ReceiverStats:
    """Running totals, for the ``serve`` command's status line and the app's header."""

    requests: int = 0
    spans: int = 0
    logs: int = 0
    rejected: int = 0  # items refused inside accepted requests (partial success)
    refused: int = 0  # requests answered 4xx
    busy: int = 0  # requests answered 503 (queue full, commit too slow, too many connections)
    failed: int = 0  # requests answered another 5xx (a full disk: 507)

    def line(self) -> str:
        text = (f"{counted(self.spans, 'span')}, {counted(self.logs, 'log')} in "
                f"{counted(self.requests, 'request')}")
        numbers = (self.rejected, self.refused, self.busy, self.failed)
        counts = zip(numbers, _PROBLEMS, strict=True)
        problems = ", ".join(counted(count, label) for count, label in counts if count)
        return f"{text} ({problems})" if problems else text


_PROBLEMS = ("rejected item", "refused request", "busy answer", "failed request")



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
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        token: str | None = None,
        forward: Forward | None = None,
    ) -> None:
        """Raises ``TokenRequired`` (before binding) for a non-loopback ``host`` with no token.

        ``forward`` is given every request's body while it is stored, and told before it is
        acknowledged (``lumos_studio.forward``)."""
        token = token or None
        if token is None and not is_loopback(host):
            raise TokenRequired(host)
        self.writer = writer
        self.forward = forward
        self.max_body = max_body
        self.ack_timeout = ack_timeout
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self._expected_credentials = token.encode() if token is not None else None
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

    @property
    def exposed(self) -> bool:
        """Bound to an address other machines can reach."""
        return not is_loopback(self.host)

    def status_line(self) -> str:
        """``stats.line()``, and the store's problem if it cannot take writes now."""
        problem = self.writer.storage_error
        line = self.stats.line()
        return f"{line} · {problem.short}" if problem is not None else line

    def authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries the token (always, without one)."""
        if self._expected_credentials is None:
            return True
        scheme, _, credentials = (header or "").strip().partition(" ")
        given = credentials.strip().encode("utf-8", "surrogateescape")
        matches = hmac.compare_digest(given, self._expected_credentials)
        return matches and scheme.lower() == "bearer"

    def _count(self, **deltas: int) -> None:
        with self._stats_lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    # ------------------------------------------------------------------------ one request

    def handle(self, signal_name: str, media: str, body: bytes) -> tuple[bytes, int]:
        """Decode, store and acknowledge one export request; returns (response body, rejected).

        Raises ``Refusal`` for every answer but 200.
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
            raise Refusal(400, str(exc)) from None
        except Exception as exc:  # a decoder bug must not take the receiver down
            log.exception("could not decode an OTLP %s request", signal_name)
            raise Refusal(400, f"cannot decode the body ({type(exc).__name__}: {exc})") from None
        count = len(rows)
        if rejected and not count:
            raise Refusal(400, rejection_message(rejected))
        if count:
            if not self.writer.has_room(count):
                raise Refusal(503, "the studio's store is busy; retry later")
            # Written to the forward queues while the writer commits, queued after.
            forwarding = self.forward.begin(signal_name, media, body) if self.forward else None
            try:
                dropped: list[str] = []  # records the store could not hold (``StoreWriter``)
                if not self.writer.commit_rows(rows, self.ack_timeout, dropped):
                    raise self._not_stored()
                if dropped:
                    rejected.extend(dropped)
                    count -= len(dropped)
                    if not count:  # all of them: retrying cannot help, so not a 503
                        raise Refusal(400, rejection_message(rejected))
            except BaseException:
                if forwarding is not None:
                    forwarding.discard()
                raise
            if forwarding is not None:
                forwarding.confirm(count)
        field = "spans" if signal_name == "traces" else "logs"
        self._count(requests=1, rejected=len(rejected), **{field: count})
        return success_body(signal_name, media, rejected), len(rejected)

    def _not_stored(self) -> Refusal:
        """The answer to records the writer did not commit: the store's problem, if it has one."""
        problem = self.writer.storage_error
        if problem is None:
            return Refusal(503, "the records were not committed in time; retry later")
        return Refusal(507 if problem.kind == "full" else 503, problem.message)


# The decoders are imported by the first request that needs one: protobuf's generated modules
# take ~50 ms to load, which the studio's first frame would otherwise wait for.


def _decode_traces(media: str, body: bytes, rejected: list[str]) -> PendingRows:
    if media == PROTOBUF:
        from lumos_studio.ingest.proto_rows import decode_trace_rows

        return decode_trace_rows(body, rejected)  # the hot path: no records in between
    from lumos_studio.otlp.json_codec import decode_trace_request

    return PendingRows.of(decode_trace_request(_json(body), rejected))


def _decode_logs(media: str, body: bytes, rejected: list[str]) -> PendingRows:
    from lumos_studio.otlp.logs_codec import decode_logs_request, decode_logs_request_proto

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


class _Server(BoundedServer):
    def __init__(self, address: tuple[str, int], receiver: OtlpReceiver) -> None:
        self.receiver = receiver
        limit = receiver.max_connections
        super().__init__(
            address,
            OtlpHandler,
            max_connections=limit,
            busy_answer=_busy_answer(limit),
            on_turned_away=lambda: receiver._count(busy=1),
        )


def _busy_answer(limit: int) -> bytes:
    """The whole 503 for a connection over the limit, sent before its request is read."""
    body = status_body(
        JSON, 503, f"the receiver is serving its limit of {limit} connections; retry later"
    )
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {JSON}\r\nContent-Length: {len(body)}\r\n"
        f"Retry-After: {RETRY_AFTER_SECONDS}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class _Server6(_Server):
    address_family = socket.AF_INET6


def _bind(host: str, port: int, receiver: OtlpReceiver) -> _Server:
    if not 0 <= port <= 65535:  # (the CLI's options are ranges: a caller's mistake)
        raise ValueError(f"port {port} is not a TCP port (0-65535; 0: any free one)")
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
