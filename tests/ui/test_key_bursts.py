"""Keys that come in one burst act as typed one by one: those right behind a key that moves the
focus go where it moved."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.breakpoints_dialog import BreakpointsDialog
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import agent_run
from tests.ui.helpers import send_at_once, terminal_keys, type_at_once, wait_for

DOWN = "\x1b[B"  # what the terminal sends for the down arrow
RUNS = 5


def studio(store: Store) -> StudioApp:
    """The demo agents, and a store of a few runs: the trace list has rows to move through."""
    for n in range(1, RUNS + 1):
        store.writer.submit_many(agent_run(n))
    store.writer.flush()
    return StudioApp(store, InProcessSession.recording(load_demo(), store.writer))


async def test_a_message_typed_right_after_i_goes_into_the_chat_input(store: Store) -> None:
    """From the tree, ``i`` and the message in one burst: the whole message in the input, and
    the focus left there by its ``l``, ``a``, ``d``. (The letters went to the tree, lost.)"""
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        chat_input = app.query_one("#chat-input", Input)
        await wait_for(pilot, lambda: app.query_one(TraceList).row_count == RUNS)
        await pilot.press("escape", "t")
        assert app.focused is app.query_one(TraceWaterfall)
        type_at_once(app, "ihello, what a day")
        await wait_for(pilot, lambda: chat_input.value == "hello, what a day", timeout=5)
        assert app.focused is chat_input
        assert len(app.screen_stack) == 1


async def test_a_search_typed_right_after_slash_goes_into_the_search_box(store: Store) -> None:
    """``/paris`` in one burst: a search for "paris". (The letters went to the trace list, whose
    ``p`` pinned the trace, while the search box waited for the focus.)"""
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == RUNS)
        await pilot.press("escape", "l")
        assert app.focused is traces
        type_at_once(app, "/paris")
        search = app.query_one("#trace-search", Input)
        await wait_for(pilot, lambda: search.value == "paris", timeout=5)
        await pilot.pause()
        assert app.focused is search
        assert not any(trace.pinned for trace in traces.summaries)


async def test_escape_then_a_letter_leaves_the_chat_input_and_the_letter_acts(
    store: Store,
) -> None:
    """Escape and ``l`` queued while the app was busy (a lone Escape is a read of its own: with
    a letter behind it in one read, it is alt+letter): the trace list, no "l" in the input."""
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        chat_input = app.query_one("#chat-input", Input)
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == RUNS and app.focused is chat_input)
        send_at_once(app, [events.Key("escape", "\x1b"), *terminal_keys("l")])
        await wait_for(pilot, lambda: app.focused is traces, timeout=5)
        assert chat_input.value == ""


async def test_arrows_act_on_the_pane_focused_when_they_come(store: Store) -> None:
    """``l`` and two downs from the agents move the trace list's cursor; two downs and ``l``
    move the agents' highlight, and leave the trace list's cursor where it was. (Textual runs a
    key's bindings where the focus is when the key is back up to the app: bound keys behind a
    focus key already went to the right pane; these keep them there.)"""
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        traces, agents = app.query_one(TraceList), app.query_one(AgentList)
        await wait_for(pilot, lambda: traces.row_count == RUNS)
        await pilot.press("escape", "a")
        assert app.focused is agents
        row, highlighted = traces.cursor_row, agents.highlighted
        assert highlighted is not None
        type_at_once(app, "l" + DOWN * 2)
        await wait_for(pilot, lambda: traces.cursor_row == row + 2, timeout=5)
        assert agents.highlighted == highlighted
        await pilot.press("a")
        type_at_once(app, DOWN * 2 + "l")
        await wait_for(pilot, lambda: app.focused is traces, timeout=5)
        assert agents.highlighted == highlighted + 2
        assert traces.cursor_row == row + 2


async def test_keys_behind_one_that_opens_a_dialog_leave_the_studio_behind_it_alone(
    store: Store,
) -> None:
    """``b`` in the agents opens the breakpoints dialog; ``i`` and ``l`` right behind it are
    not the studio's keys any more: the focus behind the dialog stays in the agents. (``i``
    moved it to the chat input.)"""
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        agents = app.query_one(AgentList)
        await wait_for(pilot, lambda: app.query_one(TraceList).row_count == RUNS)
        await pilot.press("escape", "a")
        type_at_once(app, "bil")
        await wait_for(pilot, lambda: isinstance(app.screen, BreakpointsDialog)
                       and isinstance(app.screen.focused, Input), timeout=5)
        await pilot.pause()
        assert app.main.focused is agents
        assert app.query_one("#chat-input", Input).value == ""


async def test_arrows_right_behind_enter_on_a_trace_move_in_its_tree(store: Store) -> None:
    """Enter on a trace and a down in one burst: the trace opens and the down moves the tree's
    cursor to its second span. (Enter asks the app to open the trace by a message of the
    list's, which came up after the key: the down went on meanwhile, to the list.)"""
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        traces, tree = app.query_one(TraceList), app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: traces.row_count == RUNS)
        await pilot.press("escape", "l")
        row = traces.cursor_row
        chosen = traces.cursor_trace
        type_at_once(app, "\r" + DOWN)
        await wait_for(pilot, lambda: tree.trace_id == chosen and len(tree.rows) == 2
                       and tree.cursor_row == 1, timeout=5)
        assert app.focused is tree
        assert traces.cursor_row == row
