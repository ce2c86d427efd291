"""An OTLP/HTTP endpoint that takes every request and keeps nothing but a byte count, as an
OpenTelemetry Collector with a no-op exporter would: what forwarding costs its sender is then
not hidden behind a second store sharing this machine's two cores.

``python -m bench.otlp_sink`` prints its URL; ``GET /received`` answers the bytes taken so far.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_received = 0
_lock = threading.Lock()


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        global _received
        size = int(self.headers.get("Content-Length", "0"))
        remaining = size
        while remaining:
            remaining -= len(self.rfile.read(min(remaining, 1 << 20)))
        with _lock:
            _received += size
        self._answer(b"")

    def do_GET(self) -> None:
        self._answer(str(_received).encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()  # until killed


if __name__ == "__main__":
    main()
