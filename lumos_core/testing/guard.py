"""A guard that stops tests from reaching a real model provider.

Every HTTP provider of ``lumos_core`` (and the ``openai``/``anthropic`` SDKs, MCP over HTTP) talks
through httpx's transports, so the guard wraps those: a request to a host that is not this
machine raises ``RealModelCallBlocked`` naming the host, before anything leaves. Requests to
loopback hosts (a local test server, Ollama on localhost) and to mock transports pass.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

__all__ = ["RealModelCallBlocked", "block_model_calls", "is_loopback"]


class RealModelCallBlocked(AssertionError):
    """A test tried to reach a model provider over the network."""

    def __init__(self, host: str, url: str) -> None:
        super().__init__(
            f"this test tried to reach {host} ({url}); tests run offline: use a ScriptedModel "
            "or replay a saved trace, or mark the test @pytest.mark.allow_model_calls"
        )
        self.host = host
        self.url = url


def is_loopback(host: str) -> bool:
    """``localhost``, ``*.localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextmanager
def block_model_calls() -> Iterator[list[RealModelCallBlocked]]:
    """While inside, httpx requests to non-loopback hosts raise ``RealModelCallBlocked``; yields
    the list of blocked calls (code that swallows the error still leaves a trace there)."""
    blocked: list[RealModelCallBlocked] = []
    async_send = httpx.AsyncHTTPTransport.handle_async_request
    sync_send = httpx.HTTPTransport.handle_request

    def check(request: httpx.Request) -> None:
        host = request.url.host
        if not is_loopback(host):
            error = RealModelCallBlocked(host, str(request.url.copy_with(query=None)))
            blocked.append(error)
            raise error

    async def guarded_async(self: Any, request: httpx.Request) -> httpx.Response:
        check(request)
        return await async_send(self, request)

    def guarded_sync(self: Any, request: httpx.Request) -> httpx.Response:
        check(request)
        return sync_send(self, request)

    httpx.AsyncHTTPTransport.handle_async_request = guarded_async  # type: ignore[method-assign]
    httpx.HTTPTransport.handle_request = guarded_sync  # type: ignore[method-assign]
    try:
        yield blocked
    finally:
        httpx.AsyncHTTPTransport.handle_async_request = async_send  # type: ignore[method-assign]
        httpx.HTTPTransport.handle_request = sync_send  # type: ignore[method-assign]
