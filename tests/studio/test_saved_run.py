"""``compare`` reads a saved file's first run straight from the file: the same run, spans and log
records as loading the file into a store and reading its first trace back."""

from __future__ import annotations

import gzip
from dataclasses import replace
from pathlib import Path

import pytest

from lumos_studio.otlp import encode_lines
from lumos_studio.otlp.logs_codec import encode_log_lines
from lumos_studio.records import LogRecord
from lumos_studio.replay import saved_run
from lumos_studio.replay.loader import load_trace
from lumos_studio.replay.saved_run import read_saved_run
from tests.builders import T0, make_span

ROOT = Path(__file__).resolve().parents[2]
SAVED = sorted([*(ROOT / "traces").glob("*.jsonl"),
                *(ROOT / "tests" / "fixtures" / "dialects").glob("*.jsonl")])


@pytest.mark.parametrize("path", SAVED, ids=[path.stem for path in SAVED])
def test_the_run_read_from_the_file_is_the_run_the_store_reads_back(path: Path) -> None:
    run = read_saved_run(path)
    with load_trace(path) as loaded:
        ids = loaded.trace_ids
        if not ids:
            assert not run.spans
            return
        stored = loaded.reader.trace_spans(ids[0])
        stored_logs = loaded.reader.logs(trace_id=ids[0], limit=saved_run.RUN_LOGS)
    assert run.traces == len(ids)
    assert [s.span_id for s in run.spans] == [s.span_id for s in stored]
    for read, kept in zip(run.spans, stored, strict=True):
        assert (read.trace_id, read.parent_span_id, read.name, read.start_ns, read.end_ns,
                read.status_code, read.status_message) == (
            kept.trace_id, kept.parent_span_id, kept.name, kept.start_ns, kept.end_ns,
            kept.status_code, kept.status_message)
        assert dict(read.attributes) == dict(kept.attributes)
        assert [(e.name, e.time_ns, dict(e.attributes)) for e in read.events] == [
            (e.name, e.time_ns, dict(e.attributes)) for e in kept.events]
    assert [(log.time_ns, log.body) for log in run.logs] == [
        (log.time_ns, log.body) for log in stored_logs]


def test_the_first_trace_to_start_is_the_run_and_a_finished_copy_wins(tmp_path: Path) -> None:
    later = make_span("invoke_agent later", trace_id="2" * 32, span_id="2" * 16, start=T0 + 5)
    root = make_span("invoke_agent first", trace_id="1" * 32, span_id="1" * 16, start=T0 + 10,
                     duration_ms=50)
    early = make_span("chat early", trace_id="1" * 32, span_id="3" * 16, parent="1" * 16,
                      start=T0)  # the run starts with its earliest span, not its root
    started = replace(root, end_ns=None, status_code="UNSET")
    path = tmp_path / "runs.jsonl.gz"
    with gzip.open(path, "wt") as out:  # read compressed too
        out.writelines(encode_lines([later, root, early]))
        out.writelines(encode_lines([started]))  # a started copy after the finished one
    run = read_saved_run(path)
    assert run.traces == 2
    assert [(s.name, s.end_ns) for s in run.spans] == [
        ("chat early", early.end_ns), ("invoke_agent first", root.end_ns)]


def test_the_newest_logs_of_the_run_come_in_time_order_and_bad_lines_are_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saved_run, "RUN_LOGS", 3)
    span = make_span("invoke_agent a", trace_id="1" * 32, span_id="1" * 16)
    logs = [LogRecord(T0 + n, f"log {n}", 9, "INFO", "1" * 32 if n != 2 else "2" * 32,
                      "1" * 16) for n in (5, 1, 4, 2, 3)]
    path = tmp_path / "run.jsonl"
    path.write_text("".join([*encode_lines([span]), "{not json\n", *encode_log_lines(logs)]))
    seen: list[int] = []
    run = read_saved_run(path, seen.append)
    assert [log.body for log in run.logs] == ["log 3", "log 4", "log 5"]
    assert [problem.line_number for problem in run.problems] == [2]
    assert seen and seen[-1] == path.stat().st_size
