"""Ingest: every way spans arrive, converted into ``SpanRecord`` and handed to the one writer."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from lumos_studio.ingest.processor import StudioSpanProcessor
from lumos_studio.store.writer import StoreWriter

__all__ = ["StudioSpanProcessor", "studio_tracer_provider"]


def studio_tracer_provider(writer: StoreWriter, service_name: str = "lumos") -> TracerProvider:
    """A tracer provider whose spans land in the studio's store as they start and end."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(StudioSpanProcessor(writer))
    return provider
