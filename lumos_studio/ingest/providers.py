"""The tracer and logger providers whose spans and log records land in the studio's store."""

from __future__ import annotations

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from lumos_core.telemetry.sampling import default_sampler
from lumos_studio.ingest.log_processor import StudioLogProcessor
from lumos_studio.ingest.processor import StudioSpanProcessor
from lumos_studio.store.writer import StoreWriter


def studio_tracer_provider(writer: StoreWriter, service_name: str = "lumos") -> TracerProvider:
    """A tracer provider whose spans land in the studio's store as they start and end."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}), sampler=default_sampler()
    )
    provider.add_span_processor(StudioSpanProcessor(writer))
    return provider


def studio_logger_provider(writer: StoreWriter, service_name: str = "lumos") -> LoggerProvider:
    """A logger provider whose records land in the studio's store, tied to the current span.

    Python ``logging`` reaches it through ``LoggingHandler(logger_provider=provider)``.
    """
    provider = LoggerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_log_record_processor(StudioLogProcessor(writer))
    return provider
