"""The forwarding tests' collector, a real HTTP server (``collector.running_collector``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.forward.collector import Collector, running_collector


@pytest.fixture
def collector() -> Iterator[tuple[str, type[Collector]]]:
    with running_collector() as running:
        yield running
