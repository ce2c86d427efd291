"""Bounds on the OTLP receiver's connections: how many, how long idle, how long a request may take.

Without them every idle or trickling socket holds a thread for as long as its sender likes (200
idle sockets held 200 threads). A connection beyond ``max_connections`` is answered 503 on the
accepting thread and closed shortly after, with no thread of its own; a connection's reads wait
at most ``idle`` seconds each, and a request, from its first byte, is read within ``limit``.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["BoundedServer", "DeadlineReader", "is_loopback"]

log = logging.getLogger(__name__)

# A turned-away socket stays open this long (its unread request drained) before it is closed:
# closing with unread bytes sends a reset, which can destroy the 503 before the client reads it.
LINGER_SECONDS = 1.0
MAX_LINGERING = 256  # past this many, the oldest is closed at once
_DRAIN_CHUNK = 65_536


class DeadlineReader(io.RawIOBase):
    """A connection's reads: each waits at most ``idle`` s, and from the first byte of a request
    until ``deadline`` is cleared (the request was read) at most ``limit`` s in all.

    A per-read timeout alone lets a sender that trickles a byte every few seconds hold its thread
    for ever; the deadline bounds the whole request, headers and body.
    """

    def __init__(self, sock: socket.socket, idle: float, limit: float) -> None:
        super().__init__()
        self._sock = sock
        self.idle = idle
        self.limit = limit
        self.deadline: float | None = None  # set by the first byte of a request
        self._timeout: float | None = None  # the socket's, as last set here

    def next_request(self) -> None:
        """The request read so far is done: the next one's clock starts at its first byte."""
        self.deadline = None

    def before_writing(self) -> None:
        """An answer waits for a slow reader no longer than ``idle``, whatever a read left."""
        self._use_timeout(self.idle)

    def _use_timeout(self, timeout: float) -> None:
        if timeout != self._timeout:  # settimeout costs two system calls: not on every read
            self._sock.settimeout(timeout)
            self._timeout = timeout

    def readable(self) -> bool:
        return True

    def why_timed_out(self) -> str:
        """What a ``TimeoutError`` from a read meant, in words for the sender."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return f"the request was not received within {self.limit:g} s"
        return f"the request stalled: nothing came for {self.idle:g} s"

    def readinto(self, buffer: Any) -> int:
        timeout = self.idle
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the request was not received within {self.limit:g} s")
            timeout = min(timeout, left)
        self._use_timeout(timeout)
        count = self._sock.recv_into(buffer)
        if count and self.deadline is None:
            self.deadline = time.monotonic() + self.limit
        return count


class BoundedServer(ThreadingHTTPServer):
    """A thread per connection, up to ``max_connections``; beyond, ``busy_answer`` and close.

    ``on_turned_away`` is called (on the accepting thread) for each connection turned away.
    """

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        max_connections: int,
        busy_answer: bytes,
        on_turned_away: Callable[[], None] = lambda: None,
    ) -> None:
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self._busy_answer = busy_answer
        self._on_turned_away = on_turned_away
        self._lingering: deque[tuple[float, socket.socket]] = deque()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._turn_away(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # no thread started: the caller closes the socket
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _turn_away(self, request: socket.socket) -> None:
        """Answer 503 without reading the request, and close the socket a moment later."""
        self._on_turned_away()
        try:
            request.setblocking(False)
            request.send(self._busy_answer)  # a few hundred bytes: the send buffer takes them
            request.shutdown(socket.SHUT_WR)
        except OSError:
            request.close()
            return
        self._lingering.append((time.monotonic() + LINGER_SECONDS, request))
        while len(self._lingering) > MAX_LINGERING:
            _drain_and_close(self._lingering.popleft()[1])

    def service_actions(self) -> None:
        """Between accepts (every poll interval at least): drain turned-away sockets, close the
        ones whose time is up."""
        now = time.monotonic()
        for due, sock in list(self._lingering):
            if due <= now:
                self._lingering.popleft()
                _drain_and_close(sock)
            else:
                _drain(sock)

    def server_close(self) -> None:
        super().server_close()
        while self._lingering:
            _drain_and_close(self._lingering.popleft()[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed (reset by its client, ...): logged, not printed to stderr."""
        log.debug("OTLP connection from %s failed", client_address, exc_info=True)


def _drain(sock: socket.socket) -> None:
    """Read what is waiting on a non-blocking socket, so closing it sends no reset."""
    try:
        while sock.recv(_DRAIN_CHUNK):
            pass
    except OSError:  # BlockingIOError: nothing more now
        pass


def _drain_and_close(sock: socket.socket) -> None:
    _drain(sock)
    sock.close()


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(
        ipaddress.ip_address(str(address).split("%", 1)[0]).is_loopback for address in addresses
    )
