"""Opening saved traces for replay: round trips, foreign OTLP/JSON, broken files, stores."""

from __future__ import annotations

import gzip
import itertools
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlite_utils

from lumos_core import Agent, ScriptedModel
from lumos_core.memory import Memory
from lumos_core.telemetry import semconv as sc
from lumos_studio.demo.agents import get_weather
from lumos_studio.ingest import studio_logger_provider, studio_tracer_provider
from lumos_studio.replay.line_load import CHUNK_RECORDS
from lumos_studio.replay.loader import LoadProgress, ReplayError, load_trace
from lumos_studio.replay.save import save_traces
from lumos_studio.replay.timeline import memory_at
from lumos_studio.store import Store, TraceQuery
from lumos_studio.store.schema_migrations import MIGRATIONS
from lumos_studio.store.trace_filter import parse_filter
from tests.builders import weather_trace

TRACE = "5b8efff798038103d269b633813fc60c"


def otlp_line(*spans: dict[str, Any], resource: dict[str, Any] | None = None) -> bytes:
    request = {"resourceSpans": [{"resource": resource or {},
                                  "scopeSpans": [{"scope": {"name": "x"}, "spans": list(spans)}]}]}
    return orjson.dumps(request) + b"\n"


def span_json(span_id: str, **fields: Any) -> dict[str, Any]:
    return {"traceId": TRACE, "spanId": span_id, "name": f"span {span_id}",
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000",
            **fields}


def run_and_save(tmp_path: Path) -> tuple[Store, Path]:
    """Two real turns (a tool call; a working-memory update that emits lumos.memory logs)."""
    store = Store(tmp_path / "source.db")
    tracer_provider = studio_tracer_provider(store.writer)
    logger_provider = studio_logger_provider(store.writer)
    weather = Agent("weather", "Use get_weather.", ScriptedModel(), [get_weather])
    notes = Agent("notes", "Remember things.", memory=Memory(tmp_path / "memory.db"),
                  model=ScriptedModel([ScriptedModel.call("update_working_memory",
                                                          memory="- Name: Ada"), "Noted."]))
    weather.run_sync("weather in Paris?", tracer_provider=tracer_provider)
    notes.run_sync("my name is Ada", thread_id="t1", tracer_provider=tracer_provider,
                   logger_provider=logger_provider)
    tracer_provider.force_flush()
    logger_provider.force_flush()
    store.writer.flush()
    path = tmp_path / "saved.jsonl"
    save_traces(store.reader, store.reader.trace_ids(), path)
    return store, path


def test_run_export_load_gives_the_identical_spans_attributes_and_logs(tmp_path: Path) -> None:
    store, path = run_and_save(tmp_path)
    try:
        with load_trace(path) as loaded:
            assert loaded.problems == []
            assert loaded.trace_ids == store.reader.trace_ids()
            for trace_id in loaded.trace_ids:
                assert loaded.reader.trace_spans(trace_id) == store.reader.trace_spans(trace_id)
                assert loaded.reader.logs(trace_id=trace_id) == store.reader.logs(
                    trace_id=trace_id)
            memory_logs = [log for log in loaded.reader.logs()
                           if log.event_name.startswith(sc.EVENT_MEMORY_PREFIX)]
            assert memory_logs and loaded.logs == len(loaded.reader.logs())
            for log in memory_logs:  # the memory as it was at every change, identical
                assert memory_at(loaded.reader.logs(), log.time_ns) == memory_at(
                    store.reader.logs(), log.time_ns)
            final = memory_at(memory_logs, memory_logs[-1].time_ns)
            assert final.working_memory_of("t1") == "- Name: Ada\n"
            assert loaded.spans == sum(len(loaded.reader.trace_spans(t))
                                       for t in loaded.trace_ids)
    finally:
        store.close()


def test_a_file_loads_into_a_temporary_store_that_close_removes(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(otlp_line(span_json("00000000000000a1")))
    loaded = load_trace(path)
    assert loaded.store is not None and not loaded.read_only
    temp_db = loaded.store.path
    assert temp_db.exists() and tmp_path not in temp_db.parents
    loaded.close()
    assert not temp_db.parent.exists()


def test_foreign_otlp_json_edge_cases(tmp_path: Path) -> None:
    upper = span_json(
        "00000000000000A1", traceId=TRACE.upper(), kind=3, unknownField={"x": 1},
        droppedAttributesCount=0, flags=257,
        attributes=[
            {"key": "n", "value": {"intValue": "9007199254740993"}},
            {"key": "m", "value": {"intValue": 12}},
            {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "a"},
                                                                {"intValue": "2"}]}}},
            {"key": "map", "value": {"kvlistValue": {"values": [
                {"key": "k", "value": {"boolValue": True}},
                {"key": "nested", "value": {"arrayValue": {}}}]}}},
            {"key": "empty", "value": {}},
        ],
        status={"code": "STATUS_CODE_ERROR", "message": "boom"},
    )
    minimal = {"traceId": TRACE.lower(), "spanId": "00000000000000a2",
               "parentSpanId": "00000000000000a1", "name": "child",
               "startTimeUnixNano": 1700000000050000000}  # no end, no status, no attributes
    snake = {"trace_id": TRACE, "span_id": "00000000000000a3", "name": "snake",
             "start_time_unix_nano": "1700000000060000000",
             "end_time_unix_nano": "1700000000070000000"}
    lines = otlp_line(upper, minimal, snake, resource={"attributes": [
        {"key": "service.name", "value": {"stringValue": "foreign"}}]})
    lines += b'{"resourceMetrics": []}\n{"futureTopLevelKey": 1, "resourceSpans": []}\n'
    path = tmp_path / "collector.json"
    path.write_bytes(lines)
    with load_trace(path) as loaded:
        assert loaded.problems == []
        spans = {s.span_id: s for s in loaded.reader.trace_spans(TRACE)}
    root, child, snake_span = spans["00000000000000a1"], spans["00000000000000a2"], spans[
        "00000000000000a3"]
    assert root.kind == "CLIENT" and root.status_code == "ERROR" and root.status_message == "boom"
    assert root.attributes == {"n": 9007199254740993, "m": 12, "list": ["a", 2],
                               "map": {"k": True, "nested": []}, "empty": None}
    assert root.resource == {"service.name": "foreign"}
    assert child.parent_span_id == root.span_id and child.running and child.attributes == {}
    assert snake_span.duration_ns == 10_000_000


def test_a_corrupt_line_in_the_middle_is_reported_and_the_rest_loads(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_bytes(otlp_line(span_json("00000000000000a1"))
                     + b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"\n'
                     + otlp_line(span_json("00000000000000a2", traceId="nothex"))
                     + otlp_line(span_json("00000000000000a3")))
    with load_trace(path) as loaded:
        assert [s.span_id for s in loaded.reader.trace_spans(TRACE)] == [
            "00000000000000a1", "00000000000000a3"]
        assert [(p.line, p.path) for p in loaded.problems] == [(2, path), (3, path)]
        assert str(loaded.problems[0]).startswith(f"{path}:2: invalid JSON")
        assert "traceId" in str(loaded.problems[1])


def test_gzip_loads_and_a_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    body = b"".join(otlp_line(span_json(f"00000000000000{i:02x}")) for i in range(1, 200))
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(gzip.compress(body))
    with load_trace(path) as loaded:
        assert loaded.spans == 199 and loaded.problems == []
    compressed = gzip.compress(body)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(compressed[: len(compressed) // 2])
    with load_trace(cut) as loaded:
        (problem,) = loaded.problems
        assert 0 < loaded.spans < 199 and problem.line == loaded.spans + 1
        assert problem.message.startswith("the file is cut short: its gzip stream ends early")


def test_a_gzip_cut_before_its_first_line_is_cut_short_not_empty(tmp_path: Path) -> None:
    cut = tmp_path / "cut.jsonl.gz"
    saved = Path(__file__).parents[2] / "traces" / "weather-v1.jsonl"
    cut.write_bytes(gzip.compress(saved.read_bytes())[:300])
    with load_trace(cut) as loaded:
        assert [p.message for p in loaded.problems] == [
            "the file is cut short: its gzip stream ends early (a copy or download stopped?)",
            "nothing could be read before that"]


@pytest.mark.parametrize(("content", "says"), [
    (b"", "the file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "is this an OTLP JSON lines file?"),
    (b'{"resourceSpans": []}\n', "no spans or log records"),
])
def test_empty_or_foreign_files_say_so_without_raising(
    tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(content)
    with load_trace(path) as loaded:
        assert loaded.spans == 0 and says in loaded.problems[-1].message


def test_a_missing_file_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match=r"cannot open .*nope\.jsonl"):
        load_trace(tmp_path / "nope.jsonl")


def test_progress_reports_records_and_bytes_until_done(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"".join(otlp_line(span_json(f"{i:016x}")) for i in range(1, 51)))
    seen: list[LoadProgress] = []
    with load_trace(path, on_progress=seen.append, progress_interval=0):
        pass
    assert len(seen) == 51 and seen[-1].done and seen[-1].fraction == 1.0
    assert [p.records for p in seen[:-1]] == list(range(1, 51))
    assert all(a.bytes_read <= b.bytes_read for a, b in itertools.pairwise(seen))
    assert seen[-1].total_bytes == path.stat().st_size


def test_a_stopped_load_keeps_what_it_read(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"".join(otlp_line(span_json(f"{i:016x}")) for i in range(1, 51)))
    with load_trace(path, first=1) as loaded:
        assert loaded._lines is not None
        loaded._lines.stop()  # as ``close`` does from the app's thread
        loaded.finish()
        assert not loaded.loading and loaded.spans == 1
        assert loaded.problems[-1].message == "loading was stopped"


def test_a_file_of_many_chunks_loads_whole_and_its_messages_are_searchable(
        tmp_path: Path) -> None:
    lines = 30
    per_line = CHUNK_RECORDS // 10  # three chunks and a part
    message = orjson.dumps([{"role": "user", "parts": [{"type": "text", "content": "zanzibar"}]}])
    path = tmp_path / "many.jsonl"
    path.write_bytes(b"".join(
        otlp_line(*(span_json(f"{line * per_line + i + 1:016x}", attributes=[
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.input.messages", "value": {"stringValue": message.decode()}},
        ] if line == lines - 1 and i == 0 else []) for i in range(per_line)))
        for line in range(lines)))
    with load_trace(path) as loaded:
        assert (loaded.spans, loaded.problems) == (lines * per_line, [])
        assert len(loaded.reader.trace_spans(TRACE)) == lines * per_line
        page = loaded.reader.find_traces(TraceQuery(parse_filter("zanzibar")))
        assert [summary.trace_id for summary in page.summaries] == [TRACE]


def test_records_the_temporary_store_does_not_take_are_a_problem_not_a_silence(
        tmp_path: Path) -> None:
    from lumos_studio.replay.line_load import _Chunk

    store = Store(tmp_path / "closed.db")
    store.writer.close()  # a writer that takes nothing more
    chunk = _Chunk(store)
    chunk.add([], [])
    assert chunk.commit()  # nothing read: nothing to lose
    chunk.add(weather_trace(), [])
    assert not chunk.commit()
    assert chunk.failure.startswith(f"the temporary store did not take {len(weather_trace())} ")
    assert (chunk.spans, chunk.logs) == (0, 0)
    store.close()


def test_a_studio_db_is_read_in_place_read_only(store: Store) -> None:
    store.writer.submit_many(weather_trace())
    store.writer.flush()
    before = store.path.read_bytes()
    with load_trace(store.path) as loaded:
        assert loaded.read_only and loaded.store is None
        assert len(loaded.reader.trace_spans(loaded.trace_ids[0])) == 4
        assert loaded.spans == 4
    assert store.path.read_bytes() == before


def test_a_db_from_a_newer_studio_or_not_a_store_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as connection:
        connection.execute("CREATE TABLE spans (x)")
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(ReplayError, match="newer Lumos Studio"):
        load_trace(newer)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    with pytest.raises(ReplayError, match="not a Lumos Studio store"):
        load_trace(other)


def test_a_db_of_an_older_schema_is_read_through_a_migrated_copy(tmp_path: Path) -> None:
    old = tmp_path / "v1.db"
    with sqlite3.connect(old) as connection:
        MIGRATIONS[0](sqlite_utils.Database(connection))  # what the first studio wrote
        connection.execute("PRAGMA user_version = 1")
        connection.execute(
            "INSERT INTO spans (trace_id, span_id, name, kind, start_ns, end_ns, status_code, "
            "attributes, resource) VALUES (?, 'b7ad6b7169203331', 'invoke_agent old', "
            "'INTERNAL', 5, 9, 'OK', '{\"gen_ai.agent.name\": \"old\"}', '{}')", (TRACE,))
        connection.execute("INSERT INTO traces (trace_id, root_name, start_ns, end_ns, "
                           "span_count) VALUES (?, 'invoke_agent old', 5, 9, 1)", (TRACE,))
    connection.close()
    before = old.read_bytes()
    with load_trace(old) as loaded:
        assert not loaded.read_only and loaded.store is not None
        assert loaded.store.path != old
        (span,) = loaded.reader.trace_spans(TRACE)
        assert span.name == "invoke_agent old" and span.attributes == {"gen_ai.agent.name": "old"}
        assert loaded.reader.logs() == []
    assert old.read_bytes() == before


def test_saving_compressed_and_loading_back(store: Store, tmp_path: Path) -> None:
    store.writer.submit_many(weather_trace())
    store.writer.flush()
    saved = save_traces(store.reader, store.reader.trace_ids() * 2, tmp_path / "out" / "w.jsonl.gz")
    assert (saved.traces, saved.spans, saved.logs) == (1, 4, 0)
    assert saved.path.read_bytes()[:2] == b"\x1f\x8b" and not list(saved.path.parent.glob("*.part"))
    with load_trace(saved.path) as loaded:
        assert loaded.reader.trace_spans(loaded.trace_ids[0]) == store.reader.trace_spans(
            loaded.trace_ids[0])


def test_a_save_tells_its_progress_reading_then_writing(store: Store, tmp_path: Path) -> None:
    from lumos_studio.replay.save import SaveProgress

    traces = [weather_trace(trace_id=f"{n + 1:032x}") for n in range(300)]  # 1,200 spans
    store.writer.submit_many([span for trace in traces for span in trace])
    store.writer.flush()
    heard: list[SaveProgress] = []
    saved = save_traces(store.reader, store.reader.trace_ids(), tmp_path / "all.jsonl",
                        on_progress=heard.append)
    reading = [step.spans for step in heard if not step.writing]
    writing = [step.spans for step in heard if step.writing]
    assert len(reading) == 300 and reading == sorted(reading) and reading[-1] == 1_200
    assert writing == [1_000, 1_200]  # a line of 1,000 spans, then the rest
    assert {step.total for step in heard} == {saved.spans} == {1_200}
    assert heard.index(next(s for s in heard if s.writing)) == 300  # all read before writing


def test_a_file_read_first_in_part_is_whole_once_finished(tmp_path: Path) -> None:
    """``replay`` reads a file's start before its first frame and the rest after: the counts
    and the problems say how much is in, and cover the whole file once it is read."""
    path = tmp_path / "parts.jsonl"
    path.write_bytes(b"".join(otlp_line(span_json(f"{i:016x}")) for i in range(1, 21))
                     + b"{broken\n" + otlp_line(span_json(f"{99:016x}")))
    seen: list[LoadProgress] = []
    with load_trace(path, first=5) as loaded:
        assert loaded.loading and (loaded.spans, loaded.problems) == (5, [])
        assert len(loaded.reader.trace_spans(TRACE)) == 5  # queryable at once
        loaded.finish(on_progress=seen.append, progress_interval=0)
        assert not loaded.loading and loaded.spans == 21
        assert [(p.line, p.message[:12]) for p in loaded.problems] == [(21, "invalid JSON")]
        assert len(loaded.reader.trace_spans(TRACE)) == 21
        assert seen[0].records == 6 and seen[-1].done  # counted on from the first part
        loaded.finish()  # read: nothing more happens
        assert loaded.spans == 21


def test_a_file_whose_start_holds_nothing_valid_is_read_to_its_end_at_once(
        tmp_path: Path) -> None:
    """So ``replay`` can say in the shell that there is nothing to replay."""
    path = tmp_path / "junk.jsonl"
    path.write_bytes(b"{broken\n" * 30)
    with load_trace(path, first=5) as loaded:
        assert not loaded.loading and (loaded.spans, loaded.logs) == (0, 0)
        assert loaded.problem_count == 31
        assert loaded.problems[-1].message.startswith("no valid span or log record")


def test_closing_a_file_half_read_deletes_its_store(tmp_path: Path) -> None:
    path = tmp_path / "parts.jsonl"
    path.write_bytes(b"".join(otlp_line(span_json(f"{i:016x}")) for i in range(1, 21)))
    loaded = load_trace(path, first=5)
    assert loaded.store is not None and loaded.loading
    stored = loaded.store.path
    loaded.close()
    assert not loaded.loading and not stored.exists()
    assert path.exists()  # the user's file is left alone


def test_a_failure_while_the_rest_is_read_keeps_what_was_stored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever stops the replay's worker mid-file (a bug, a record nothing expected), the
    run's start stays on screen and the reason is a problem, not a traceback."""
    from lumos_studio.replay import line_load

    path = tmp_path / "parts.jsonl"
    path.write_bytes(b"".join(otlp_line(span_json(f"{i:016x}")) for i in range(1, 21)))
    with load_trace(path, first=5) as loaded:
        def broken(self: object) -> bool:
            raise RuntimeError("something unforeseen")

        monkeypatch.setattr(line_load._Chunk, "commit", broken)
        loaded.finish()
        assert not loaded.loading and loaded.spans == 5
        assert [p.message for p in loaded.problems] == [
            "reading stopped here (RuntimeError: something unforeseen)"]
        assert len(loaded.reader.trace_spans(TRACE)) == 5
