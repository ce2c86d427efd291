"""One stored form for a span from every path in, and stores of the two older forms migrated."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from lumos_studio import span_compression
from lumos_studio.otlp import decode_trace_request
from lumos_studio.otlp.json_encode import encode_trace_request
from lumos_studio.otlp.proto_codec import decode_trace_request_proto
from lumos_studio.otlp.proto_encode import encode_span, encode_trace_request_proto
from lumos_studio.records import SpanEvent, SpanLink, SpanRecord
from lumos_studio.records_codec import SPAN_COLUMNS, pack, span_row, unpack
from lumos_studio.span_compression import ZSTD_MAGIC
from lumos_studio.store import Store, StoreWriter, compaction
from lumos_studio.store.compaction import compact_pending
from lumos_studio.store.schema import SCHEMA_VERSION, ensure_schema
from tests.builders import weather_trace


def full_span() -> SpanRecord:
    """A span with everything OTLP can say of it."""
    _, chat, _, _ = weather_trace()
    return replace(
        chat,
        attributes={**chat.attributes, "blob": b"\x00\xff", "ratio": math.inf,
                    "nested": {"a": [1]}},
        events=(SpanEvent("gen_ai.choice", chat.start_ns + 1, {"index": 0}, 2),),
        links=(SpanLink("1" * 32, "2" * 16, "k=v", {"why": "caused by"}, 0x301, 1),),
        trace_state="vendor=1",
        flags=0x301,
        dropped_attributes_count=3,
        dropped_events_count=4,
        dropped_links_count=5,
        scope_attributes={"scope.kind": "test"},
        resource_schema_url="https://opentelemetry.io/schemas/1.30.0",
        scope_schema_url="https://opentelemetry.io/schemas/1.31.0",
    )


def paths_in(record: SpanRecord) -> dict[str, SpanRecord]:
    """The record as each path into the store hands it over."""
    [from_proto] = decode_trace_request_proto(encode_trace_request_proto([record]))
    [from_json] = decode_trace_request(encode_trace_request([record]))
    return {"in-process": record, "protobuf": from_proto, "json": from_json}


def test_every_path_in_stores_a_span_the_same_way() -> None:
    rows = {path: span_row(record) for path, record in paths_in(full_span()).items()}
    span = SPAN_COLUMNS.index("span")
    stored = {path: unpack(row[span]) for path, row in rows.items()}
    assert len(set(stored.values())) == 1  # the same OTLP bytes, whichever path
    assert {row[:span] for row in rows.values()} == {rows["in-process"][:span]}


def test_stored_spans_are_compressed_when_the_writer_is_idle(tmp_path: Path) -> None:
    spans = [replace(s, trace_id=f"{n + 1:032x}") for n in range(3) for s in weather_trace()]
    writer = StoreWriter(tmp_path / "s.db")  # not started: each step is ours to call
    try:
        assert writer._write(spans[:8])
        connection = writer._connection

        def sizes() -> list[int]:
            return [r[0] for r in connection.execute(
                "SELECT length(span) FROM spans ORDER BY rowid")]

        as_written = sizes()
        assert compact_pending(connection, 5) == 5
        assert writer._write(spans[8:])  # written meanwhile: looked at in the next step
        while writer._compaction_pending:  # what the idle writer does, step after step
            writer._compact()
        stored = connection.execute("SELECT span FROM spans").fetchall()
        assert sum(sizes()) < sum(len(unpack(s[0])) for s in stored) and len(as_written) == 8
        assert all(s[0][:4] == b"\x28\xb5\x2f\xfd" for s in stored if len(unpack(s[0])) > 300)
    finally:
        writer.close()
    with Store(tmp_path / "s.db") as store:  # and read back as they were
        assert store.reader.trace_spans(spans[0].trace_id) == spans[:4]


def test_compaction_passes_over_the_spans_the_writer_compressed_without_reading_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer compresses each batch once the store has its dictionary; compaction then
    compresses only those stored before it, and walks the others' rowids in SQL: a step of 50
    spans covers a window of 400 rowids where nothing is left to compress."""
    monkeypatch.setattr(compaction, "ROWIDS_PER_STEP", 400)
    spans = [replace(s, trace_id=f"{n + 1:032x}") for n in range(750) for s in weather_trace()]
    writer = StoreWriter(tmp_path / "s.db")  # not started: each step is ours to call
    try:
        for start in range(0, len(spans), 250):
            assert writer._write(spans[start:start + 250])
        connection = writer._connection

        def raw() -> list[bytes]:
            return [span for (span,) in connection.execute(
                "SELECT span FROM spans WHERE substr(span, 1, 4) IS NOT ?", (ZSTD_MAGIC,))]

        as_written = len(raw())
        assert 0 < as_written <= 1_250 < len(spans)  # the writer compressed the rest
        steps = 0
        with connection:
            connection.execute("BEGIN")
            while compact_pending(connection, 50) == 50:
                steps += 1
            dict_id = compaction.store_dictionary(connection)
        left = raw()  # only spans too small to gain from a frame
        assert dict_id is not None and len(left) < as_written
        assert all(span_compression.pack(span, dict_id) is span for span in left)
        # One step a 50 of those stored as they came, one a window of the others' rowids.
        assert steps <= math.ceil(as_written / 50) + math.ceil(len(spans) / 400) + 1
        assert steps < len(spans) // 50
    finally:
        writer.close()


def test_nothing_of_a_span_is_lost_on_the_way_through_the_store(tmp_path: Path) -> None:
    record = full_span()
    with Store(tmp_path / "s.db") as store:
        for number, (path, copy) in enumerate(paths_in(record).items()):
            trace_id = f"{number + 1:032x}"
            store.writer.commit([replace(copy, trace_id=trace_id)])
            [read] = store.reader.trace_spans(trace_id)
            assert read == replace(record, trace_id=trace_id), path
            assert read.attributes["blob"] == b"\x00\xff"  # bytes stay bytes


def test_a_damaged_stored_span_reads_as_what_is_readable() -> None:
    assert unpack(b"\x28\xb5\x2f\xfd not zstd") == b"\x28\xb5\x2f\xfd not zstd"
    small = encode_span(replace(weather_trace()[0], attributes={}))
    assert pack(small) == small  # too small to gain from compression


@pytest.mark.parametrize("came_as", ["json", "protobuf"])
def test_a_schema_7_store_is_rewritten_in_the_one_form(tmp_path: Path, came_as: str) -> None:
    """Before schema 8, JSON and in-process spans were JSON text (links in ``extra``, flags in
    their column), protobuf spans their OTLP bytes in ``attributes``."""
    record = replace(full_span(), attributes={
        k: v for k, v in full_span().attributes.items() if k not in ("blob", "ratio")})
    path = tmp_path / "v7.db"
    connection = sqlite3.connect(path, isolation_level=None)
    from lumos_studio.store import schema

    real = schema.MIGRATIONS
    schema.MIGRATIONS = real[:7]
    try:
        ensure_schema(connection)
    finally:
        schema.MIGRATIONS = real
    head = span_row(record)[: SPAN_COLUMNS.index("resource")]
    resource = orjson.dumps(record.resource).decode()
    scope = {"scope_attributes": record.scope_attributes,
             "scope_schema_url": record.scope_schema_url,
             "resource_schema_url": record.resource_schema_url}
    if came_as == "json":
        link = record.links[0]
        extra = {**scope, "trace_state": record.trace_state, "dropped_attributes_count": 3,
                 "dropped_events_count": 4, "dropped_links_count": 5,
                 "links": [[link.trace_id, link.span_id, link.trace_state, link.attributes,
                            link.flags, link.dropped_attributes_count]]}
        events = [[e.name, e.time_ns, e.attributes, e.dropped_attributes_count]
                  for e in record.events]
        columns = (orjson.dumps(record.attributes).decode(), orjson.dumps(events).decode(),
                   resource, orjson.dumps(extra).decode(), record.flags)
    else:
        columns = (encode_span(record), None, resource, orjson.dumps(scope).decode(), None)
    connection.execute(
        f"INSERT INTO spans VALUES ({', '.join('?' * (len(head) + len(columns)))})",
        (*head, *columns),
    )
    connection.close()

    with Store(path) as store:
        [read] = store.reader.trace_spans(record.trace_id)
        assert read == record
    columns_now = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(spans)")]
    assert tuple(columns_now) == SPAN_COLUMNS
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
