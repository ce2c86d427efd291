"""OTLP codecs: OTLP/JSON (files and the JSON receiver) and OTLP/protobuf, spans and logs.

The protobuf codecs are imported on first use: loading the generated protobuf modules takes about
80 ms, which the app should not pay at start-up just to read a saved trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from lumos_studio.otlp.proto_codec import decode_trace_request_proto
    from lumos_studio.otlp.proto_encode import encode_trace_request_proto

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

def __getattr__(name: str) -> Any:
    if name == "decode_trace_request_proto":
        from lumos_studio.otlp import proto_codec

        return proto_codec.decode_trace_request_proto
    if name == "encode_trace_request_proto":
        from lumos_studio.otlp import proto_encode

        return proto_encode.encode_trace_request_proto
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
