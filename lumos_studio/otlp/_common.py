"""Tables and helpers both OTLP codecs share, so JSON and protobuf cannot disagree on a mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import orjson

from lumos_studio.records import STATUS_ERROR, STATUS_OK, STATUS_UNSET, LogRecord, SpanRecord

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8

# OTLP enum numbers. SPAN_KIND_UNSPECIFIED (0) is read as INTERNAL, as the OTLP spec allows.
KIND_TO_OTLP: dict[str, int] = {
    "INTERNAL": 1,
    "SERVER": 2,
    "CLIENT": 3,
    "PRODUCER": 4,
    "CONSUMER": 5,
}
KIND_FROM_OTLP: tuple[str, ...] = (
    "INTERNAL",
    "INTERNAL",
    "SERVER",
    "CLIENT",
    "PRODUCER",
    "CONSUMER",
)

STATUS_TO_OTLP: dict[str, int] = {STATUS_UNSET: 0, STATUS_OK: 1, STATUS_ERROR: 2}
STATUS_FROM_OTLP: tuple[str, ...] = (STATUS_UNSET, STATUS_OK, STATUS_ERROR)


class OtlpDecodeError(ValueError):
    """An OTLP payload (or one line of a file) that cannot be turned into records."""


def kind_from_otlp(code: int) -> str:
    """Map an OTLP ``SpanKind`` number to the record's kind string."""
    if 0 <= code < len(KIND_FROM_OTLP):
        return KIND_FROM_OTLP[code]
    raise OtlpDecodeError(f"kind: unknown span kind {code!r}")


def status_from_otlp(code: int) -> str:
    """Map an OTLP ``Status.StatusCode`` number to the record's status string."""
    if 0 <= code < len(STATUS_FROM_OTLP):
        return STATUS_FROM_OTLP[code]
    raise OtlpDecodeError(f"status.code: unknown status code {code!r}")


def kind_to_otlp(kind: str) -> int:
    """Map a record's kind string to its OTLP number; a typo is a bug, so it raises."""
    try:
        return KIND_TO_OTLP[kind]
    except KeyError:
        raise ValueError(f"unknown span kind {kind!r}") from None


def status_to_otlp(status: str) -> int:
    """Map a record's status string to its OTLP number; a typo is a bug, so it raises."""
    try:
        return STATUS_TO_OTLP[status]
    except KeyError:
        raise ValueError(f"unknown status code {status!r}") from None


def short(value: Any, limit: int = 80) -> str:
    """``repr`` cut to a readable length for error messages about untrusted input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Scope key: name, version, schema URL and the attributes' canonical JSON.
ScopeGroups = dict[tuple[str, str, str, str], list[SpanRecord]]
R = TypeVar("R", SpanRecord, LogRecord)
K = TypeVar("K")


def group_by_resource(
    records: Iterable[R], scope_of: Callable[[R], K]
) -> list[tuple[dict[str, Any], dict[K, list[R]]]]:
    """Group records by identical resource, then by ``scope_of(record)``, in first-seen order.

    Records of one batch usually share one resource dict object, so the object's identity is
    checked before its (serialised) content.
    """
    by_identity: dict[int, tuple[dict[str, Any], bytes]] = {}
    groups: dict[bytes, tuple[dict[str, Any], dict[K, list[R]]]] = {}
    for record in records:
        resource = record.resource
        seen = by_identity.get(id(resource))
        if seen is None:
            # Keep the dict alive with its key so its id cannot be reused by another object.
            seen = by_identity[id(resource)] = (resource, _resource_key(resource))
        group = groups.get(seen[1])
        if group is None:
            group = groups[seen[1]] = (resource, {})
        group[1].setdefault(scope_of(record), []).append(record)
    return list(groups.values())


def group_records(records: Iterable[SpanRecord]) -> list[tuple[dict[str, Any], ScopeGroups]]:
    """Spans grouped by resource (and its schema URL), then by scope (name, version, schema URL,
    attributes), in first-seen order; a group's first record stands for its resource and scope."""
    by_identity: dict[int, tuple[dict[str, Any], bytes]] = {}
    groups: dict[tuple[bytes, str], tuple[dict[str, Any], ScopeGroups]] = {}
    for record in records:
        resource = record.resource
        seen = by_identity.get(id(resource))
        if seen is None:
            seen = by_identity[id(resource)] = (resource, _resource_key(resource))
        key = (seen[1], record.resource_schema_url)
        group = groups.get(key)
        if group is None:
            group = groups[key] = (resource, {})
        scope_attributes = record.scope_attributes
        scope = (
            record.scope_name,
            record.scope_version,
            record.scope_schema_url,
            _resource_key(scope_attributes).decode() if scope_attributes else "",
        )
        group[1].setdefault(scope, []).append(record)
    return list(groups.values())


def _resource_key(resource: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return repr(sorted(resource.items(), key=lambda item: str(item[0]))).encode()
