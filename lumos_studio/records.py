"""The one record shape the store accepts; every ingest path converts into it.

Frozen dataclasses (not pydantic): they are built on the hot ingest path. Ids are lowercase hex,
times are Unix nanoseconds, attribute values are JSON-compatible but for OTLP ``bytesValue``s,
which are ``bytes`` (so they are written back as bytes). Everything OTLP says of a span is kept
(links, trace state, flags, dropped counts, the scope's attributes, schema URLs): what comes in
goes out unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STATUS_UNSET = "UNSET"
STATUS_OK = "OK"
STATUS_ERROR = "ERROR"


def finished_copy_wins(kept_end_ns: int | None, end_ns: int | None) -> bool:
    """Whether a copy of a span that ends at ``end_ns`` (None: still running) takes the place of
    the copy kept, which ends at ``kept_end_ns``: a finished copy wins over a started one,
    whatever the order they came in (the store's rule, and a saved file's read for compare)."""
    return end_ns is not None or kept_end_ns is None


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """A timestamped event inside a span (an exception, a log-like note)."""

    name: str
    time_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)
    dropped_attributes_count: int = 0


@dataclass(frozen=True, slots=True)
class SpanLink:
    """A link from a span to another span (a workflow step to the run that caused it)."""

    trace_id: str
    span_id: str
    trace_state: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    flags: int = 0
    dropped_attributes_count: int = 0


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One span, finished (``end_ns`` set) or still running (``end_ns`` is None)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int | None
    kind: str = "INTERNAL"
    status_code: str = STATUS_UNSET
    status_message: str = ""
    # A dict and a tuple when built here; the protobuf decoder's lazy views when received.
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[SpanEvent] = ()
    resource: dict[str, Any] = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""
    links: tuple[SpanLink, ...] = ()
    trace_state: str = ""
    flags: int = 0  # OTLP's span flags (W3C trace flags, parent-is-remote bits)
    dropped_attributes_count: int = 0
    dropped_events_count: int = 0
    dropped_links_count: int = 0
    scope_attributes: dict[str, Any] = field(default_factory=dict)
    resource_schema_url: str = ""
    scope_schema_url: str = ""

    @property
    def running(self) -> bool:
        return self.end_ns is None

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_ns is None else self.end_ns - self.start_ns

    @property
    def service_name(self) -> str:
        return str(self.resource.get("service.name", ""))


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One OpenTelemetry log record: Python logging, ``print`` capture, core events, OTLP logs.

    ``event_name`` carries the OTel event name (``lumos.memory.*`` and the like); ``trace_id`` and
    ``span_id`` tie the record to the span it was emitted in, when there was one.
    """

    time_ns: int
    body: Any
    severity_number: int = 0
    severity_text: str = ""
    trace_id: str | None = None
    span_id: str | None = None
    event_name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)
    scope_name: str = ""
    observed_time_ns: int = 0

    @property
    def service_name(self) -> str:
        return str(self.resource.get("service.name", ""))
