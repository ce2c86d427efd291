"""One MCP client session held open by a task of its own.

The ``mcp`` client is a stack of anyio task groups, which must be left by the task that entered
them, and whose failure (a server gone) cancels that task. A dedicated task therefore enters and
leaves the session, while runs in any task of the same event loop call through it: a dead
transport ends this task, never the caller's run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any


class Connection:
    """Opens a client from ``open_client`` in a background task and closes it on ``close``."""

    def __init__(self, open_client: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self._open_client = open_client
        self.client: Any = None
        self.loop = asyncio.get_running_loop()
        self.failure: BaseException | None = None
        self._ready: asyncio.Future[None] = self.loop.create_future()
        # Read by ``open``; retrieved here too, for an ``open`` that gave up waiting first.
        self._ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._stop = asyncio.Event()
        self._closed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return not self._closed.is_set()

    async def open(self, timeout: float) -> None:
        """Connect and run the handshake; raise what stopped it (``TimeoutError`` after
        ``timeout`` seconds)."""
        self._task = asyncio.create_task(self._hold(), name="lumos-mcp-connection")
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._ready)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Leave the session (a stdio server gets its stdin closed, then a bounded kill)."""
        self._stop.set()
        if self._task is not None and not self._ready.done():
            self._task.cancel()  # still opening: nothing waits on ``_stop`` yet
        if self._task is not None and not self._task.done():
            await asyncio.gather(asyncio.shield(self._task), return_exceptions=True)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Await ``client.<method>(...)`` unless the session ends first (``ConnectionError``)."""
        if not self.alive:
            raise ConnectionError("the connection is closed")
        request = asyncio.ensure_future(getattr(self.client, method)(*args, **kwargs))
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({request, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            if not request.done():
                request.cancel()
                await asyncio.gather(request, return_exceptions=True)
        if request.cancelled():
            raise ConnectionError("the connection closed during the call")
        return request.result()

    async def _hold(self) -> None:
        try:
            async with self._open_client() as client:
                self.client = client
                self._ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:  # the task's outcome is reported through the futures
            self.failure = exc
            if not self._ready.done():
                self._ready.set_exception(exc if isinstance(exc, Exception) else ConnectionError(
                    "the connection was cancelled while opening"
                ))
        finally:
            self._closed.set()
            if not self._ready.done():
                self._ready.set_exception(ConnectionError("the connection ended while opening"))
