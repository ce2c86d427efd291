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

from lumos_studio.records import STATUS_ERROR, SpanRecord
from lumos_studio.semantics.hot import hot_fields


class ReportedSpans:
    """One worker's spans: open ones, and ended ones it may not have exported yet."""

    def __init__(self) -> None:
        self.resource: dict[str, Any] = {}
        self.open: dict[str, dict[str, Any]] = {}  # span id → its span_started message
        self._ended: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def heard(self, message: dict[str, Any]) -> None:
        """A ``resource``, ``span_started`` or ``span_ended`` message."""
        kind = message.get("type")
        span_id = str(message.get("span_id"))
        with self._lock:
            if kind == "resource":
                attributes = message.get("attributes")
                self.resource = dict(attributes) if isinstance(attributes, dict) else {}
            elif kind == "span_started":
                self.open[span_id] = message
            elif kind == "span_ended":
                started = self.open.pop(span_id, None)
                if started is not None:
                    self._ended[span_id] = {**started, **message}

    def exported(self) -> None:
        """The worker flushed its exporters (it does before every answer)."""
        with self._lock:
            self._ended.clear()

    def running_tool(self, run_id: int) -> str | None:
        """The tool run ``run_id`` was running, if any."""
        with self._lock:
            starts = list(self.open.values())
        for start in reversed(starts):
            attributes = start.get("attributes")
            if start.get("run") != run_id or not isinstance(attributes, dict):
                continue
            name = hot_fields(attributes.get).tool  # in whatever dialect the span says it
            if name:
                return str(name)
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
                still_open = [s for s in self.open.values() if s.get("run") == run]
                for start in still_open:
                    self.open.pop(str(start.get("span_id")), None)
        records = [span_record(s, self.resource) for s in ended]
        records += [
            span_record(s, self.resource, end_ns=max(now, _int(s.get("start_ns"))),
                        status_code=STATUS_ERROR, status_message=reason)
            for s in still_open
        ]
        return [r for r in records if r is not None]


def span_record(
    message: dict[str, Any],
    resource: dict[str, Any],
    *,
    end_ns: int | None = None,
    status_code: str | None = None,
    status_message: str | None = None,
) -> SpanRecord | None:
    """A span the worker reported, as the store takes it (None: the message is malformed)."""
    try:
        attributes = message.get("attributes")
        return SpanRecord(
            trace_id=str(message["trace_id"]),
            span_id=str(message["span_id"]),
            parent_span_id=message.get("parent_span_id") or None,
            name=str(message["name"]),
            start_ns=int(message["start_ns"]),
            end_ns=int(end_ns if end_ns is not None else message["end_ns"]),
            kind=str(message.get("kind") or "INTERNAL"),
            status_code=status_code or str(message.get("status_code") or "UNSET"),
            status_message=status_message if status_message is not None
            else str(message.get("status_message") or ""),
            attributes=attributes if isinstance(attributes, dict) else {},
            resource=resource,
            scope_name=str(message.get("scope_name") or ""),
            scope_version=str(message.get("scope_version") or ""),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
