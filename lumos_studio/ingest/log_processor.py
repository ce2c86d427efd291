"""The in-process path for logs: an OTel SDK ``LogRecordProcessor`` that feeds the studio's store.

``on_emit`` only enqueues, as the span processor does; the writer thread converts to ``LogRecord``
(or, for a ``lumos.span.started`` event, to a running span). Python ``logging`` reaches it through
a ``LoggingHandler`` attached to the provider (see ``studio_logger_provider``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord

from lumos_studio.ingest.live_spans import started_span_from_log
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.store.writer import StoreWriter

__all__ = ["StudioLogProcessor", "emitted_to_record", "sdk_log_to_record"]


def emitted_to_record(emitted: ReadWriteLogRecord) -> SpanRecord | LogRecord:
    """One emitted SDK record as the store keeps it, converted on the writer thread."""
    log = sdk_log_to_record(emitted)
    return started_span_from_log(log) or log


class StudioLogProcessor(LogRecordProcessor):
    """Sends every emitted log record to a ``StoreWriter``; waits at most ``wait`` s for room."""

    def __init__(self, writer: StoreWriter, *, wait: float = 0.5) -> None:
        self.writer = writer
        self.wait = wait
        self._emitted = writer.lane(emitted_to_record)

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        self._emitted.put(log_record, self.wait)

    def shutdown(self) -> None:
        self.writer.flush()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.writer.flush(timeout_millis / 1000)


def sdk_log_to_record(record: ReadWriteLogRecord) -> LogRecord:
    """Convert an SDK log record: ids as hex, the body and attributes as JSON-shaped values."""
    log = record.log_record
    scope = record.instrumentation_scope
    resource = record.resource
    severity = log.severity_number
    return LogRecord(
        time_ns=log.timestamp or log.observed_timestamp or 0,
        body=_plain(log.body),
        severity_number=severity.value if severity is not None else 0,
        severity_text=log.severity_text or "",
        trace_id=format(log.trace_id, "032x") if log.trace_id else None,
        span_id=format(log.span_id, "016x") if log.span_id else None,
        event_name=log.event_name or "",
        attributes=_plain_mapping(log.attributes),
        resource=_plain_mapping(resource.attributes) if resource is not None else {},
        scope_name=scope.name if scope is not None else "",
        observed_time_ns=log.observed_timestamp or 0,
    )


def _plain_mapping(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    if not attributes:
        return {}
    return {str(key): _plain(value) for key, value in attributes.items()}


def _plain(value: Any) -> Any:
    """An OTel ``AnyValue`` as a JSON-compatible value; bytes become base64, as OTLP/JSON has it."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return _plain_mapping(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value)
