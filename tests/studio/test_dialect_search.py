"""Every dialect's traces are found by a word of the conversation and by ``model:``, and list
their tokens (issue 14): the store's columns and the search index read spans through
``semantics`` (``semantics.hot`` at ingest, ``searchable_text`` in idle time)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumos_studio.importer import import_file
from lumos_studio.ingest.proto_rows import decode_trace_rows
from lumos_studio.otlp.files import read_records
from lumos_studio.otlp.proto_encode import encode_trace_request_proto
from lumos_studio.store import Store, TraceQuery
from lumos_studio.store.trace_filter import parse_filter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"


def found(store: Store, query: str) -> set[str]:
    page = store.reader.find_traces(TraceQuery(parse_filter(query)))
    return {summary.trace_id for summary in page.summaries}


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.jsonl")), ids=lambda p: p.stem)
def test_each_dialects_traces_are_found_and_list_their_tokens(
    store: Store, fixture: Path
) -> None:
    import_file(store, fixture)
    assert store.writer.flush()  # returns once the idle-time text index has caught up
    traces = store.reader.list_traces()
    every = {summary.trace_id for summary in traces}
    assert len(every) == 2  # the plain turn and the streamed one
    assert found(store, "Paris") == every  # the user's question, in every dialect's form
    assert found(store, "cloudy") == every  # the tool's result or the model's answer
    assert found(store, "model:gpt-4o-mini") == every
    for summary in traces:
        if fixture.stem == "azure-ai-inference" and "stream" in summary.root_name:
            continue  # the client asks no usage of a stream (fixtures' README): none to show
        assert summary.input_tokens, summary
        assert summary.output_tokens, summary


@pytest.mark.parametrize(
    "name", ["openinference-openai", "vercel-ai-sdk", "openllmetry-flattened", "pydantic-ai-v5"]
)
def test_the_same_through_the_receivers_protobuf_rows(store: Store, name: str) -> None:
    """The receiver's hot path makes rows without records: its columns come from the same
    ``semantics.hot`` reading of the encoded attributes."""
    records = read_records(FIXTURES / f"{name}.jsonl").spans
    assert store.writer.commit_rows(decode_trace_rows(encode_trace_request_proto(records)))
    assert store.writer.flush()
    traces = store.reader.list_traces()
    every = {summary.trace_id for summary in traces}
    assert len(every) == 2
    assert found(store, "Paris") == every
    assert found(store, "model:gpt-4o-mini") == every
    assert all(summary.input_tokens and summary.output_tokens for summary in traces)


def test_messages_logged_after_their_span_was_indexed_are_found(store: Store) -> None:
    """Event-form dialects send messages as log records, which may reach the receiver after
    their span was indexed: the span's text is made again then."""
    records = read_records(FIXTURES / "otel-genai-openai-v2.jsonl")
    assert store.writer.commit(records.spans)
    assert store.writer.flush()
    assert found(store, "Paris") == set()  # the span alone holds no conversation
    assert store.writer.commit(records.logs)
    assert store.writer.flush()
    assert found(store, "Paris") == {s.trace_id for s in store.reader.list_traces()}
