"""Shared fixtures: a UTC clock for stable rendering, real stores in temp dirs, in-memory spans."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_studio.store import Store

os.environ["TZ"] = "UTC"
time.tzset()


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
