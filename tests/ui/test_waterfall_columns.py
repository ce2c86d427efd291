"""A trace read as columns (``SpanHeaders``) builds the same tree as its records, and its rows
(``Rows``) fold and unfold to what a fresh flatten gives."""

from __future__ import annotations

from dataclasses import replace

from lumos_studio.records import SpanRecord
from lumos_studio.store import Store
from lumos_studio.store.span_headers import SpanHeaders
from lumos_studio.ui.waterfall_layout import SpanIndex, flatten, label_cells, subtree_end
from tests.builders import MS, T0, make_span

TRACE = "0af7651916cd43dd8448eb211c80319c"


def ident(n: int) -> str:
    return f"{n:016x}"


def spans_of_a_run() -> list[SpanRecord]:
    """root ─ a ─ a1, a2 (a2 failed, still running); root ─ b ─ b1; an orphan whose parent is
    missing; a hostile name twice."""
    return [
        make_span("root", span_id=ident(1), start=T0, duration_ms=100),
        make_span("a", span_id=ident(2), parent=ident(1), start=T0 + 1 * MS),
        make_span("tool \x1b[2J", span_id=ident(3), parent=ident(2), start=T0 + 2 * MS),
        make_span("tool \x1b[2J", span_id=ident(4), parent=ident(2), start=T0 + 3 * MS,
                  status="ERROR", duration_ms=None),
        make_span("b", span_id=ident(5), parent=ident(1), start=T0 + 50 * MS),
        make_span("b1", span_id=ident(6), parent=ident(5), start=T0 + 51 * MS),
        make_span("orphan", span_id=ident(7), parent=ident(99), start=T0 + 60 * MS),
    ]


def stored(store: Store, spans: list[SpanRecord]) -> SpanHeaders:
    store.writer.submit_many(spans)
    assert store.writer.flush()
    return store.reader.trace_headers(TRACE)


def test_columns_make_the_headers_and_keep_each_name_once(store: Store) -> None:
    headers = stored(store, spans_of_a_run())
    assert len(headers) == 7
    assert [h.span_id for h in headers] == [ident(n) for n in range(1, 8)]
    assert headers[-1].span_id == ident(7) and headers[1:3] == [headers[1], headers[2]]
    assert headers.names[2] is headers.names[3]  # one string for a name however many spans
    assert headers.parents[1] is headers.ids[0]  # a parent is its own id, not a copy
    running = headers[3]
    assert running.running and running.failed and running.end_ns is None
    assert headers.searching_ids() == tuple(h.span_id for h in headers if h.searches)


def test_an_index_of_columns_is_the_index_of_the_records(store: Store) -> None:
    spans = spans_of_a_run()
    columns, records = SpanIndex(), SpanIndex()
    assert columns.update(stored(store, spans))
    records.update(spans)
    assert columns.children == records.children
    assert flatten(columns.children, set()) == flatten(records.children, set())
    for span in spans:
        span_id = span.span_id
        assert columns.label(span_id) == records.label(span_id)
        assert columns.parent(span_id) == records.parent(span_id)
        assert columns.kind(span_id) == records.kind(span_id)
        assert columns.failed(span_id) == (span.status_code == "ERROR")
        assert columns.spans[span_id].start_ns == span.start_ns
    assert columns.parent(ident(7)) is None  # its parent has not arrived: it hangs off the root
    assert columns.running == records.running == {ident(4)}
    assert (columns.start_ns, columns.end_ns) == (records.start_ns, records.end_ns)
    assert ident(99) not in columns.spans and len(columns.spans) == 7


def test_columns_read_again_change_the_shape_only_when_spans_are_new(store: Store) -> None:
    spans = spans_of_a_run()
    index = SpanIndex()
    index.update(stored(store, spans))
    ended = replace(spans[3], end_ns=spans[3].start_ns + 5 * MS)
    assert not index.update(stored(store, [ended]))  # a span ended: same tree
    assert index.running == set()
    arrived = make_span("lost parent", span_id=ident(99), parent=ident(1), start=T0 + 55 * MS)
    assert index.update(stored(store, [arrived]))
    assert index.parent(ident(7)) == ident(99)  # the orphan is adopted
    # Records after columns: the index keeps going with what it had.
    late = make_span("late", span_id=ident(8), parent=ident(6), start=T0 + 70 * MS)
    assert index.update([late])
    assert index.parent(ident(8)) == ident(6) and len(index.spans) == 9


def test_rows_folded_and_unfolded_are_the_rows_of_a_fresh_flatten(store: Store) -> None:
    index = SpanIndex()
    index.update(stored(store, spans_of_a_run()))
    rows = flatten(index.children, set())
    whole = list(rows)
    a = rows.index_of(ident(2))
    end = subtree_end(rows, a)
    assert end - a == 3
    rows.delete(a + 1, end)
    assert rows == flatten(index.children, {ident(2)})
    row = rows[a]
    rows.insert(a + 1, flatten(index.children, set(), row.span_id, row.depth + 1,
                               row.child_guides, rows.guides))
    assert list(rows) == whole
    assert label_cells(rows, index.label) == label_cells(whole, index.label)
    assert rows.index_of("nope") == -1
