"""Fixtures the studio's UI tests share."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """What a test's slow tool waits for; set at the end, so no tool thread is left waiting."""
    event = threading.Event()
    yield event
    event.set()
