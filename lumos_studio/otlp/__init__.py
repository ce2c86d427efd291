"""OTLP codecs: OTLP/JSON (files and the JSON receiver) and OTLP/protobuf, spans and logs.

Every name is imported on first use (``lumos_core._lazy``): loading the generated protobuf
modules takes about 80 ms, and the JSON codecs and file readers some 30 more, which a command
that imports one light module of the package (``span_bytes``, ``_common``), as ``show`` and
the app's start do through the store, should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lumos_core._lazy import load_export

if TYPE_CHECKING:
    from lumos_studio.otlp._common import OtlpDecodeError
    from lumos_studio.otlp.files import (
        DecodedLine,
        FileRecords,
        LineProblem,
        TraceLines,
        encode_lines,
        read_file,
        read_lines,
        read_records,
        write_file,
    )
    from lumos_studio.otlp.json_codec import decode_trace_request
    from lumos_studio.otlp.json_encode import encode_trace_request
    from lumos_studio.otlp.logs_codec import (
        decode_logs_request,
        decode_logs_request_proto,
        encode_log_lines,
        encode_logs_request,
        encode_logs_request_proto,
    )
    from lumos_studio.otlp.proto_codec import decode_trace_request_proto
    from lumos_studio.otlp.proto_encode import encode_trace_request_proto

_EXPORTS = {
    "OtlpDecodeError": "lumos_studio.otlp._common",
    **dict.fromkeys(
        ("DecodedLine", "FileRecords", "LineProblem", "TraceLines", "encode_lines", "read_file",
         "read_lines", "read_records", "write_file"), "lumos_studio.otlp.files"),
    "decode_trace_request": "lumos_studio.otlp.json_codec",
    "encode_trace_request": "lumos_studio.otlp.json_encode",
    **dict.fromkeys(
        ("decode_logs_request", "decode_logs_request_proto", "encode_log_lines",
         "encode_logs_request", "encode_logs_request_proto"), "lumos_studio.otlp.logs_codec"),
    "decode_trace_request_proto": "lumos_studio.otlp.proto_codec",
    "encode_trace_request_proto": "lumos_studio.otlp.proto_encode",
}

__all__ = [
    "DecodedLine",
    "FileRecords",
    "LineProblem",
    "OtlpDecodeError",
    "TraceLines",
    "decode_logs_request",
    "decode_logs_request_proto",
    "decode_trace_request",
    "decode_trace_request_proto",
    "encode_lines",
    "encode_log_lines",
    "encode_logs_request",
    "encode_logs_request_proto",
    "encode_trace_request",
    "encode_trace_request_proto",
    "read_file",
    "read_lines",
    "read_records",
    "write_file",
]


def __getattr__(name: str) -> object:
    return load_export(globals(), _EXPORTS, name)
