"""A trace read as headers (its columns, no span decoded) says what the decoded spans say."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from lumos_core.telemetry import semconv as sc
from lumos_studio.otlp import read_records
from lumos_studio.present import TraceTree, rich_tree
from lumos_studio.replay.timeline import instants, recording_instants, spans_at
from lumos_studio.semantics import OperationKind, read_trace
from lumos_studio.store import Store
from lumos_studio.ui.waterfall_layout import span_kind
from tests.builders import T0, make_span

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dialects"
DIALECTS = sorted(path.stem for path in FIXTURES.glob("*.jsonl"))


def printed(renderable: object, colour: bool) -> str:
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=colour, color_system="truecolor" if colour else None,
            width=100, legacy_windows=False).print(renderable)
    return buffer.getvalue()


def stored(store: Store, path: Path) -> set[str]:
    """A saved file's spans and logs written to ``store``; the ids of its traces."""
    records = read_records(path)
    store.writer.submit_many(records.spans)
    store.writer.submit_many(records.logs)
    assert store.writer.flush()
    return {span.trace_id for span in records.spans}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_headers_say_what_every_dialect_s_spans_do_as_a_full_read_does(
    store: Store, dialect: str
) -> None:
    for trace_id in stored(store, FIXTURES / f"{dialect}.jsonl"):
        spans = store.reader.trace_spans(trace_id)
        headers = store.reader.trace_headers(trace_id)
        views = read_trace(spans)
        assert [h.span_id for h in headers] == [s.span_id for s in spans]
        for header, span in zip(headers, spans, strict=True):
            assert (header.parent_span_id, header.name, header.start_ns, header.end_ns,
                    header.status_code) == (span.parent_span_id, span.name, span.start_ns,
                                            span.end_ns, span.status_code)
            assert header.kind is views[span.span_id].kind
            assert span_kind(header) == span_kind(span, views[span.span_id])
        # ``show`` prints the same tree from the headers as from the decoded spans.
        for colour in (False, True):
            assert printed(TraceTree(trace_id, headers), colour) == printed(
                rich_tree(trace_id, spans, views), colour)


def test_a_workflow_step_a_running_span_and_an_error_read_from_the_columns(store: Store) -> None:
    step = make_span("step fetch", span_id="2" * 16, parent="1" * 16, start=T0 + 1,
                     attributes={sc.LUMOS_WORKFLOW_STEP_NAME: "fetch"})
    spans = [
        make_span("invoke_workflow orders", span_id="1" * 16, duration_ms=None,
                  attributes={sc.OPERATION_NAME: sc.OP_INVOKE_WORKFLOW}),
        step,
        make_span("lookup", span_id="3" * 16, parent="2" * 16, start=T0 + 2, status="ERROR",
                  attributes={sc.TOOL_NAME: "lookup"}),
        make_span("orphan", span_id="4" * 16, parent="9" * 16, start=T0 + 3),
    ]
    store.writer.submit_many(spans)
    assert store.writer.flush()
    root, fetch, lookup, orphan = store.reader.trace_headers(step.trace_id)
    assert root.running and root.duration_ns is None and root.kind is OperationKind.WORKFLOW
    assert fetch.workflow_step and span_kind(fetch) == "workflow" == span_kind(step)
    assert lookup.failed and lookup.kind is OperationKind.TOOL
    assert orphan.parent_span_id == "9" * 16  # as stored: the tree hangs it off the root
    assert root.trace_id is fetch.trace_id  # repeated strings are kept once
    assert [h.span_id for h in store.reader.trace_headers(step.trace_id, first=2)] == [
        "1" * 16, "2" * 16]
    assert store.reader.span_count(step.trace_id) == 4
    whole = store.reader.spans_by_id(step.trace_id, ["3" * 16, "2" * 16, "0" * 16])
    assert [s.name for s in whole] == ["step fetch", "lookup"]  # by start; unknown ids skipped


def test_a_tree_printed_from_headers_shows_hostile_names_literally_and_fits_the_width(
    store: Store,
) -> None:
    spans = [make_span("[/] x \x1b[2J", status="ERROR"),
             make_span("n" * 300, span_id="c" * 16, parent="b7ad6b7169203331", start=T0 + 1)]
    store.writer.submit_many(spans)
    assert store.writer.flush()
    output = printed(TraceTree("[bold]\x1b]52;c;x\x07", store.reader.trace_headers(
        spans[0].trace_id)), colour=True)
    assert "[/] x ␛[2J" in output and "[bold]␛]52;c;x␇" in output
    assert "\x1b[2J" not in output and "\x1b]52" not in output
    plain = printed(TraceTree("t", store.reader.trace_headers(spans[0].trace_id)), colour=False)
    assert all(len(line) <= 100 for line in plain.splitlines())
    assert "n…  10.0ms" in plain


def test_a_tree_printed_without_colour_reads_as_the_coloured_one(store: Store) -> None:
    spans = [make_span("invoke_agent a", duration_ms=None),
             make_span("chat m", span_id="c" * 16, parent="b7ad6b7169203331", start=T0 + 1,
                       status="ERROR"),
             make_span("é" * 15, span_id="d" * 16, parent="b7ad6b7169203331", start=T0 + 2)]
    store.writer.submit_many(spans)
    assert store.writer.flush()
    trace_id = spans[0].trace_id
    tree = TraceTree(trace_id, store.reader.trace_headers(trace_id))
    plain, coloured = printed(tree, colour=False), printed(tree, colour=True)
    assert plain == Text.from_ansi(coloured).plain  # the same lines, one segment each
    assert plain == printed(rich_tree(trace_id, store.reader.trace_spans(trace_id)), False)
    assert "chat m  10.0ms  ERROR" in plain and "⏵ …" in plain


@pytest.mark.parametrize("recording", ["weather-paris", "assistant"])
def test_headers_as_at_every_instant_say_what_the_spans_as_at_it_say(
    store: Store, recording: str
) -> None:
    """A replay draws its tree from ``SpanHeaders.as_at``: at every instant, the spans started,
    the running ones without an end or a status, as ``timeline.spans_at`` shows the records."""
    for trace_id in stored(store, Path(__file__).resolve().parents[2] / "traces"
                           / f"{recording}.jsonl"):
        spans = store.reader.trace_spans(trace_id)
        headers = store.reader.trace_headers(trace_id)
        logs = store.reader.logs(trace_id=trace_id)
        moments = recording_instants(headers, logs)
        assert moments == instants(spans, logs)
        for t in [moments[0] - 1, *moments]:
            shown = [(h.span_id, h.end_ns, h.status_code, h.running, h.kind)
                     for h in headers.as_at(t)]
            expected = [(s.span_id, s.end_ns, s.status_code, s.running,
                         headers[headers.ids.index(s.span_id)].kind)
                        for s in spans_at(spans, t)]
            assert shown == expected
        assert list(headers.as_at(moments[-1])) == list(headers)


def test_a_failed_span_has_no_status_until_it_ends(store: Store) -> None:
    root = make_span("invoke_agent a", span_id="1" * 16, duration_ms=30)
    failed = make_span("execute_tool t", span_id="2" * 16, parent="1" * 16, start=T0 + 10,
                       duration_ms=10, status="ERROR")
    store.writer.submit_many([root, failed])
    assert store.writer.flush()
    headers = store.reader.trace_headers(root.trace_id)
    assert failed.end_ns is not None
    running = headers.as_at(failed.end_ns - 1)
    assert [h.failed for h in running] == [False, False]
    assert [h.running for h in running] == [True, True]
    ended = headers.as_at(failed.end_ns)
    assert [(h.failed, h.running) for h in ended] == [(False, True), (True, False)]
    assert len(headers.as_at(T0 + 5)) == 1  # the tool had not started
