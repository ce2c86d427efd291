"""A small, self-contained reader of saved spans in OTLP JSON lines, for replay.

The core stands alone (it never imports the studio), so this reads the Collector's file format
itself: spans only, lenient about key spelling (camelCase or snake_case), id encoding (hex in any
case, or base64) and int64s as strings or numbers. Log lines and other signals are skipped.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

__all__ = ["RecordedSpan", "SpanLike", "read_spans"]


class SpanLike(Protocol):
    """What replay needs of a span: the studio's ``SpanRecord`` and ``RecordedSpan`` both fit."""

    # Read-only members: both implementations are frozen dataclasses.
    @property
    def trace_id(self) -> str: ...
    @property
    def span_id(self) -> str: ...
    @property
    def parent_span_id(self) -> str | None: ...
    @property
    def name(self) -> str: ...
    @property
    def start_ns(self) -> int: ...
    @property
    def attributes(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class RecordedSpan:
    """The fields of a saved span that replay uses."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int | None = None
    status_code: str = "UNSET"
    attributes: dict[str, Any] = field(default_factory=dict)


def read_spans(path: str | os.PathLike[str]) -> list[RecordedSpan]:
    """The spans of an OTLP JSON lines file (gzip or not); other signals' lines are skipped.

    A line that is not valid JSON raises ``ValueError`` naming the file and line: a test must
    not silently run against half a trace.
    """
    spans: list[RecordedSpan] = []
    for number, line in enumerate(_lines(path), 1):
        if not line.strip():
            continue
        try:
            request = orjson.loads(line)
            spans.extend(_spans_of(request))
        except (orjson.JSONDecodeError, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ValueError(f"{os.fspath(path)}:{number}: not an OTLP JSON line ({exc})") from exc
    return spans


def _lines(path: str | os.PathLike[str]) -> Iterator[bytes]:
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if compressed else raw
        for line in stream:
            yield line.removeprefix(b"\xef\xbb\xbf")


def _spans_of(request: dict[str, Any]) -> Iterator[RecordedSpan]:
    for resource_spans in request.get("resourceSpans") or request.get("resource_spans") or []:
        scopes = resource_spans.get("scopeSpans") or resource_spans.get("scope_spans") or []
        for scope_spans in scopes:
            for span in scope_spans.get("spans") or []:
                parent = _get(span, "parentSpanId", "parent_span_id")
                parent_id = _hex(parent) if parent else None
                end = int(_get(span, "endTimeUnixNano", "end_time_unix_nano") or 0)
                status = (span.get("status") or {}).get("code", 0)
                yield RecordedSpan(
                    trace_id=_hex(_get(span, "traceId", "trace_id")),
                    span_id=_hex(_get(span, "spanId", "span_id")),
                    parent_span_id=None if parent_id is None or not parent_id.strip("0")
                    else parent_id,
                    name=str(span.get("name", "")),
                    start_ns=int(_get(span, "startTimeUnixNano", "start_time_unix_nano") or 0),
                    end_ns=end or None,
                    status_code=_STATUS.get(str(status).upper(), "UNSET"),
                    attributes=_attributes(span.get("attributes")),
                )


_STATUS = {"0": "UNSET", "1": "OK", "2": "ERROR", "STATUS_CODE_OK": "OK", "OK": "OK",
           "STATUS_CODE_ERROR": "ERROR", "ERROR": "ERROR"}


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _hex(value: Any) -> str:
    text = str(value)
    try:
        bytes.fromhex(text)
        return text.lower()
    except ValueError:
        pass
    try:  # protobuf's own JSON mapping writes ids as base64
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True).hex()
    except (binascii.Error, ValueError):
        raise ValueError(f"invalid id {text!r}") from None


def _attributes(values: Any) -> dict[str, Any]:
    return {kv["key"]: _any(kv.get("value")) for kv in values or []}


def _any(value: Any) -> Any:
    if not value:
        return None
    kind, inner = next(iter(value.items()))
    kind = kind.replace("_value", "Value")
    if kind == "intValue":
        return int(inner)
    if kind == "doubleValue":
        return float(inner)
    if kind == "arrayValue":
        return [_any(v) for v in (inner or {}).get("values") or []]
    if kind == "kvlistValue":
        return _attributes((inner or {}).get("values"))
    return inner  # stringValue, boolValue, bytesValue (as base64 text)
