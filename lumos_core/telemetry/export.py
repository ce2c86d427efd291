"""Exporting the core's spans and logs over OTLP/HTTP, to the studio or any OTel collector.

``configure_otlp`` is what a worker process (or a user's own app) calls once: spans and log records
go out in small, frequent batches, and every span is also announced when it starts
(``lumos.span.started``), since OTLP only carries spans once they end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry._logs import Logger, SeverityNumber, set_logger_provider
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.sampling import default_sampler

# Small batches, sent often: a person is watching the trace grow.
SCHEDULE_DELAY_MS = 100
QUEUE_SIZE = 65_536


class SpanStartAnnouncer(SpanProcessor):
    """Emits a ``lumos.span.started`` log record in each new span's own context."""

    def __init__(self, logger: Logger) -> None:
        self._logger = logger

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        parent = span.parent
        body = {
            "name": span.name,
            "kind": span.kind.name,
            "parent_span_id": format(parent.span_id, "016x") if parent is not None else None,
            "start_time_unix_nano": span.start_time,
            "attributes": dict(span.attributes or {}),
        }
        self._logger.emit(
            timestamp=span.start_time,
            context=trace.set_span_in_context(span),
            severity_number=SeverityNumber.TRACE,
            body=body,
            event_name=sc.EVENT_SPAN_STARTED,
        )

    def on_end(self, span: ReadableSpan) -> None:
        pass


@dataclass(frozen=True)
class OtlpTelemetry:
    """The providers ``configure_otlp`` made; flush them before answering a caller."""

    tracer_provider: TracerProvider
    logger_provider: LoggerProvider

    def flush(self, timeout_millis: int = 5_000) -> bool:
        spans = self.tracer_provider.force_flush(timeout_millis)
        logs = self.logger_provider.force_flush(timeout_millis)
        return bool(spans and logs)

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()


def configure_otlp(
    endpoint: str,
    service_name: str,
    *,
    announce_starts: bool = True,
    capture_logging: bool = True,
    set_global: bool = True,
) -> OtlpTelemetry:
    """Send spans to ``{endpoint}/v1/traces`` and logs to ``{endpoint}/v1/logs``."""
    endpoint = endpoint.rstrip("/")
    resource = Resource.create({"service.name": service_name})
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(
            OTLPLogExporter(endpoint=f"{endpoint}/v1/logs"),
            schedule_delay_millis=SCHEDULE_DELAY_MS,
            max_queue_size=QUEUE_SIZE,
        )
    )
    tracer_provider = TracerProvider(resource=resource, sampler=default_sampler())
    if announce_starts:
        announcer_logger = logger_provider.get_logger(sc.INSTRUMENTATION_NAME)
        tracer_provider.add_span_processor(SpanStartAnnouncer(announcer_logger))
    tracer_provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces"),
            schedule_delay_millis=SCHEDULE_DELAY_MS,
            max_queue_size=QUEUE_SIZE,
        )
    )
    if capture_logging:
        root = logging.getLogger()
        handler = LoggingHandler(level=logging.NOTSET, logger_provider=logger_provider)
        # The exporters log their own failures; exporting those would feed back into them.
        handler.addFilter(lambda record: not record.name.startswith("opentelemetry"))
        root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
    if set_global:
        trace.set_tracer_provider(tracer_provider)
        set_logger_provider(logger_provider)
    return OtlpTelemetry(tracer_provider, logger_provider)
