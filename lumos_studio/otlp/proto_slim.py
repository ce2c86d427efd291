"""Slim OTLP message types: wire-compatible with OTLP's, they leave most of a span encoded.

Parsing with them is what keeps the receiver fast (see ``proto_codec``): a request's spans stay
bytes, a span's attributes a map from key to the encoded AnyValue. Apart because the request
reader (``proto_codec``) and the stored-span reader (``proto_span``) both parse with them, and
making them (a descriptor file added to protobuf's default pool) is a job of its own.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

# The slim file depends on these three: importing them registers them in the default pool.
from opentelemetry.proto.common.v1 import common_pb2  # noqa: F401
from opentelemetry.proto.resource.v1 import resource_pb2  # noqa: F401 (registers Resource)
from opentelemetry.proto.trace.v1 import trace_pb2  # noqa: F401


def _slim_messages() -> dict[str, type[Message]]:
    """Message classes wire-compatible with OTLP's that leave most of a span encoded.

    A slim ``ScopeSpans`` holds its spans as bytes: each is stored as it came. A slim ``Span``
    reads the fields that become columns; its attributes are a map of key → encoded AnyValue and
    its events stay bytes.
    """
    field = descriptor_pb2.FieldDescriptorProto
    one, many = field.LABEL_OPTIONAL, field.LABEL_REPEATED
    file = descriptor_pb2.FileDescriptorProto(
        name="lumos_studio/otlp_slim.proto",
        package="lumos_studio.slim",
        syntax="proto3",
        dependency=[
            "opentelemetry/proto/common/v1/common.proto",
            "opentelemetry/proto/resource/v1/resource.proto",
            "opentelemetry/proto/trace/v1/trace.proto",
        ],
    )
    layouts: dict[str, list[tuple[str, int, int, int, str]]] = {
        "Span": [
            ("trace_id", 1, field.TYPE_BYTES, one, ""),
            ("span_id", 2, field.TYPE_BYTES, one, ""),
            ("parent_span_id", 4, field.TYPE_BYTES, one, ""),
            # Bytes, not a string: upb refuses a string of invalid UTF-8, and with it the span.
            ("name", 5, field.TYPE_BYTES, one, ""),
            ("kind", 6, field.TYPE_INT32, one, ""),
            ("start_time_unix_nano", 7, field.TYPE_FIXED64, one, ""),
            ("end_time_unix_nano", 8, field.TYPE_FIXED64, one, ""),
            ("attributes", 9, field.TYPE_MESSAGE, many, ".lumos_studio.slim.Span.AttributesEntry"),
            ("events", 11, field.TYPE_BYTES, many, ""),
            ("status", 15, field.TYPE_MESSAGE, one, ".lumos_studio.slim.Status"),
            # Read only when a span is opened (``span_rest``), or to tell whether it has any.
            ("trace_state", 3, field.TYPE_BYTES, one, ""),
            ("dropped_attributes_count", 10, field.TYPE_UINT32, one, ""),
            ("dropped_events_count", 12, field.TYPE_UINT32, one, ""),
            ("links", 13, field.TYPE_BYTES, many, ""),
            ("dropped_links_count", 14, field.TYPE_UINT32, one, ""),
            ("flags", 16, field.TYPE_FIXED32, one, ""),
        ],
        "TextSpan": [  # what the search index reads of a stored span (``text_fields``)
            ("attributes", 9, field.TYPE_MESSAGE, many,
             ".lumos_studio.slim.TextSpan.AttributesEntry"),
            ("events", 11, field.TYPE_MESSAGE, many, ".lumos_studio.slim.Event"),
        ],
        "Event": [  # a span event's name alone (``event_names``): its attributes stay encoded
            ("time_unix_nano", 1, field.TYPE_FIXED64, one, ""),
            ("name", 2, field.TYPE_BYTES, one, ""),
        ],
        "Status": [  # OTLP's Status with its message as bytes, read leniently like the name
            ("message", 2, field.TYPE_BYTES, one, ""),
            ("code", 3, field.TYPE_INT32, one, ""),
        ],
        "ScopeSpans": [
            ("scope", 1, field.TYPE_MESSAGE, one,
             ".opentelemetry.proto.common.v1.InstrumentationScope"),
            ("spans", 2, field.TYPE_BYTES, many, ""),
            ("schema_url", 3, field.TYPE_STRING, one, ""),
        ],
        "ResourceSpans": [
            ("resource", 1, field.TYPE_MESSAGE, one, ".opentelemetry.proto.resource.v1.Resource"),
            ("scope_spans", 2, field.TYPE_MESSAGE, many, ".lumos_studio.slim.ScopeSpans"),
            ("schema_url", 3, field.TYPE_STRING, one, ""),
        ],
        "Request": [
            ("resource_spans", 1, field.TYPE_MESSAGE, many, ".lumos_studio.slim.ResourceSpans"),
        ],
    }
    for name, fields in layouts.items():
        message = file.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            added = message.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                added.type_name = type_name
    # A KeyValue has the wire form of a map entry (key = 1, value = 2), so the attributes parse
    # into a map from key to the AnyValue's bytes, looked up in C (the last of a repeated key
    # wins, as when decoding them into a dict).
    for message in file.message_type:
        if message.name in ("Span", "TextSpan"):
            entry = message.nested_type.add(name="AttributesEntry")
            entry.options.map_entry = True
            entry.field.add(name="key", number=1, type=field.TYPE_STRING, label=one)
            entry.field.add(name="value", number=2, type=field.TYPE_BYTES, label=one)
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(file.name)
    except KeyError:
        pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{file.package}.{name}"))
        for name in layouts
    }


_SLIM = _slim_messages()
SlimRequest = _SLIM["Request"]
SlimSpan = _SLIM["Span"]
SlimTextSpan = _SLIM["TextSpan"]
