"""Fixtures the studio's UI tests share."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import pytest


@pytest.fixture
async def release() -> AsyncIterator[threading.Event]:
    """What a test's slow tool waits for; set at the end, so no tool thread is left waiting.

    Async so that it is set before the test's event loop closes: the loop's teardown waits for
    its executor's threads, and a tool thread still waiting held it for the tool's whole timeout
    (9 s a test)."""
    event = threading.Event()
    yield event
    event.set()
