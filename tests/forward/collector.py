"""A real HTTP server on 127.0.0.1 that answers as a test tells it, for the answers (and the
connection habits) a collector may have that the studio's own receiver never shows."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar


class Collector(BaseHTTPRequestHandler):
    """Answers each POST with the next status of ``answers`` (then 200), noting what it got:
    the request's target (a path, or a whole URL when it is a proxy), headers and body."""

    answers: ClassVar[list[tuple[int, dict[str, str]]]] = []
    seen: ClassVar[list[tuple[str, dict[str, str], bytes]]] = []
    #: Keep connections open (HTTP/1.1) but close each one after its answer without saying so,
    #: as a collector whose idle timeout ran out between two requests does.
    drops_idle: ClassVar[bool] = False
    closed: ClassVar[int] = 0  # connections the server has closed


    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        status, headers = type(self).answers.pop(0) if type(self).answers else (200, {})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if self.drops_idle:
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


class _CountingServer(ThreadingHTTPServer):
    """Counts on its handler class each connection it has closed."""

    def __init__(self, address: tuple[str, int], handler: type[Collector]) -> None:
        super().__init__(address, handler)
        self.handler = handler

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.handler.closed += 1


@contextmanager
def running_collector(*, drops_idle: bool = False) -> Iterator[tuple[str, type[Collector]]]:
    """A collector's base URL, and its handler class (its ``answers`` and ``seen``)."""
    handler: type[Collector] = type("Answers", (Collector,), {
        "answers": [], "seen": [], "drops_idle": drops_idle, "closed": 0,
        "protocol_version": "HTTP/1.1" if drops_idle else "HTTP/1.0",
    })
    server = _CountingServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
