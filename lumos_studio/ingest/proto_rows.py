"""OTLP/protobuf trace requests straight to the store's rows: the receiver's hot path.

``decode_trace_request_proto`` and then ``PendingRows.of`` give the same rows and trace facts (a
test holds them equal), through a ``SpanRecord``, a ``RawAttributes`` and a ``RawEvents`` per
span that are dropped as soon as the row is made. At 20,000 spans a second those objects were a
fifth of what decoding a request cost, so the receiver makes each row from the span's header and
hot attributes directly, and stores the span's bytes as they came (``records_codec``).
Everything else ingests records; this is the one shortcut, to the same stored form.

A finished span that may hold messages is also read whole here, once, for the words a search
finds it by (``semantics.span_search_text``), so the writer indexes them in the transaction
that makes the span durable. Read back from the store when the writer was idle, the same text
cost the server twice the CPU (the row, its protobuf decoded again, a queue's writes) and came
9 s after the last acknowledgement of a 100k-span load (``bench ingest``). The span's bytes
are compressed here too (``records_codec.pack``): compressed later, when the writer was idle
(``store.compaction``), each span was written twice, and that cost the server more CPU than the
compression itself.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from lumos_studio.otlp.proto_codec import (
    SpanHeader,
    decode_span,
    event_names,
    peek_attributes,
    read_scopes,
)
from lumos_studio.records import SpanRecord
from lumos_studio.records_codec import column_value, pack, resource_json
from lumos_studio.semantics.hot import hot_fields
from lumos_studio.semantics.search import PLAIN_TEXT_KEYS, plain_search_text, span_search_text
from lumos_studio.store.pending import PendingRows, replaces
from lumos_studio.store.trace_index import encoded_span_may_hold_messages

__all__ = ["decode_trace_rows", "search_text"]

log = logging.getLogger(__name__)

def decode_trace_rows(body: bytes, rejected: list[str] | None = None) -> PendingRows:
    """The rows of an ``ExportTraceServiceRequest`` body, ready for ``StoreWriter.commit_rows``,
    with the search text of the spans to index (``TraceFacts.texts``).

    Raises and rejects as ``decode_trace_request_proto`` does.
    """
    pending = PendingRows()
    spans = pending.spans
    facts = pending.facts
    to_index = facts.to_index
    texts = facts.texts
    for resource, scope_name, scope_version, read, scope_rest in read_scopes(body, rejected):
        resource_text = resource_json(resource)
        # The span's own links, flags... stay in its bytes; its scope's part goes to ``extra``.
        extra = column_value(scope_rest) if scope_rest else None
        service = column_value(resource.get("service.name"))
        for otlp, header, hot, _, slim in read:
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
                    text = search_text(otlp, slim, header, resource, scope_name,
                                       scope_version, scope_rest)
                    if text is not None:
                        texts[key] = text
                    else:  # the writer's queue reads it again, and says what failed
                        texts.pop(key, None)
            spans[key] = (
                *header, operation, agent, model, tool, input_tokens, output_tokens, service,
                scope_name, scope_version, resource_text, extra, pack(otlp),
            )
    return pending


def search_text(
    otlp: bytes, slim: Any, header: SpanHeader, resource: dict[str, Any], scope_name: str,
    scope_version: str, scope_rest: dict[str, Any],
) -> str | None:
    """The words a search finds an encoded span by, as the trace index makes them from its
    record (without log records); None if the span cannot be read so.

    A span in plain GenAI attributes (most) has only the few values its text is made of decoded
    (``semantics.plain_search_text``): decoding it whole cost as much as making the text.
    """
    try:
        trace_id, span_id, parent, name, kind, start_ns, end_ns, code, message = header
        keys, some = peek_attributes(slim, PLAIN_TEXT_KEYS)
        record = SpanRecord(
            trace_id, span_id, parent, name, start_ns, end_ns, kind, code, message, some,
            event_names(slim), resource, scope_name, scope_version,
        )
        if scope_rest:
            record = replace(record, **scope_rest)
        text = plain_search_text(record, keys)
        if text is not None:
            return text
        attributes, events, rest = decode_span(otlp)
        record = replace(record, attributes=attributes, events=events, **rest)
        return span_search_text(record)
    except Exception:
        log.debug("could not make a span's search text as it came", exc_info=True)
        return None
