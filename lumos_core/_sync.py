"""The check behind every ``*_sync`` method: they start their own event loop, so they cannot run
inside one that is already running (a notebook, a FastAPI handler, an ``async def``)."""

from __future__ import annotations

import asyncio


def refuse_inside_event_loop(method: str, instead: str) -> None:
    """Raise a ``RuntimeError`` saying what to call instead when an event loop is running here.

    Checked before the coroutine is created, so no "never awaited" warning follows the error.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{method} cannot be called here: use `await {instead}` inside async code "
        "(a running event loop was found)"
    )
