"""OTLP logs (protobuf and JSON) into ``LogRecord``, and back out as OTLP/JSON.

The JSON reader follows the same lenient rules as the span reader (ids as hex in any case or
base64, int64 as strings or numbers, enums as numbers or names, snake_case keys, any missing
optional field). Ids are optional on a log record: absent, empty or all-zero ids read as None.
A record without ``timeUnixNano`` takes its observed time, as the OTel log data model says.

The protobuf modules are imported on first use, as in ``otlp/__init__``: reading a saved file
should not pay for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

import orjson

from lumos_studio.otlp._common import (
    INT64_MAX,
    SPAN_ID_BYTES,
    TRACE_ID_BYTES,
    OtlpDecodeError,
    group_by_resource,
)
from lumos_studio.otlp.json_encode import any_to_json, attributes_to_json
from lumos_studio.otlp.json_values import (
    MALFORMED,
    any_from_json,
    as_list,
    as_object,
    as_text,
    attributes_from_json,
    either,
    located,
    read_enum,
    read_hex_id,
    read_resource_list,
    read_time,
    require_object,
)
from lumos_studio.records import LogRecord

if TYPE_CHECKING:
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as ProtoLogRecord

__all__ = [
    "decode_logs_request",
    "decode_logs_request_proto",
    "encode_log_lines",
    "encode_logs_request",
    "encode_logs_request_proto",
]

DEFAULT_BATCH_SIZE = 1000
SEVERITY_MAX = 24  # SEVERITY_NUMBER_FATAL4

_SEVERITY_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
_SEVERITY_NAMES: dict[str, int] = {"UNSPECIFIED": 0}
for _level, _name in enumerate(_SEVERITY_LEVELS):
    for _step in range(4):
        _SEVERITY_NAMES[_name + (str(_step + 1) if _step else "")] = _level * 4 + _step + 1
_SEVERITY_NAMES.update({f"SEVERITY_NUMBER_{k}": v for k, v in list(_SEVERITY_NAMES.items())})

# ---------------------------------------------------------------------------------- JSON decode


def decode_logs_request(obj: Any, rejected: list[str] | None = None) -> list[LogRecord]:
    """Turn one parsed ``ExportLogsServiceRequest`` into records.

    Raises ``OtlpDecodeError`` naming the record's position and the wrong field; with a
    ``rejected`` list an invalid record is skipped and its message appended there instead.
    """
    resource_list = read_resource_list(obj, "resourceLogs", "resource_logs")
    records: list[LogRecord] = []
    for ri, resource_logs in enumerate(resource_list):
        try:
            require_object(resource_logs)
            resource = attributes_from_json(as_object(resource_logs.get("resource")))
            scope_list = as_list(either(resource_logs, "scopeLogs", "scope_logs"))
        except MALFORMED as exc:
            raise located(f"resourceLogs[{ri}]", exc) from exc
        for si, scope_logs in enumerate(scope_list):
            try:
                require_object(scope_logs)
                scope_name = as_text(as_object(scope_logs.get("scope")).get("name"), "scope.name")
                log_list = as_list(either(scope_logs, "logRecords", "log_records"))
            except MALFORMED as exc:
                raise located(f"resourceLogs[{ri}].scopeLogs[{si}]", exc) from exc
            for i, log in enumerate(log_list):
                try:
                    records.append(_log_from_json(log, resource, scope_name))
                except MALFORMED as exc:
                    error = located(f"resourceLogs[{ri}].scopeLogs[{si}].logRecords[{i}]", exc)
                    if rejected is None:
                        raise error from exc
                    rejected.append(str(error))
    return records


def _log_from_json(log: Any, resource: dict[str, Any], scope_name: str) -> LogRecord:
    require_object(log)
    observed_field = "observedTimeUnixNano"
    observed = read_time(either(log, observed_field, "observed_time_unix_nano"), observed_field)
    severity_field = "severityNumber"
    severity = read_enum(
        either(log, severity_field, "severity_number"), _SEVERITY_NAMES, severity_field)
    if not 0 <= severity <= SEVERITY_MAX:
        raise OtlpDecodeError(f"severityNumber: {severity} is out of range 0..{SEVERITY_MAX}")
    return LogRecord(
        time_ns=(
            read_time(either(log, "timeUnixNano", "time_unix_nano"), "timeUnixNano") or observed),
        body=any_from_json(log.get("body")),
        severity_number=severity,
        severity_text=as_text(either(log, "severityText", "severity_text"), "severityText"),
        trace_id=_optional_id(either(log, "traceId", "trace_id"), TRACE_ID_BYTES, "traceId"),
        span_id=_optional_id(either(log, "spanId", "span_id"), SPAN_ID_BYTES, "spanId"),
        event_name=as_text(either(log, "eventName", "event_name"), "eventName"),
        attributes=attributes_from_json(log),
        resource=resource,
        scope_name=scope_name,
        observed_time_ns=observed,
    )


def _optional_id(value: Any, size: int, field: str) -> str | None:
    """Log ids are optional: missing, empty and all-zero all mean "not in a span"."""
    if value is None or value == "":
        return None
    hex_id = read_hex_id(value, size, field)
    return hex_id if hex_id.strip("0") else None


# ------------------------------------------------------------------------------ protobuf decode


def decode_logs_request_proto(body: bytes, rejected: list[str] | None = None) -> list[LogRecord]:
    """Parse an ``ExportLogsServiceRequest`` body into records.

    A truncated or invalid body raises ``OtlpDecodeError``; an invalid record raises too, or is
    skipped into ``rejected`` when a list is given.
    """
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    from lumos_studio.otlp import proto_values

    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RuntimeError) as exc:
        raise OtlpDecodeError(f"invalid protobuf body: {exc}") from None
    records: list[LogRecord] = []
    for ri, resource_logs in enumerate(request.resource_logs):
        resource = proto_values.attributes_of(resource_logs.resource.attributes)
        for si, scope_logs in enumerate(resource_logs.scope_logs):
            scope_name = scope_logs.scope.name
            for i, log in enumerate(scope_logs.log_records):
                try:
                    records.append(_log_from_proto(log, resource, scope_name, proto_values))
                except OtlpDecodeError as exc:
                    error = f"resourceLogs[{ri}].scopeLogs[{si}].logRecords[{i}]: {exc}"
                    if rejected is None:
                        raise OtlpDecodeError(error) from None
                    rejected.append(error)
    return records


def _log_from_proto(
    log: ProtoLogRecord, resource: dict[str, Any], scope_name: str, codec: ModuleType
) -> LogRecord:
    severity = log.severity_number
    if not 0 <= severity <= SEVERITY_MAX:
        raise OtlpDecodeError(f"severityNumber: {severity} is out of range 0..{SEVERITY_MAX}")
    observed = log.observed_time_unix_nano
    time_ns = log.time_unix_nano
    if time_ns > INT64_MAX or observed > INT64_MAX:  # fixed64 on the wire, int64 in SQLite
        field, value = ("timeUnixNano", time_ns) if time_ns > INT64_MAX else (
            "observedTimeUnixNano", observed)
        raise OtlpDecodeError(
            f"{field}: {value} ns is past the year 2262 (the store holds times up to 2^63-1 ns)"
        )
    body = log.body
    which = body.WhichOneof("value")
    return LogRecord(
        time_ns=time_ns or observed,
        body=(getattr(body, which) if which is not None and which in codec.SCALARS
              else codec.composite_value(body, which)),
        severity_number=severity,
        severity_text=log.severity_text,
        trace_id=_optional_bytes_id(log.trace_id, TRACE_ID_BYTES, "traceId"),
        span_id=_optional_bytes_id(log.span_id, SPAN_ID_BYTES, "spanId"),
        event_name=log.event_name,
        attributes=codec.attributes_of(log.attributes) if log.attributes else {},
        resource=resource,
        scope_name=scope_name,
        observed_time_ns=observed,
    )


def _optional_bytes_id(value: bytes, size: int, field: str) -> str | None:
    if not value or not value.strip(b"\0"):
        return None
    if len(value) != size:
        raise OtlpDecodeError(
            f"{field}: invalid id {value[:32].hex()!r} ({len(value)} bytes, expected {size})"
        )
    return value.hex()


# ------------------------------------------------------------------------------------- encode


def encode_logs_request(records: Iterable[LogRecord]) -> dict[str, Any]:
    """Build one ``ExportLogsServiceRequest`` as a JSON-ready dict, grouped resource → scope."""
    resource_logs = []
    for resource, scopes in _group(records):
        scope_logs = []
        for scope_name, logs in scopes.items():
            scope = {"name": scope_name} if scope_name else {}
            scope_logs.append({"scope": scope, "logRecords": [_log_to_json(r) for r in logs]})
        resource_json: dict[str, Any] = {}
        if resource:
            resource_json["attributes"] = attributes_to_json(resource)
        resource_logs.append({"resource": resource_json, "scopeLogs": scope_logs})
    return {"resourceLogs": resource_logs}


def encode_log_lines(
    records: Iterable[LogRecord], batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[str]:
    """Yield one compact JSON line (ending in ``\\n``) per ``batch_size`` records."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    batch: list[LogRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= batch_size:
            yield _dump_line(batch)
            batch = []
    if batch:
        yield _dump_line(batch)


def _dump_line(batch: list[LogRecord]) -> str:
    return orjson.dumps(encode_logs_request(batch), option=orjson.OPT_APPEND_NEWLINE).decode()


def _log_to_json(record: LogRecord) -> dict[str, Any]:
    # Keys in protobuf field order, as the Collector writes them.
    out: dict[str, Any] = {}
    if record.time_ns:
        out["timeUnixNano"] = str(record.time_ns)
    if record.observed_time_ns:
        out["observedTimeUnixNano"] = str(record.observed_time_ns)
    if record.severity_number:
        out["severityNumber"] = record.severity_number
    if record.severity_text:
        out["severityText"] = record.severity_text
    out["body"] = any_to_json(record.body)
    if record.attributes:
        out["attributes"] = attributes_to_json(record.attributes)
    if record.trace_id:
        out["traceId"] = record.trace_id.lower()
    if record.span_id:
        out["spanId"] = record.span_id.lower()
    if record.event_name:
        out["eventName"] = record.event_name
    return out


def encode_logs_request_proto(records: Iterable[LogRecord]) -> bytes:
    """Serialise records as an ``ExportLogsServiceRequest`` (tests, forwarding)."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    from lumos_studio.otlp.proto_encode import set_any, set_attributes

    request = ExportLogsServiceRequest()
    for resource, scopes in _group(records):
        resource_logs = request.resource_logs.add()
        set_attributes(resource_logs.resource.attributes, resource)
        for scope_name, logs in scopes.items():
            scope_logs = resource_logs.scope_logs.add()
            scope_logs.scope.name = scope_name
            for record in logs:
                log = scope_logs.log_records.add()
                log.time_unix_nano = record.time_ns
                log.observed_time_unix_nano = record.observed_time_ns
                log.severity_number = record.severity_number  # type: ignore[assignment]
                log.severity_text = record.severity_text
                set_any(log.body, record.body)
                set_attributes(log.attributes, record.attributes)
                if record.trace_id:
                    log.trace_id = bytes.fromhex(record.trace_id)
                if record.span_id:
                    log.span_id = bytes.fromhex(record.span_id)
                log.event_name = record.event_name
    body: bytes = request.SerializeToString()
    return body


def _group(
    records: Iterable[LogRecord],
) -> list[tuple[dict[str, Any], dict[str, list[LogRecord]]]]:
    """Group by identical resource, then scope name, in first-seen order."""
    return group_by_resource(records, lambda record: record.scope_name)
