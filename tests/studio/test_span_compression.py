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
from lumos_studio.records_codec import span_row
from lumos_studio.store import StoreReader, StoreWriter, compaction, write_packing
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    monkeypatch.setattr(write_packing, "LOOK_EVERY_SPANS", 10**9)  # the writer never looks
    writer = StoreWriter(path)
    try:
        assert writer._write(traces(300))
        compact_all(writer)
        assert writer._write(weather_trace(trace_id="f" * 32))  # stored as it came
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


def test_the_writer_compresses_spans_as_it_stores_them_once_the_store_has_a_dictionary(
    tmp_path: Path,
) -> None:
    """The first spans go as they came (nothing to train on yet); once a look finds enough,
    the dictionary is trained and every span after is stored compressed with it, before any
    idle-time compaction, and read back whole."""
    path = tmp_path / "s.db"
    first, later = traces(300), traces(310)[1_200:]  # 1,200 spans, then ten more turns
    writer = StoreWriter(path)  # not started: no idle compaction runs
    try:
        assert writer._write(first)
        assert writer._write(later)
    finally:
        writer.close()
    rows = {(trace, span): stored_bytes for trace, span, stored_bytes in stored(path)}
    assert all(rows[s.trace_id, s.span_id][:4] != span_compression.ZSTD_MAGIC for s in first)
    (dict_id,) = [row[0] for row in stored_dictionaries(path)]
    for span in later:
        frame = rows[span.trace_id, span.span_id]
        assert span_compression.zstd.get_frame_info(frame).dictionary_id == dict_id
    reader = StoreReader(path)
    try:
        for expected in later[::7]:
            (got,) = [s for s in reader.trace_spans(expected.trace_id)
                      if s.span_id == expected.span_id]
            assert got.attributes == expected.attributes and got.events == expected.events
    finally:
        reader.close()


def test_a_failed_look_for_the_dictionary_stores_the_batch_as_it_came(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = iter([sqlite3.OperationalError("database is locked"), MemoryError()])

    def failing(connection: sqlite3.Connection) -> int | None:
        raise next(failures)

    path = tmp_path / "s.db"
    monkeypatch.setattr(write_packing, "LOOK_EVERY_SPANS", 4)  # a look at every trace
    writer = StoreWriter(path)
    try:
        assert writer._write(traces(300))
        monkeypatch.setattr(write_packing, "store_dictionary", failing)
        assert writer._write(weather_trace(trace_id="e" * 32))  # written all the same
        assert writer._write(weather_trace(trace_id="d" * 32))  # and so on any failure
    finally:
        writer.close()
    rows = {trace: span for trace, _, span in stored(path)}
    assert rows["e" * 32][:4] != span_compression.ZSTD_MAGIC
    assert rows["d" * 32][:4] != span_compression.ZSTD_MAGIC
    assert stored_dictionaries(path) == []


def test_a_batch_that_cannot_be_compressed_is_stored_as_it_came(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(spans: list[bytes], dict_id: int) -> list[bytes]:
        raise span_compression.zstandard.ZstdError("no memory for a context")

    path = tmp_path / "s.db"
    writer = StoreWriter(path)
    try:
        assert writer._write(traces(300))
        monkeypatch.setattr(write_packing, "pack_many", failing)
        assert writer._write(weather_trace(trace_id="c" * 32))  # stored all the same
        monkeypatch.undo()
        assert writer._write(weather_trace(trace_id="b" * 32))  # compressed again
    finally:
        writer.close()
    rows = {trace: span for trace, _, span in stored(path)}
    assert rows["c" * 32][:4] != span_compression.ZSTD_MAGIC
    assert rows["b" * 32][:4] == span_compression.ZSTD_MAGIC


def test_a_batch_is_packed_as_each_span_alone_would_be() -> None:
    spans = [span_row(s)[-1] for s in traces(300)]
    content = span_compression.train(spans)
    dict_id = span_compression.dictionary_id(content)
    span_compression.add_dictionaries([(dict_id, content)])
    tiny, already = b"\x0a\x10" + b"1" * 16, span_compression.pack(spans[0], dict_id)
    batch = [*spans[:50], tiny, already]
    packed = span_compression.pack_many(batch, dict_id)
    assert [span_compression.unpack(p) for p in packed[:50]] == spans[:50]
    assert [len(p) for p in packed[:50]] == [len(span_compression.pack(s, dict_id))
                                             for s in spans[:50]]
    assert packed[50] is tiny and packed[51] is already  # left as ``pack`` leaves them
    assert span_compression.pack_many(spans[:3], dict_id + 1) == spans[:3]  # not known
