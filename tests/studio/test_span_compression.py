"""Stored spans are compressed with a dictionary trained on the store's own spans, and read back
whole by any reader of the store, one opened before the dictionary existed included; a
dictionary that is missing or damaged never takes more than its own spans with it."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from lumos_studio import span_compression
from lumos_studio.records import SpanRecord
from lumos_studio.store import StoreReader, StoreWriter, compaction
from tests.builders import weather_trace

SYSTEM = "You are a travel agent. Answer briefly, cite the weather service, never guess. " * 8


def traces(count: int) -> list[SpanRecord]:
    """``count`` weather turns of four spans, each chat repeating a long system prompt."""
    spans: list[SpanRecord] = []
    for number in range(count):
        for span in weather_trace(trace_id=f"{number + 1:032x}"):
            attributes = dict(span.attributes)
            attributes["gen_ai.system_instructions"] = SYSTEM + f" Turn {number}."
            spans.append(replace(span, attributes=attributes))
    return spans


def compact_all(writer: StoreWriter) -> None:
    writer._compaction_pending = True
    while writer._compaction_pending:
        writer._compact()


def stored(path: Path) -> list[tuple[str, str, bytes]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT trace_id, span_id, span FROM spans").fetchall()
    finally:
        connection.close()


def stored_dictionaries(path: Path) -> list[tuple[int, bytes]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT id, dict FROM span_dicts").fetchall()
    finally:
        connection.close()


@pytest.fixture(autouse=True)
def forget_dictionaries() -> None:
    """Each test starts as a fresh process would: no dictionary known."""
    span_compression._dictionaries.clear()
    span_compression._sources.clear()
    span_compression._missing.clear()


def test_a_store_trains_its_dictionary_and_reads_every_span_back(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    spans = traces(300)  # 1,200 spans: enough to train on
    reader: StoreReader | None = None
    writer = StoreWriter(path)  # not started: each step is ours to call
    try:
        assert writer._write(spans)
        reader = StoreReader(path)  # opened before the store has a dictionary
        before = sum(len(span) for _, _, span in stored(path))
        compact_all(writer)
    finally:
        writer.close()
    rows = stored(path)
    dict_ids = {span_compression.zstd.get_frame_info(span).dictionary_id for _, _, span in rows}
    (dict_id,) = dict_ids - {0}
    assert sqlite3.connect(path).execute("SELECT id FROM span_dicts").fetchall() == [(dict_id,)]
    assert sum(len(span) for _, _, span in rows) < before / 4  # the prompt is said once, there
    span_compression._dictionaries.clear()  # as in another process: read through the store
    assert reader is not None
    try:
        for expected in spans[:: 97]:
            (got,) = [s for s in reader.trace_spans(expected.trace_id)
                      if s.span_id == expected.span_id]
            assert got.attributes == expected.attributes
            assert got.events == expected.events
    finally:
        reader.close()


def test_without_its_dictionary_only_the_spans_compressed_with_it_are_unreadable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    writer = StoreWriter(path)
    try:
        assert writer._write(traces(300))
        compact_all(writer)
        assert writer._write(weather_trace(trace_id="f" * 32))  # not compressed yet
    finally:
        writer.close()
    connection = sqlite3.connect(path)
    connection.execute("UPDATE span_dicts SET dict = x'00ff'")  # damaged on disk
    connection.commit()
    connection.close()
    span_compression._dictionaries.clear()
    span_compression._sources.clear()
    reader = StoreReader(path)
    asked: list[int] = []

    def counted() -> list[tuple[int, bytes]]:  # the store's dictionaries, each time asked
        asked.append(1)
        return stored_dictionaries(path)

    span_compression.add_source("counted", counted)
    try:
        (unreadable, *others) = reader.trace_spans(f"{1:032x}")
        assert "<invalid OTLP span" in str(unreadable.attributes)
        assert all("<invalid OTLP span" in str(s.attributes) for s in others)
        assert len(asked) == 1  # the store was asked once for the trace's four spans
        fresh = reader.trace_spans("f" * 32)
        assert {s.name for s in fresh} == {s.name for s in weather_trace()}
        assert all("<invalid OTLP span" not in str(s.attributes) for s in fresh)
    finally:
        reader.close()


def test_too_few_spans_are_compressed_without_a_dictionary_and_training_waits(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    writer = StoreWriter(path)
    try:
        assert writer._write(traces(10))
        compact_all(writer)
        connection = writer._connection
        assert connection.execute("SELECT count(*) FROM span_dicts").fetchone()[0] == 0
        assert compaction.store_dictionary(connection) is None
    finally:
        writer.close()
    for _, _, span in stored(path):
        if span[:4] == span_compression.ZSTD_MAGIC:
            assert span_compression.zstd.get_frame_info(span).dictionary_id == 0


def test_a_failed_training_is_tried_again_only_after_many_more_spans(tmp_path: Path) -> None:
    writer = StoreWriter(tmp_path / "s.db")
    try:
        connection = writer._connection
        assert writer._write([replace(weather_trace()[1], span_id=f"{n + 1:016x}")
                              for n in range(compaction.MIN_TRAINING_SPANS)])
        with connection:  # spans with nothing to train on (a store on disk is untrusted)
            connection.execute("BEGIN")
            connection.execute("UPDATE spans SET span = x''")
            assert compaction.store_dictionary(connection) is None
            tried = connection.execute("SELECT dict_tried_at FROM compaction").fetchone()[0]
        assert tried == compaction.MIN_TRAINING_SPANS  # the newest span's rowid
        assert writer._write(weather_trace(trace_id="e" * 32))  # a few more: not tried again
        with connection:
            connection.execute("BEGIN")
            assert compaction.store_dictionary(connection) is None
            assert connection.execute(
                "SELECT dict_tried_at FROM compaction").fetchone()[0] == tried
    finally:
        writer.close()
