"""Shared fixtures: a UTC clock for stable rendering, real stores in temp dirs, in-memory spans."""

from __future__ import annotations

import inspect
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from lumos_studio.store import Store, StoreTarget, parse_target
from tests.postgres_cluster import Cluster, ClusterUnavailable, start_cluster

os.environ["TZ"] = "UTC"
time.tzset()


SnapCompare = Callable[..., bool]


@pytest.fixture
def snap_compare(snap_compare: SnapCompare) -> SnapCompare:
    """The plugin's ``snap_compare``, with every text cursor held still once ``run_before`` is
    done: a blinking cursor was drawn or not depending on when the screenshot came, and a loaded
    machine took one in the hidden half of the blink."""

    def compare(app: Any, *args: Any,
                run_before: Callable[[Pilot[Any]], Awaitable[None] | None] | None = None,
                **kwargs: Any) -> bool:
        async def then_steady(pilot: Pilot[Any]) -> None:
            if run_before is not None:
                ran = run_before(pilot)
                if inspect.isawaitable(ran):
                    await ran
            for screen in pilot.app.screen_stack:
                for field in screen.query(Input):
                    field.cursor_blink = False  # drawn, and left so
                for area in screen.query(TextArea):
                    area.cursor_blink = False  # drawn where it has the focus
            await pilot.pause()

        return snap_compare(app, *args, run_before=then_steady, **kwargs)

    return compare


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "studio.db")
    yield opened
    opened.close()


@pytest.fixture
def relative_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A store at a relative path in a fresh working directory: what a pane shows of its path
    (the header, a snapshot) reads the same on every run."""
    monkeypatch.chdir(tmp_path)
    opened = Store(Path("studio.db"))
    yield opened
    opened.close()


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


# ------------------------------------------------------------------ the store on PostgreSQL

@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL 15 cluster for this session (one per xdist worker), started on
    first use. Under CI a missing server fails the tests that need it; locally they skip."""
    try:
        cluster = start_cluster()
    except ClusterUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI: {exc}")
        pytest.skip(f"no PostgreSQL to test against: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """The URL of a new, empty database of the session's cluster."""
    return pg_cluster.create_database(f"t_{uuid.uuid4().hex[:16]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> StoreTarget:
    """Where a store's contract test keeps its store: each test runs on both engines."""
    if request.param == "sqlite":
        return tmp_path / "studio.db"
    return parse_target(request.getfixturevalue("pg_url"))
