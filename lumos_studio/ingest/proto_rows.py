"""OTLP/protobuf trace requests straight to the store's rows: the receiver's hot path.

``decode_trace_request_proto`` and then ``PendingRows.of`` give the same rows and trace facts (a
test holds them equal), through a ``SpanRecord``, a ``RawAttributes`` and a ``RawEvents`` per
span that are dropped as soon as the row is made. At 20,000 spans a second those objects were a
fifth of what decoding a request cost, so the receiver makes each row from the span's header and
hot attributes directly, and stores the span's bytes as they came (``records_codec``).
Everything else ingests records; this is the one shortcut, to the same stored form.
"""

from __future__ import annotations

from lumos_studio.otlp.proto_codec import read_scopes
from lumos_studio.records_codec import column_value, resource_json
from lumos_studio.semantics.hot import hot_fields
from lumos_studio.store.pending import PendingRows, replaces
from lumos_studio.store.trace_index import encoded_span_may_hold_messages

__all__ = ["decode_trace_rows"]

def decode_trace_rows(body: bytes, rejected: list[str] | None = None) -> PendingRows:
    """The rows of an ``ExportTraceServiceRequest`` body, ready for ``StoreWriter.commit_rows``.

    Raises and rejects as ``decode_trace_request_proto`` does.
    """
    pending = PendingRows()
    spans = pending.spans
    facts = pending.facts
    to_index = facts.to_index
    for resource, scope_name, scope_version, read, scope_rest in read_scopes(body, rejected):
        resource_text = resource_json(resource)
        # The span's own links, flags... stay in its bytes; its scope's part goes to ``extra``.
        extra = column_value(scope_rest) if scope_rest else None
        service = column_value(resource.get("service.name"))
        for otlp, header, hot, _ in read:
            trace_id, span_id, parent, _, _, _, end_ns, _, _ = header
            key = (trace_id, span_id)
            if not replaces(spans.get(key), end_ns):
                continue
            if hot is None:  # no attributes
                operation = agent = model = tool = input_tokens = output_tokens = None
            else:
                operation, agent, model, tool, input_tokens, output_tokens, conversation = (
                    hot_fields(hot.get)
                )
                if type(hot) is not dict:  # a CompositeHot: a list or map to make text of
                    operation, agent, model, tool, input_tokens, output_tokens = map(
                        column_value, (operation, agent, model, tool, input_tokens, output_tokens)
                    )
                facts.add_conversation(trace_id, conversation)
                if end_ns is not None and encoded_span_may_hold_messages(parent, operation):
                    to_index.append(key)
            spans[key] = (
                *header, operation, agent, model, tool, input_tokens, output_tokens, service,
                scope_name, scope_version, resource_text, extra, otlp,
            )
    return pending
