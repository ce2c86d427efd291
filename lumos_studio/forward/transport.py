"""How one batch of queued bodies travels to a target: one POST, and what it answered.

A plain ``http://`` target reached without a proxy is sent to straight from the queue's files:
the request line and headers through ``http.client``, each file's bytes by ``os.sendfile``, so a
1.6 MB body is never read into Python (``FileTransport``). Under ``bench forward``'s load (the
receiver saturating two cores), forwarding cost the serve process ~2.8 ms of CPU a request when
the files were read and posted with ``httpx``, ~1.3 ms this way; the receiver's acknowledgements
pay for it: forwarding added 5.2–8.5 ms to their median then (four runs), 3.9–6.2 ms now.

Anything else (``https://``, or an ``HTTP_PROXY`` / ``ALL_PROXY`` from the environment that
applies to the target) goes through ``httpx`` with the body read, as exporters send it
(``HttpxTransport``): TLS cannot send from a file, and ``httpx`` knows the proxy rules.
"""

from __future__ import annotations

import base64
import http.client
import os
import selectors
import socket
import urllib.request
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import BinaryIO, Protocol
from urllib.parse import SplitResult, unquote, urlsplit

import httpx

from lumos_studio.forward.spool import Batch

REQUEST_TIMEOUT = 10.0
ANSWER_BYTES = 1 << 20  # an answer longer than this is cut short and its connection closed
_ANSWER_TEXT = 200  # characters of a refusal kept for its message


class Unreachable(Exception):
    """The target could not be reached, or the connection broke before its answer; the
    message names what happened (an exception's name, never the URL: it may hold a key)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A target's answer to one POST: its status, its ``Retry-After`` ("" when absent) and the
    start of its body (for a refusal's message)."""

    status: int
    retry_after: str = ""
    text: str = ""


class Transport(Protocol):
    """Sends batches to one target, keeping its connection between them."""

    def post(self, url: str, headers: Mapping[str, str], batch: Batch) -> Reply:
        """POST ``batch``'s bodies, joined, to ``url``; raises ``Unreachable``, or
        ``OSError`` when a queued file cannot be read (``FileNotFoundError``: it is gone)."""
        ...

    def close(self) -> None: ...


def transport_for(base_url: str) -> Transport:
    """The way to ``base_url``: from the files for plain HTTP without a proxy, else httpx."""
    parts = urlsplit(base_url)
    if parts.scheme == "http" and not _proxied(parts):
        return FileTransport(parts)
    return HttpxTransport()


def _proxied(parts: SplitResult) -> bool:
    """Whether the proxy settings (``HTTP_PROXY``, ``ALL_PROXY``, less ``NO_PROXY``, as
    ``urllib`` reads them) send requests to this plain-HTTP target through a proxy."""
    proxies = urllib.request.getproxies()
    if not ({"http", "all"} & proxies.keys()):
        return False
    host = parts.hostname or ""
    return not urllib.request.proxy_bypass(f"{host}:{parts.port}" if parts.port else host)


class FileTransport:
    """Plain HTTP/1.1 over one kept-alive connection, the body sent from the queue's files."""

    def __init__(self, parts: SplitResult, timeout: float = REQUEST_TIMEOUT) -> None:
        self._host = parts.hostname or "localhost"
        self._port = parts.port or 80
        self._timeout = timeout
        self._auth: dict[str, str] = {}
        if parts.username is not None:  # user:password@host, as httpx sends it: basic auth
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            self._auth = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        self._connection: http.client.HTTPConnection | None = None

    def post(self, url: str, headers: Mapping[str, str], batch: Batch) -> Reply:
        with ExitStack() as files:
            opened: list[BinaryIO] = [
                files.enter_context(open(waiting.path, "rb")) for waiting in batch.files
            ]
            size = sum(os.fstat(file.fileno()).st_size for file in opened)
            connection = self._ready_connection()
            try:
                connection.putrequest("POST", urlsplit(url).path or "/",
                                      skip_accept_encoding=True)
                for name, value in {**self._auth, **headers}.items():
                    connection.putheader(name, value)
                connection.putheader("Content-Length", str(size))
                connection.endheaders()
                sock = connection.sock
                assert sock is not None  # endheaders connected it
                for file in opened:
                    sock.sendfile(file)
                return self._reply(connection.getresponse())
            except (OSError, ValueError, http.client.HTTPException) as exc:
                self.close()  # a half-sent request leaves the connection unusable
                raise Unreachable(f"cannot reach it ({type(exc).__name__})") from exc

    def _ready_connection(self) -> http.client.HTTPConnection:
        """The kept connection, unless the target closed it while idle (a collector closes
        idle connections after a while: sending on it would fail after the whole body)."""
        connection = self._connection
        if connection is not None and connection.sock is not None and _readable(connection.sock):
            self.close()  # end of stream (or bytes nobody asked for): start anew
            connection = None
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port,
                                                    timeout=self._timeout)
            self._connection = connection
        return connection

    def _reply(self, response: http.client.HTTPResponse) -> Reply:
        body = response.read(ANSWER_BYTES + 1)
        if len(body) > ANSWER_BYTES or not response.isclosed():
            self.close()  # the rest of an oversized answer is not worth reading
        return Reply(response.status, response.getheader("Retry-After", "") or "",
                     body[:_ANSWER_TEXT * 4].decode("utf-8", "replace")[:_ANSWER_TEXT])

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _readable(sock: socket.socket) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(0))


class HttpxTransport:
    """httpx, with the body read from the files: for TLS and for proxies."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(timeout=REQUEST_TIMEOUT)

    def post(self, url: str, headers: Mapping[str, str], batch: Batch) -> Reply:
        body = batch.read_body()
        try:
            response = self._client.post(url, content=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            raise Unreachable(f"cannot reach it ({type(exc).__name__})") from exc
        return Reply(response.status_code, response.headers.get("Retry-After", ""),
                     response.text[:_ANSWER_TEXT])

    def close(self) -> None:
        self._client.close()
