"""``y`` copies what a pane shows: ids, a span's detail or JSON, a log record's body; the
text is made safe to paste first (a bracketed paste's end in a prompt must not run what follows)."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from textual.pilot import Pilot
from textual.widgets import Input

from lumos_studio.app import StudioApp
from lumos_studio.display import COPY_LIMIT, clipboard_json, clipboard_str
from lumos_studio.records import LogRecord
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.chat import ChatPane
from lumos_studio.ui.widgets.log_lines import MESSAGE_LIMIT, LogLines
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import T0, make_span
from tests.hostile import CORPUS, ESC
from tests.ui.helpers import wait_for

TRACE = "0af7651916cd43dd8448eb211c80319c"
ROOT, TOOL = "a000000000000001", "a000000000000002"
PASTE_END = f"{ESC}[201~rm -rf ~\n"  # ends a bracketed paste: the shell would run the rest
LONG_RESULT = "sunny " * 5_000  # 30,000 characters: longer than the raw view shows a string
# What a clipboard must never carry: the characters ``display`` makes visible (tab and newline
# are text).
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# --- the text made safe ---


def test_copied_text_shows_a_terminals_controls_instead_of_carrying_them() -> None:
    copied = clipboard_str(f"the prompt{PASTE_END}\r\nnext\tline")
    assert copied == "the prompt␛[201~rm -rf ~\n\nnext\tline"
    for text in CORPUS.values():
        assert UNSAFE.search(clipboard_str(text)) is None


def test_copied_text_is_cut_at_the_limit_and_says_so() -> None:
    assert clipboard_str("x" * 20, limit=10) == "x" * 9 + "…"
    assert clipboard_str("x" * 10, limit=10) == "x" * 10


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(), _containers,
                           max_leaves=12)


@given(json_values)
def test_copied_json_means_what_the_span_held_with_no_control_character_in_it(
    value: Any,
) -> None:
    copied = clipboard_json(value)
    assert json.loads(copied) == value
    assert UNSAFE.search(copied) is None


def test_copied_json_escapes_the_corpus_and_keeps_readable_text_as_it_is() -> None:
    copied = clipboard_json({"prompt": PASTE_END, "city": "Zürich", **CORPUS})
    assert '"prompt": "\\u001b[201~rm -rf ~\\n"' in copied
    assert '"city": "Zürich"' in copied
    assert "\\u202e" in copied and "\\u009b" in copied
    assert json.loads(copied)["bidi_override"] == CORPUS["bidi_override"]


# --- the keys ---


def studio(store: Store) -> StudioApp:
    """A trace whose tool span carries a hostile and a long result, and a log record of it."""
    store.writer.submit_many([
        make_span("invoke_agent weather", span_id=ROOT, duration_ms=50,
                  attributes={"gen_ai.operation.name": "invoke_agent",
                              "gen_ai.agent.name": "weather"}),
        make_span("execute_tool get_weather", span_id=TOOL, parent=ROOT, start=T0 + 10**6,
                  attributes={"gen_ai.operation.name": "execute_tool",
                              "gen_ai.tool.name": "get_weather",
                              "gen_ai.tool.call.arguments": json.dumps({"city": PASTE_END}),
                              "gen_ai.tool.call.result": LONG_RESULT}),
    ])
    store.writer.submit_many([
        LogRecord(T0 + 2 * 10**6, "fetched " + "x" * MESSAGE_LIMIT + PASTE_END, 9, "INFO",
                  TRACE, TOOL, scope_name="demo.tools"),
    ])
    assert store.writer.flush()
    return StudioApp(store, InProcessSession.recording(load_demo(), store.writer))


async def on_the_tool_span(pilot: Pilot) -> SpanDetail:
    tree = pilot.app.query_one(TraceWaterfall)
    await wait_for(pilot, lambda: tree.trace_id == TRACE and len(tree.spans) == 2)
    tree.focus()
    await pilot.press("down")
    detail = pilot.app.query_one(SpanDetail)
    await wait_for(pilot, lambda: detail.span is not None and detail.span.span_id == TOOL)
    return detail


def last_note(app: StudioApp) -> str:
    notes = list(app._notifications)
    assert notes, "no notification"
    return str(notes[-1].message)


async def test_y_in_the_tree_copies_the_span_id_and_in_the_list_the_trace_id(
    store: Store,
) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_the_tool_span(pilot)
        await pilot.press("y")
        assert app.clipboard == TOOL
        assert last_note(app) == "Copied the span's id (16 characters)"
        app.query_one(TraceList).focus()
        await pilot.press("y")
        assert app.clipboard == TRACE
        assert last_note(app) == "Copied the trace's id (32 characters)"


async def test_y_in_the_detail_copies_what_the_span_carried_and_in_the_raw_view_its_json(
    store: Store,
) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await on_the_tool_span(pilot)
        detail.focus()
        await pilot.press("y")
        # the arguments (JSON escapes the controls) and the whole result, as text to paste
        assert app.clipboard == (
            '## get_weather arguments\n{\n  "city": "\\u001b[201~rm -rf ~\\n"\n}\n\n'
            f"## result\n{LONG_RESULT}"
        )
        assert last_note(app) == (
            f"Copied the span's content as text ({len(app.clipboard):,} characters)")
        await pilot.press("r", "y")
        span = json.loads(app.clipboard)
        assert span["span_id"] == TOOL and span["trace_id"] == TRACE
        # every string whole, past the 20,000 characters the raw view shows of it
        assert span["attributes"]["gen_ai.tool.call.result"] == LONG_RESULT
        assert json.loads(span["attributes"]["gen_ai.tool.call.arguments"]) == {"city": PASTE_END}
        assert ESC not in app.clipboard
        assert last_note(app).startswith("Copied the span as JSON (")


async def test_y_on_a_span_that_carried_no_content_copies_its_json(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await on_the_tool_span(pilot)
        await pilot.press("up")
        await wait_for(pilot, lambda: detail.span is not None and detail.span.span_id == ROOT)
        detail.focus()
        await pilot.press("y")
        assert json.loads(app.clipboard)["name"] == "invoke_agent weather"
        assert last_note(app).startswith("Copied the span as JSON (")


async def test_y_in_the_logs_copies_the_records_whole_body_made_safe(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await on_the_tool_span(pilot)
        await pilot.press("f8")
        lines = app.query_one(LogLines)
        await wait_for(pilot, lambda: lines.has_focus and lines.row(lines.cursor) is not None)
        await pilot.press("y")
        body = "fetched " + "x" * MESSAGE_LIMIT + "␛[201~rm -rf ~\n"
        assert app.clipboard == body  # the line shows MESSAGE_LIMIT characters, y all of it
        assert last_note(app) == f"Copied the log record's body ({len(body):,} characters)"


async def test_y_with_nothing_to_copy_says_so_and_leaves_the_clipboard(store: Store) -> None:
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        app.copy_to_clipboard("kept")
        for pane in (TraceWaterfall, SpanDetail, TraceList):
            app.query_one(pane).focus()
            await pilot.press("y")
            assert app.clipboard == "kept"
            assert last_note(app).startswith("Nothing to copy: ")


async def test_a_copy_past_the_limit_is_cut_and_the_note_says_so(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await on_the_tool_span(pilot)
        detail.focus()
        huge = make_span("execute_tool get_weather", span_id=TOOL, trace_id=TRACE,
                         attributes={"gen_ai.tool.call.result": "y" * (COPY_LIMIT + 10)})
        detail.show(huge)
        await pilot.press("r", "y")
        assert len(app.clipboard) == COPY_LIMIT and app.clipboard.endswith("…")
        assert last_note(app) == (
            f"Copied the span as JSON ({COPY_LIMIT:,} characters, cut at the end)")


async def test_y_in_the_conversation_copies_the_latest_answer_and_in_the_input_types_y(
    store: Store,
) -> None:
    app = studio(store)
    answer = f"Sunny in Paris.\n{PASTE_END}"
    app.conversations["weather"].turns = [("you", "weather in Paris?"), ("weather", "Rain."),
                                          ("you", "and now?"), ("weather", answer)]
    async with app.run_test(size=(120, 40)) as pilot:
        chat_input = app.query_one("#chat-input", Input)
        await wait_for(pilot, lambda: app.query_one(ChatPane).last_reply == answer)
        chat_input.focus()
        await pilot.press("y")
        assert chat_input.value == "y" and app.clipboard == ""
        await pilot.press("escape", "y")
        assert app.clipboard == "Sunny in Paris.\n␛[201~rm -rf ~\n"
        assert last_note(app).startswith("Copied the latest answer (")
