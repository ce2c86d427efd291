"""Opening a trace in the studio: the tree from the spans' columns, a big trace in two parts,
the detail reading the one span it shows."""

from __future__ import annotations

import pytest

from bench.ui_waterfall import generated_trace
from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui import trace_loading
from lumos_studio.ui.messages import TraceLoaded
from lumos_studio.ui.waterfall_layout import SpanIndex, flatten
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.ui.helpers import wait_for

TRACE = "0123456789abcdef0123456789abcdef"


class _WatchedStudio(StudioApp):
    """The studio noting each trace it was given: whether whole, and how many spans."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, InProcessSession.recording(load_demo(), store.writer))
        self.loaded: list[tuple[bool, int]] = []

    def on_trace_loaded(self, message: TraceLoaded) -> None:  # StudioApp's runs too
        if message.trace_id == TRACE:
            self.loaded.append((message.complete, len(message.spans)))


async def test_a_big_trace_opens_with_its_first_spans_then_all_of_them(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trace_loading, "IN_PARTS_FROM", 50)
    monkeypatch.setattr(trace_loading, "FIRST_PART", 20)
    spans = generated_trace(120, trace_id=TRACE)
    store.writer.submit_many(spans)
    assert store.writer.flush()
    app = _WatchedStudio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.main.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == 120)
        assert app.loaded[:2] == [(False, 20), (True, 120)]
        assert tree.border_subtitle == "120 spans"
        whole = SpanIndex()
        whole.update(spans)  # the records, decoded: the same tree
        assert [row.span_id for row in tree.rows] == [
            row.span_id for row in flatten(whole.children, set())]
        detail = app.main.query_one(SpanDetail)
        await wait_for(pilot, lambda: detail.span is not None)
        assert detail.span is not None and detail.span.span_id == spans[0].span_id
        # The detail reads the one span the cursor is on, whole (its attributes too).
        tree.focus()
        await pilot.press("down")
        chosen = tree.cursor_span
        assert chosen is not None and chosen.span_id != spans[0].span_id
        await wait_for(pilot, lambda: detail.span is not None
                       and detail.span.span_id == chosen.span_id)
        assert detail.span is not None
        assert dict(detail.span.attributes) == dict(
            next(s for s in spans if s.span_id == chosen.span_id).attributes)


async def test_a_small_trace_opens_whole_at_once(store: Store) -> None:
    spans = generated_trace(30, trace_id=TRACE)
    store.writer.submit_many(spans)
    assert store.writer.flush()
    app = _WatchedStudio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.main.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == 30)
        assert app.loaded[0] == (True, 30)
