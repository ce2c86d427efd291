"""What a worker said of its spans, kept until they are surely stored.

The worker sends each span's start and end over its socket as they happen (``span_started``,
``span_ended``; see ``lumos_core.run_guard``) while OTLP exports them in batches. When the worker
dies, or a cancelled run leaves spans behind, ``closing`` makes the records that end them: those
it ended as they ended (the store keeps a copy already exported: a finished span is final),
those still open as ERROR with the reason, ended at that moment.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from lumos_core.worker_protocol import Resource, SpanEnded, SpanStarted
from lumos_studio.records import STATUS_ERROR, SpanRecord
from lumos_studio.semantics.hot import hot_fields


class ReportedSpans:
    """One worker's spans: open ones, and ended ones it may not have exported yet."""

    def __init__(self) -> None:
        self.resource: dict[str, Any] = {}
        self.open: dict[str, SpanStarted] = {}  # by span id
        self._ended: dict[str, tuple[SpanStarted, SpanEnded]] = {}
        self._lock = threading.Lock()

    def heard(self, message: Resource | SpanStarted | SpanEnded) -> None:
        with self._lock:
            match message:
                case Resource():
                    self.resource = dict(message.attributes)
                case SpanStarted():
                    self.open[message.span_id] = message
                case SpanEnded():
                    started = self.open.pop(message.span_id, None)
                    if started is not None:
                        self._ended[message.span_id] = (started, message)

    def exported(self) -> None:
        """The worker flushed its exporters (it does before every answer)."""
        with self._lock:
            self._ended.clear()

    def running_tool(self, run_id: int) -> str | None:
        """The tool run ``run_id`` was running, if any."""
        with self._lock:
            starts = list(self.open.values())
        for start in reversed(starts):
            if start.run != run_id:
                continue
            name = hot_fields(start.attributes.get).tool  # in whatever dialect the span says it
            if isinstance(name, str) and name:  # a list or a number names no tool
                return name
        return None

    def closing(self, reason: str, run: int | None = None) -> list[SpanRecord]:
        """Records ending every span left (of ``run`` only, when given: its ended ones were
        exported), forgotten here."""
        now = time.time_ns()
        with self._lock:
            if run is None:
                ended, self._ended = list(self._ended.values()), {}
                still_open, self.open = list(self.open.values()), {}
            else:
                ended = []
                still_open = [s for s in self.open.values() if s.run == run]
                for start in still_open:
                    self.open.pop(start.span_id, None)
        records = [
            span_record(start, self.resource, end.end_ns, end.status_code, end.status_message,
                        end.attributes)
            for start, end in ended
        ]
        records += [
            span_record(s, self.resource, max(now, s.start_ns), STATUS_ERROR, reason)
            for s in still_open
        ]
        return records


def span_record(
    started: SpanStarted,
    resource: dict[str, Any],
    end_ns: int,
    status_code: str,
    status_message: str,
    attributes: dict[str, Any] | None = None,
) -> SpanRecord:
    """A span the worker reported, as the store takes it."""
    return SpanRecord(
        trace_id=started.trace_id,
        span_id=started.span_id,
        parent_span_id=started.parent_span_id or None,
        name=started.name,
        start_ns=started.start_ns,
        end_ns=end_ns,
        kind=started.kind or "INTERNAL",
        status_code=status_code or "UNSET",
        status_message=status_message,
        attributes=started.attributes if attributes is None else attributes,
        resource=resource,
        scope_name=started.scope_name,
        scope_version=started.scope_version,
    )
