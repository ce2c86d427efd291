"""One OTLP/HTTP connection: the token, the request's path, type, body and encoding, the answer.

Everything here is about HTTP; what a request means (decoding, storing) is ``OtlpReceiver.handle``.
Reads go through a ``DeadlineReader`` (``otlp_connections``), so a silent or trickling sender
is cut off; a body too large or an unknown path is answered without reading what is not wanted.
"""

from __future__ import annotations

import io
import logging
import zlib
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from lumos_studio.ingest.otlp_answers import JSON, PROTOBUF, status_body
from lumos_studio.ingest.otlp_connections import DeadlineReader

if TYPE_CHECKING:
    from lumos_studio.ingest.otlp_http import OtlpReceiver

__all__ = ["RETRY_AFTER_SECONDS", "OtlpHandler", "Refusal"]

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1

_SIGNALS = {"/v1/traces": "traces", "/v1/logs": "logs"}
_UNAUTHORIZED = (
    "missing or wrong token: send the header Authorization: Bearer <token> "
    "(exporters: OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>)"
)


class Refusal(Exception):
    """An answer other than 200, with the Status message that explains it."""

    def __init__(self, status: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close  # the body was not read, so the connection cannot be reused


class OtlpHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, so an exporter reuses it for every batch."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms ACK wait
    server_version = "lumos-studio-otlp"
    sys_version = ""
    _reader: DeadlineReader

    @property
    def receiver(self) -> OtlpReceiver:
        receiver: OtlpReceiver = self.server.receiver  # type: ignore[attr-defined]  # our server's
        return receiver

    def setup(self) -> None:
        """Reads through a ``DeadlineReader``: no read waits past the idle timeout, no request
        takes longer than the request timeout."""
        receiver = self.receiver
        super().setup()
        self.rfile.close()  # the plain reader made there; the socket stays open
        self._reader = DeadlineReader(
            self.connection, receiver.idle_timeout, receiver.request_timeout
        )
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.next_request()
        super().handle_one_request()

    def do_POST(self) -> None:
        # Until the type is checked, an answer is in the encoding the sender most likely reads.
        sent = self.headers.get("Content-Type", "").strip().lower()
        media = PROTOBUF if sent.startswith(PROTOBUF) else JSON
        self._body_read = False
        try:
            self._authorize()
            signal_name = self._signal()
            media = self._media_type()
            try:
                raw = self._read_body()
            except TimeoutError:
                reason = self._reader.why_timed_out()
                raise Refusal(408, f"{reason}; send it faster or in smaller batches",
                               close=True) from None
            body = _inflate(raw, self.headers.get("Content-Encoding", ""), self._max_body)
            response, _ = self.receiver.handle(signal_name, media, body)
        except Refusal as refusal:
            self._refuse(media, refusal)
        except Exception as exc:
            log.exception("OTLP receiver failed on a request")
            self._refuse(media, Refusal(500, f"internal error: {type(exc).__name__}"))
        else:
            self._answer(200, media, response)

    def do_GET(self) -> None:
        self._not_allowed()

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    _body_read = False

    @property
    def _max_body(self) -> int:
        return self.receiver.max_body

    def _not_allowed(self) -> None:
        self._body_read = False
        try:
            self._authorize()
            self._signal()
            refusal = Refusal(405, f"{self.command} is not supported; OTLP/HTTP uses POST")
        except Refusal as not_found:
            refusal = not_found
        self._refuse(JSON, refusal, allow=refusal.status == 405)

    def _authorize(self) -> None:
        if not self.receiver.authorized(self.headers.get("Authorization")):
            raise Refusal(401, _UNAUTHORIZED)

    def _signal(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        signal_name = _SIGNALS.get(path)
        if signal_name is None:
            raise Refusal(404, f"no OTLP endpoint at {path or '/'}; use /v1/traces or /v1/logs")
        return signal_name

    def _media_type(self) -> str:
        media = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media in (PROTOBUF, JSON):
            return media
        shown = media or "none"
        raise Refusal(415, f"unsupported Content-Type {shown}; use {PROTOBUF} or {JSON}")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise Refusal(411, "a Content-Length (or chunked encoding) is required", close=True)
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError(length_header)
        except ValueError:
            raise Refusal(400, f"bad Content-Length {length_header!r}", close=True) from None
        if length > self._max_body:
            raise Refusal(413, _too_large(length, self._max_body), close=True)
        body = self.rfile.read(length)
        self._body_read = True
        if len(body) < length:
            raise Refusal(400, "the body ended before Content-Length", close=True)
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise Refusal(400, "malformed chunked body", close=True) from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                self._body_read = True
                return b"".join(chunks)
            total += size
            if total > self._max_body:
                raise Refusal(413, _too_large(total, self._max_body), close=True)
            chunk = self.rfile.read(size)
            self.rfile.readline(8)  # the CRLF after the chunk
            if len(chunk) < size:
                raise Refusal(400, "the chunked body ended early", close=True)
            chunks.append(chunk)

    def _discard_body(self, refusal: Refusal) -> None:
        """Read an unwanted body so the connection stays usable, unless it is too big."""
        self._body_read = True
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            length = -1
        if 0 <= length <= self._max_body:
            while length > 0:  # in pieces: an unwanted body is never held whole
                piece = self.rfile.read(min(length, 65_536))
                if not piece:
                    break
                length -= len(piece)
        else:
            refusal.close = True

    def _refuse(self, media: str, refusal: Refusal, *, allow: bool = False) -> None:
        receiver = self.receiver
        if refusal.status == 503:
            receiver._count(busy=1)
        elif refusal.status < 500:
            receiver._count(refused=1)
        else:
            receiver._count(failed=1)
        if not refusal.close and not self._body_read:
            self._discard_body(refusal)
        if refusal.close:
            self.close_connection = True
        headers = {"Allow": "POST"} if allow else {}
        if refusal.status == 503:
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        elif refusal.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        body = status_body(media, refusal.status, refusal.message)
        self._answer(refusal.status, media, body, headers)

    def _answer(
        self, status: int, media: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        try:
            self._reader.before_writing()
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
        except Refusal as refusal:
            if refusal.status == 413:
                raise
            return _decompress(body, -15, limit, "deflate")  # raw deflate, as some clients send
    raise Refusal(415, f"unsupported Content-Encoding {encoding}; use gzip, deflate or none")


def _decompress(body: bytes, wbits: int, limit: int, name: str) -> bytes:
    out: list[bytes] = []
    size = 0
    data = body
    while data:
        inflater = zlib.decompressobj(wbits)
        try:
            chunk = inflater.decompress(data, limit - size + 1)
        except zlib.error as exc:
            raise Refusal(400, f"invalid {name} body: {exc}") from None
        size += len(chunk)
        if size > limit or inflater.unconsumed_tail:
            raise Refusal(413, f"{name} body inflates to over the {limit:,} byte limit")
        if not inflater.eof:
            raise Refusal(400, f"truncated {name} body")
        out.append(chunk)
        data = inflater.unused_data if wbits == 31 else b""  # gzip may hold several members
    return b"".join(out)
