"""The bodies of the OTLP receiver's answers: export responses and ``google.rpc.Status`` errors.

Both are a few protobuf fields, written by hand rather than through the generated classes, in
the encoding the request came in.
"""

from __future__ import annotations

import orjson

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

# HTTP status → google.rpc.Code (INVALID_ARGUMENT, NOT_FOUND, UNIMPLEMENTED, INTERNAL,
# UNAVAILABLE) for the Status body of an error answer.
_CODES = {400: 3, 404: 5, 405: 12, 411: 3, 413: 3, 415: 3, 500: 13, 503: 14}
# The receiver's bounds: UNAUTHENTICATED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED (disk full).
_CODES |= {401: 16, 408: 4, 507: 8}


def rejection_message(rejected: list[str]) -> str:
    """The first three reasons, and how many more."""
    more = f" (and {len(rejected) - 3} more)" if len(rejected) > 3 else ""
    return "; ".join(rejected[:3]) + more


def success_body(signal_name: str, media: str, rejected: list[str]) -> bytes:
    """``ExportTraceServiceResponse`` / ``ExportLogsServiceResponse``, partial success if any."""
    if not rejected:
        return b"" if media == PROTOBUF else b"{}"
    message = rejection_message(rejected)
    count_field = "rejectedSpans" if signal_name == "traces" else "rejectedLogRecords"
    if media == JSON:
        partial = {count_field: str(len(rejected)), "errorMessage": message}
        return orjson.dumps({"partialSuccess": partial})
    # ExportTracePartialSuccess / ExportLogsPartialSuccess: 1 = rejected count, 2 = message.
    inner = _field_varint(1, len(rejected)) + _field_bytes(2, message.encode())
    return _field_bytes(1, inner)


def status_body(media: str, http_status: int, message: str) -> bytes:
    """A ``google.rpc.Status`` (1 = code, 2 = message) for an error answer, in the request's
    encoding."""
    code = _CODES.get(http_status, 13)  # INTERNAL
    if media == PROTOBUF:
        return _field_varint(1, code) + _field_bytes(2, message.encode())
    return orjson.dumps({"code": code, "message": message})


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value
