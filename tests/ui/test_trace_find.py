"""Finding spans in the shown trace: ``/`` in the waterfall, the matches, and the keys around it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Label

from bench.ui_waterfall import generated_trace
from lumos_studio.app import StudioApp
from lumos_studio.replay.loader import load_trace
from lumos_studio.replay_app import ReplayApp
from lumos_studio.store import Store
from lumos_studio.ui.trace_find import Found, SpanFinder, TraceMatches
from lumos_studio.ui.waterfall_layout import SpanIndex
from lumos_studio.ui.widgets import trace_pane
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_pane import TracePane
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import T0, make_span, weather_trace
from tests.ui.helpers import send_at_once, terminal_keys, wait_for
from tests.ui.test_snapshots import select_tool_span, studio_with_a_recorded_turn

TRACE = "0af7651916cd43dd8448eb211c80319c"
AGENT, CHAT, TOOL, ANSWER = (f"a00000000000000{i}" for i in range(1, 5))
TRACES = Path(__file__).resolve().parents[2] / "traces"


# --- the matches alone ---


def test_a_name_is_found_by_any_part_of_it_whatever_its_case() -> None:
    finder = SpanFinder("  Weather ")
    assert finder.finds_label("invoke_agent weather")
    assert finder.finds_label("WEATHER.lookup")
    assert not finder.finds_label("chat scripted")
    assert not SpanFinder("   ") and not SpanFinder("").finds_label("anything")


def test_a_span_id_is_found_from_eight_hex_digits_on() -> None:
    assert SpanFinder("A0000000").finds_id("a000000000000003")
    assert not SpanFinder("a000000").finds_id("a000000000000003")  # seven: too few
    assert not SpanFinder("a00000zz").finds_id("a00000zz00000003")  # not hex: a name only
    assert not SpanFinder("b0000000").finds_id("a000000000000003")


def matches(labels: list[str], text: str) -> TraceMatches:
    return TraceMatches([f"s{i}" for i in range(len(labels))], labels, SpanFinder(text))


def test_the_next_match_goes_round_at_either_end() -> None:
    found = matches(["a", "chat 1", "b", "chat 2", "c"], "chat")
    assert len(found) == 2
    assert found.step("s0", 1) == Found("s1", 1, 2)
    assert found.step("s1", 1) == Found("s3", 2, 2)
    assert found.step("s3", 1) == Found("s1", 1, 2)  # round to the first
    assert found.step("s1", -1) == Found("s3", 2, 2)  # and back to the last
    assert found.step("s4", -1) == Found("s3", 2, 2)
    assert found.step(None, 1) == Found("s1", 1, 2)  # no cursor: from the top


def test_a_find_typed_on_stays_on_the_match_under_the_cursor() -> None:
    found = matches(["a", "chat 1", "b", "chat 2"], "chat")
    assert found.step("s3", 1, here_counts=True) == Found("s3", 2, 2)
    assert found.step("s3", -1, here_counts=True) == Found("s3", 2, 2)
    assert found.step("s2", 1, here_counts=True) == Found("s3", 2, 2)


def test_where_a_find_stands_numbers_the_match_under_the_cursor_only() -> None:
    found = matches(["a", "chat 1", "b", "chat 2"], "chat")
    assert found.at("s3") == Found("s3", 2, 2)
    assert found.at("s2") == Found(None, 0, 2)
    assert matches(["a", "b"], "chat").step("s0", 1) == Found(None, 0, 0)


def test_a_hundred_thousand_spans_match_by_name_as_the_tree_shows_them() -> None:
    spans = generated_trace(100_000)
    ids = [span.span_id for span in spans]
    labels = [span.name for span in spans]
    found = TraceMatches(ids, labels, SpanFinder("TOOL"))
    expected = [span_id for span_id, label in zip(ids, labels, strict=True) if "tool" in label]
    assert 0 < len(found) == len(expected)
    first = found.step(None, 1)
    assert first.span_id == expected[0] and first.number == 1


def test_is_keeps_the_spans_that_do_that_and_alone_finds_them_all() -> None:
    model = SpanFinder("is:model")
    assert model and model.by_kind and not model.needle and not model.words
    assert model.finds("s1", "anything", "model", False)
    assert not model.finds("s1", "anything", "tool", False)
    failed_tool = SpanFinder("IS:tool is:error weather")
    assert failed_tool.words == "weather" and failed_tool.kinds == {"tool"}
    assert failed_tool.finds("s1", "get_weather", "tool", True)
    assert not failed_tool.finds("s1", "get_weather", "tool", False)  # it did not fail
    assert not failed_tool.finds("s1", "get_time", "tool", True)  # not its name
    either = SpanFinder("is:model is:tool")
    assert either.finds("s", "x", "model", False) and either.finds("s", "x", "tool", False)
    assert SpanFinder("is:llm").problem == (
        "is:llm? is: takes agent, model, tool, retrieval, workflow, error")


def test_is_filters_the_matches_by_what_each_span_does() -> None:
    order = ["s0", "s1", "s2", "s3"]
    labels = ["invoke_agent a", "chat x", "execute_tool chat_log", "chat y"]
    kinds = ["agent", "model", "tool", "model"]
    failed = [False, False, True, True]
    assert len(TraceMatches(order, labels, SpanFinder("is:model"), kinds, failed)) == 2
    chats = TraceMatches(order, labels, SpanFinder("chat is:model"), kinds, failed)
    assert chats.step(None, 1) == Found("s1", 1, 2)
    failed_chat = TraceMatches(order, labels, SpanFinder("chat is:error"), kinds, failed)
    assert failed_chat.step(None, 1) == Found("s2", 1, 2)


def test_what_a_span_does_comes_from_the_semantics_layer_in_any_dialect() -> None:
    """An OpenInference LLM span named after its class is a model call, as a lumos one is."""
    index = SpanIndex()
    index.update([
        make_span("RunnableSequence", span_id="b0",
                  attributes={"openinference.span.kind": "CHAIN"}),
        make_span("ChatOpenAI", span_id="b1", parent="b0",
                  attributes={"openinference.span.kind": "LLM"}),
        make_span("chat scripted", span_id="b2", parent="b0",
                  attributes={"gen_ai.operation.name": "chat"}),
    ])
    order = index.depth_first()
    matches = TraceMatches(order, list(map(index.label, order)), SpanFinder("is:model"),
                           index.kinds_of(order), index.failed_of(order))
    assert len(matches) == 2 and matches.step(None, 1).span_id == "b1"


# --- the pane in the studio ---


def find_bar_text(app: App[None]) -> str:
    return str(app.query_one("#trace-find-status", Label).render())


async def find(pilot: Pilot[None], text: str) -> TraceWaterfall:
    """Focus the tree of the recorded turn and type ``/`` then ``text``."""
    tree = pilot.app.query_one(TraceWaterfall)
    tree.focus()
    await pilot.press("slash", *text)
    await wait_for(pilot, lambda: tree.finding == text)
    await pilot.pause()
    return tree


@asynccontextmanager
async def on_the_tool_call(store: Store) -> AsyncIterator[tuple[StudioApp, Pilot[None]]]:
    """The studio on the recorded weather turn, its tool call's span selected in the tree."""
    app = studio_with_a_recorded_turn(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_tool_span(pilot)
        yield app, pilot


async def test_typing_a_find_goes_to_the_first_match_and_the_detail_follows(
    store: Store,
) -> None:
    async with on_the_tool_call(store) as (app, pilot):  # the cursor on the third row
        tree = await find(pilot, "chat")
        assert isinstance(app.focused, Input) and app.focused.id == "trace-find"
        detail = app.query_one(SpanDetail)
        # The first match at or after the cursor: the answer's chat, below the tool call.
        assert tree.cursor_span is not None and tree.cursor_span.span_id == ANSWER
        await wait_for(pilot, lambda: detail.span is not None and detail.span.span_id == ANSWER)
        await wait_for(pilot, lambda: find_bar_text(app) == "2 of 2")
        await pilot.press("enter")  # round to the first
        await wait_for(pilot, lambda: find_bar_text(app) == "1 of 2")
        assert tree.cursor_span.span_id == CHAT
        await wait_for(pilot, lambda: detail.span is not None and detail.span.span_id == CHAT)
        await pilot.press("up")
        await wait_for(pilot, lambda: find_bar_text(app) == "2 of 2")
        await pilot.press("down")
        await wait_for(pilot, lambda: find_bar_text(app) == "1 of 2")
        assert tree.cursor_span.span_id == CHAT


async def test_escape_ends_the_find_and_gives_the_tree_its_focus_on_the_match(
    store: Store,
) -> None:
    async with on_the_tool_call(store) as (app, pilot):
        tree = await find(pilot, "invoke")
        assert tree.cursor_span is not None and tree.cursor_span.span_id == AGENT  # round
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.focused is tree)
        assert tree.finding is None and tree.cursor_span.span_id == AGENT
        assert not app.query_one("#trace-find-bar").display
        assert app.query_one("#trace-find", Input).value == ""
        await pilot.press("down")  # the tree's keys are the tree's again
        await wait_for(pilot, lambda: tree.cursor_span.span_id == CHAT)


async def test_a_find_with_no_match_says_so_and_leaves_the_cursor(store: Store) -> None:
    async with on_the_tool_call(store) as (app, pilot):
        tree = await find(pilot, "retrieve")
        await wait_for(pilot, lambda: find_bar_text(app) == "no span matches")
        assert app.query_one("#trace-find-status").has_class("-none")
        assert tree.cursor_span is not None and tree.cursor_span.span_id == TOOL
        await pilot.press("enter", "up")  # nothing to go to: nothing moves
        assert tree.cursor_span.span_id == TOOL


async def test_a_span_id_finds_its_span(store: Store) -> None:
    async with on_the_tool_call(store) as (app, pilot):
        tree = await find(pilot, ANSWER)
        assert tree.cursor_span is not None and tree.cursor_span.span_id == ANSWER
        await wait_for(pilot, lambda: find_bar_text(app) == "1 of 1")


async def test_words_of_the_messages_find_their_spans_when_the_store_answers(
    store: Store,
) -> None:
    """No span is named "paris": the spans whose messages say it, and the tool call whose
    arguments do, are found by the store's full-text index, and the cursor goes to the first of
    them after it."""
    async with on_the_tool_call(store) as (app, pilot):
        tree = app.query_one(TraceWaterfall)
        assert tree.trace_id is not None
        holding = store.reader.spans_with_words(tree.trace_id, "Paris")
        assert holding == {AGENT, CHAT, TOOL, ANSWER}
        assert store.reader.spans_with_words(tree.trace_id, "18") == {AGENT, TOOL, ANSWER}  # result
        await find(pilot, "Paris")
        await wait_for(pilot, lambda: find_bar_text(app) == "4 of 4")
        assert tree.cursor_span is not None and tree.cursor_span.span_id == ANSWER
        await pilot.press("enter")  # round to the first
        await wait_for(pilot, lambda: find_bar_text(app) == "1 of 4")
        assert tree.cursor_span.span_id == AGENT
        await pilot.press("enter", "enter")  # the chat that asked, then the call it asked for
        await wait_for(pilot, lambda: find_bar_text(app) == "3 of 4")
        assert tree.cursor_span.span_id == TOOL
        detail = app.query_one(SpanDetail)
        await wait_for(pilot, lambda: detail.span is not None and detail.span.span_id == TOOL)


async def test_is_finds_the_model_calls_and_says_what_it_cannot_read(store: Store) -> None:
    async with on_the_tool_call(store) as (app, pilot):
        tree = await find(pilot, "is:model")
        await wait_for(pilot, lambda: find_bar_text(app) == "2 of 2")
        assert tree.cursor_span is not None and tree.cursor_span.span_id == ANSWER
        field = app.query_one("#trace-find", Input)
        field.value = "is:tool"
        await wait_for(pilot, lambda: find_bar_text(app) == "1 of 1")
        assert tree.cursor_span.span_id == TOOL
        field.value = "is:error"
        await wait_for(pilot, lambda: find_bar_text(app) == "no span matches")
        field.value = "is:llm"
        await wait_for(pilot, lambda: find_bar_text(app).startswith("is:llm? is: takes agent"))
        assert app.query_one("#trace-find-status").has_class("-none")


async def test_ctrl_o_shows_the_matches_and_their_ancestors_alone(store: Store) -> None:
    async with on_the_tool_call(store) as (app, pilot):
        tree = await find(pilot, "chat")
        await wait_for(pilot, lambda: find_bar_text(app) == "2 of 2")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: len(tree.rows) == 3)  # the agent's span and its 2 chats
        assert [row.span_id for row in tree.rows] == [AGENT, CHAT, ANSWER]
        assert find_bar_text(app) == "2 of 2 · only these"
        assert tree.cursor_span is not None and tree.cursor_span.span_id == ANSWER
        await pilot.press("enter")
        await wait_for(pilot, lambda: find_bar_text(app) == "1 of 2 · only these")
        field = app.query_one("#trace-find", Input)
        field.value = "execute_tool"  # the rows follow the find as it is typed
        await wait_for(pilot, lambda: [row.span_id for row in tree.rows] == [AGENT, TOOL])
        await pilot.press("ctrl+o")  # every span again, the cursor where it was
        await wait_for(pilot, lambda: len(tree.rows) == 4)
        assert tree.cursor_span.span_id == TOOL and not find_bar_text(app).endswith("these")
        await pilot.press("ctrl+o", "escape")  # ending the find shows every span too
        await wait_for(pilot, lambda: len(tree.rows) == 4 and tree.finding is None)
        assert not tree.only_matches


async def test_only_matches_in_a_big_tree_keeps_each_matchs_ancestors() -> None:
    spans = generated_trace(2_000)
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        tree = app.query_one(TraceWaterfall)
        tree.show(TRACE, spans)
        tree.focus()
        await pilot.press("slash", *"tool 3.1", "ctrl+o")
        await wait_for(pilot, lambda: tree.only_matches and tree.finding == "tool 3.1")
        by_id = {span.span_id: span for span in spans}
        matched = {s.span_id for s in spans if "tool 3.1" in s.name}
        shown = set()
        for span_id in matched:
            up: str | None = span_id
            while up is not None:
                shown.add(up)
                up = by_id[up].parent_span_id
        await wait_for(pilot, lambda: set(tree.rows.span_ids) == shown)
        assert 0 < len(matched) < len(shown) < len(spans)


async def test_a_match_in_a_folded_subtree_is_unfolded(store: Store) -> None:
    async with on_the_tool_call(store) as (app, pilot):
        tree = app.query_one(TraceWaterfall)
        await pilot.press("E")  # every span folded: the root's row alone
        await wait_for(pilot, lambda: len(tree.rows) == 1)
        await find(pilot, "get_weather")
        await wait_for(pilot, lambda: len(tree.rows) == 4)
        assert tree.cursor_span is not None and tree.cursor_span.span_id == TOOL


async def test_keys_typed_at_once_behind_slash_go_into_the_find(store: Store) -> None:
    async with on_the_tool_call(store) as (app, pilot):
        tree = app.query_one(TraceWaterfall)
        send_at_once(app, terminal_keys("/chat"))
        await wait_for(pilot, lambda: tree.finding == "chat")
        assert tree.cursor_span is not None and tree.cursor_span.span_id == ANSWER


async def test_escape_without_a_find_still_restores_a_maximized_tree(store: Store) -> None:
    async with on_the_tool_call(store) as (app, pilot):
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.screen.maximized is not None)
        assert app.screen.maximized is app.query_one(TracePane)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.maximized is None)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_a_find_under_way(snap_compare, relative_store: Store, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """The bar inside the tree's border, the matches marked, which one the cursor is on."""
    app = studio_with_a_recorded_turn(relative_store)

    async def find_chat(pilot: Pilot[None]) -> None:
        await select_tool_span(pilot)
        await find(pilot, "chat")
        await wait_for(pilot, lambda: find_bar_text(pilot.app) == "2 of 2")
        detail = pilot.app.query_one(SpanDetail)
        await wait_for(pilot, lambda: detail.span is not None and detail.span.span_id == ANSWER)
        await pilot.pause()

    assert snap_compare(app, run_before=find_chat, terminal_size=size)


# --- the pane on its own: a live trace growing under a find ---


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield TracePane(TraceWaterfall(id="tree", clock=lambda: T0), id="trace-pane")


async def test_the_count_follows_a_live_trace_growing_under_the_find(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trace_pane, "RECOUNT_EVERY", 0.05)
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        tree = app.query_one(TraceWaterfall)
        spans = weather_trace(TRACE)
        tree.show(TRACE, spans[:2])
        tree.focus()
        await pilot.press("slash", *"chat")
        await wait_for(pilot, lambda: find_bar_text(app) == "1 of 1")
        tree.show(TRACE, spans)  # two more spans: one more chat
        await wait_for(pilot, lambda: find_bar_text(app) == "1 of 2")
        assert app.query_one(TracePane).border_subtitle == "4 spans"


async def test_a_store_that_fails_the_words_leaves_the_names_to_find(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(trace_id: str, text: str) -> set[str]:
        raise RuntimeError("the store went away")

    class Broken(App[None]):
        def compose(self) -> ComposeResult:
            yield TracePane(TraceWaterfall(id="tree", clock=lambda: T0), words=broken)

    app = Broken()
    async with app.run_test(size=(100, 20)) as pilot:
        tree = app.query_one(TraceWaterfall)
        tree.show(TRACE, weather_trace(TRACE))
        tree.focus()
        await pilot.press("slash", *"paris")
        await wait_for(pilot, lambda: find_bar_text(app) == "no span matches")
        app.query_one("#trace-find", Input).value = "tool"
        await wait_for(pilot, lambda: find_bar_text(app) == "1 of 1")
    assert "could not look up the find's words" in caplog.text


# --- the replay: its letter keys do not take the find's text ---


async def test_the_replay_finds_spans_without_its_keys_taking_the_text() -> None:
    app = ReplayApp(load_trace(TRACES / "weather-paris.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) > 0)
        await pilot.press("end")  # the whole run played: a find looks in what the tree shows
        await wait_for(pilot, lambda: len(tree.spans) == 4)
        await pilot.press("t")
        await wait_for(pilot, lambda: app.focused is tree)
        await pilot.press("slash", *"c. ,[]")  # compare, step, back and jump: replay keys
        await wait_for(pilot, lambda: tree.finding == "c. ,[]")
        assert app.query_one("#trace-find", Input).value == "c. ,[]"
        assert app.screen is app.screen_stack[0]  # no comparison opened
        await pilot.press(*["backspace"] * 6, *"execute_tool")
        await wait_for(pilot, lambda: find_bar_text(app) == "1 of 1")
        assert tree.cursor_span is not None and "execute_tool" in tree.cursor_span.name
