"""A real HTTP server on 127.0.0.1 for provider tests: it records each request and answers from a
queue of canned replies — JSON, raw text, or a server-sent-events stream written piece by piece —
or, when the queue is empty and an ``answer`` function is set, with what it makes of the request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    """A canned answer, sent ``delay`` seconds after the request arrived. ``chunks`` (an event
    stream) are written one by one, ``pause`` apart; the connection then closes, which is how an
    HTTP/1.0 body without a length ends."""

    body: dict[str, Any] | str = ""
    status: int = 200
    content_type: str = "application/json"
    chunks: tuple[str, ...] = ()
    pause: float = 0.0
    delay: float = 0.0
    #: Extra response headers (``Retry-After``).
    headers: dict[str, str] = field(default_factory=dict)
    #: Close the connection without answering, as a crashed or overloaded proxy does.
    drop: bool = False


@dataclass
class ProviderServer:
    """The server's state, shared with its handler threads."""

    requests: list[Recorded] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    #: Answers a request when no canned reply is queued.
    answer: Callable[[Recorded], Reply] | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reply(
        self,
        body: dict[str, Any] | str,
        status: int = 200,
        content_type: str = "",
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        kind = content_type or ("application/json" if isinstance(body, dict) else "text/plain")
        with self.lock:
            self.replies.append(Reply(body, status, kind, delay=delay, headers=headers or {}))

    def drop(self) -> None:
        """Close the connection of the next request without answering."""
        with self.lock:
            self.replies.append(Reply(drop=True))

    def stream(self, *chunks: str, pause: float = 0.0, status: int = 200) -> None:
        """Answer the next request with these raw event-stream pieces."""
        with self.lock:
            self.replies.append(Reply("", status, "text/event-stream", chunks, pause))

    def next_reply(self, request: Recorded) -> Reply:
        with self.lock:
            if self.replies:
                return self.replies.pop(0)
        if self.answer is not None:
            return self.answer(request)
        return Reply({"error": {"message": "test server has no canned reply left"}}, 599)


def sse(data: dict[str, Any] | str, event: str | None = None) -> str:
    """One server-sent event, as it travels."""
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n"


def _handler(server: ProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = Recorded(
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                json.loads(raw) if raw else {},
            )
            with server.lock:
                server.requests.append(request)
            reply = server.next_reply(request)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                return
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunks:
                    self.end_headers()
                    for chunk in reply.chunks:
                        self.wfile.write(chunk.encode())
                        self.wfile.flush()
                        if reply.pause:
                            time.sleep(reply.pause)
                    return
                body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = body.encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client went away

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_server() -> Iterator[ProviderServer]:
    """Serve on a free port until the block ends (each test file wraps it in a fixture)."""
    state = ProviderServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@contextmanager
def openai_server(environ: pytest.MonkeyPatch) -> Iterator[ProviderServer]:
    """A running server where ``openai:`` models send, with a key (``environ``, the test's
    ``monkeypatch``, takes the variables back after it)."""
    with running_server() as state:
        environ.setenv("OPENAI_BASE_URL", f"{state.origin}/v1")
        environ.setenv("OPENAI_API_KEY", "sk-test")
        yield state
