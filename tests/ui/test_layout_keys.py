"""Panes hide, show and resize from the keyboard and the palette; the studio remembers it."""

from __future__ import annotations

import json

from textual.command import CommandPalette
from textual.widgets import Checkbox, Input

from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.layout import INSPECTOR_KEEPS
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.trace_pane import TracePane
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.ui.helpers import wait_for


def studio(store: Store) -> StudioApp:
    return StudioApp(store, InProcessSession.recording(load_demo(), store.writer))


async def test_function_keys_hide_and_show_panes_and_focus_leaves_a_hidden_pane(
    store: Store,
) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.focused is app.query_one("#chat-input", Input)
        await pilot.press("f3")
        assert not app.query_one("#sessions").display
        assert app.focused is app.query_one(TraceWaterfall)
        await pilot.press("f4", "f5")
        assert not app.query_one("#state").display
        assert not app.query_one("#detail").display
        await pilot.pause()
        assert app.query_one(TraceWaterfall).size.width > 100  # the tree takes the room
        await pilot.press("f3", "f4", "f5")
        assert all(app.query_one(s).display for s in ("#sessions", "#state", "#detail"))


async def test_alt_arrows_resize_the_focused_pane(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        sessions = app.query_one("#sessions")
        before = sessions.outer_size.width
        await pilot.press("alt+right")  # the chat input has focus: its column grows
        await pilot.pause()
        assert sessions.outer_size.width == before + 4
        app.query_one("#detail").focus()
        state = app.query_one("#state")
        height = state.outer_size.height
        detail = app.query_one("#detail").outer_size.width
        await pilot.press("alt+right")  # the detail widens, the tree beside it gives way
        await pilot.pause()
        assert app.query_one("#detail").outer_size.width > detail
        logs_lines = next(w for w in app.query_one("#logs").query("*") if w.can_focus)
        logs_lines.focus()
        await pilot.press("alt+up")
        await pilot.pause()
        assert state.outer_size.height == height - 2


async def test_alt_right_and_alt_down_grow_the_tree_and_alt_left_and_alt_up_shrink_it(
    store: Store,
) -> None:
    """The tree's size is the detail's share turned around: growing the tree narrows the
    detail beside it, as keys.md says of every pane."""
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        tree, detail = app.query_one("#trace-pane"), app.query_one("#detail")
        await pilot.press("escape", "t")
        assert app.focused is app.query_one(TraceWaterfall)
        widths = [tree.outer_size.width]
        for key in ("alt+right", "alt+down", "alt+left", "alt+up", "alt+up"):
            await pilot.press(key)
            await pilot.pause()
            widths.append(tree.outer_size.width)
        grown, grown_more, back, smaller = widths[1], widths[2], widths[3], widths[5]
        assert widths[0] < grown < grown_more, widths
        assert back < grown_more and smaller < widths[0], widths
        assert tree.outer_size.width + detail.outer_size.width == 88  # the row stays whole


async def test_the_trace_list_and_the_logs_grow_taller_than_their_default(store: Store) -> None:
    """alt+down grows the trace list and the memory and logs row past the stylesheet's
    height and cap, taking rows from the tree and detail down to what they keep; alt+up
    shrinks them."""
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        browser, state = app.query_one("#trace-browser"), app.query_one("#state")
        inspector = app.query_one("#inspector")
        await pilot.press("escape", "l")
        default = browser.outer_size.height
        await pilot.press("alt+down")
        await pilot.pause()
        assert browser.outer_size.height == default + 2
        await pilot.press("alt+right")
        await pilot.pause()
        assert browser.outer_size.height == default + 4
        await pilot.press("alt+up", "alt+up", "alt+left")
        await pilot.pause()
        assert browser.outer_size.height == default - 2

        await pilot.press("f8")
        state_default = state.outer_size.height
        for _ in range(10):  # far more than there is room for
            await pilot.press("alt+down")
            await pilot.pause()
        assert state.outer_size.height > state_default
        assert inspector.outer_size.height == INSPECTOR_KEEPS  # the tree keeps its rows
        await pilot.press("alt+up")
        await pilot.pause()
        assert inspector.outer_size.height == INSPECTOR_KEEPS + 2


async def test_the_layout_is_remembered_for_the_next_session(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4", "alt+right")
        await wait_for(pilot, lambda: app.layout_path.exists()
                       and json.loads(app.layout_path.read_text())["sessions_width"] is not None)
        width = app.query_one("#sessions").outer_size.width
    saved = json.loads(app.layout_path.read_text())
    assert saved["state"] is False and saved["sessions_width"] == width

    again = studio(store)
    async with again.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert not again.query_one("#state").display
        assert again.query_one("#sessions").outer_size.width == width


async def test_the_palette_reaches_pane_actions_and_the_layout(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for expected in ("Studio: Re-run last", "Traces: Mark", "Traces: Save to traces/",
                         "Logs: Regex", "Layout: Hide memory and logs", "Layout: Reset"):
            assert any(t.startswith(expected) for t in titles), (expected, titles)
        assert not any(t.startswith("Studio: Cancel run") for t in titles)  # nothing runs
        assert not any("cursor" in t.lower() for t in titles)

        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"hide memory", "enter")
        await wait_for(pilot, lambda: not app.query_one("#state").display)

        app.query_one(TraceList).focus()
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"layout reset", "enter")
        await wait_for(pilot, lambda: app.query_one("#state").display)


async def test_f8_and_f9_reach_the_logs_and_the_memory_from_the_chat(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f8")
        assert app.focused is app.query_one("#log-lines")
        await pilot.press("f9")
        assert app.focused is app.query_one("#memory")


async def test_on_a_narrow_screen_the_column_without_the_focus_makes_room_for_the_key_help(
    store: Store,
) -> None:
    """At 80 columns the key help took 30 and left every pane a sliver: the column that does
    not hold the focus gives way while it is open, and comes back as the layout says."""
    app = studio(store)
    async with app.run_test(size=(80, 24)) as pilot:
        sessions, traces = app.query_one("#sessions"), app.query_one("#traces-column")
        await pilot.press("f1")  # the focus is in the chat: the trace column gives way
        await pilot.pause()
        assert sessions.display and not traces.display
        assert sessions.size.width > 40  # the chat takes the width the help leaves
        await pilot.press("f1")
        await pilot.pause()
        assert sessions.display and traces.display
        app.query_one(TraceWaterfall).focus()
        await pilot.press("f1")  # the focus in the tree: the agents and chat give way
        await pilot.pause()
        assert traces.display and not sessions.display
        assert app.query_one(TraceWaterfall).size.width > 20
        await pilot.press("f3")  # hidden meanwhile by its key: it stays hidden
        await pilot.press("f1")
        await pilot.pause()
        assert traces.display and not sessions.display and not app.layout.sessions


async def test_on_a_wide_screen_the_key_help_leaves_every_column(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert app.screen.query("HelpPanel")
        assert app.query_one("#sessions").display and app.query_one("#traces-column").display


async def test_escape_in_a_maximized_trace_list_clears_the_search_before_restoring(
    store: Store,
) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        browser, search = app.query_one("#trace-browser"), app.query_one("#trace-search", Input)
        await pilot.press("escape", "l", "f6", "slash", *"is:pinned", "enter")
        assert app.screen.maximized is browser and search.value == "is:pinned"
        await pilot.press("escape")  # the search's: cleared, the list still alone
        assert search.value == ""
        assert app.screen.maximized is browser
        await pilot.press("escape")  # nothing left for it in the list: the layout comes back
        assert app.screen.maximized is None
        assert app.focused is app.query_one(TraceList)


async def test_escape_in_a_maximized_logs_pane_leaves_the_filter_before_restoring(
    store: Store,
) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        logs, lines = app.query_one("#logs"), app.query_one("#log-lines")
        log_filter = app.query_one("#logs-filter", Input)
        await pilot.press("f8", "f6", "slash", *"update", "escape", "x")
        assert app.screen.maximized is logs
        assert app.focused is lines  # back on the records: x is the regex key, not typed
        assert log_filter.value == "update"
        assert app.query_one("#logs-regex", Checkbox).value
        await pilot.press("escape")
        assert app.screen.maximized is None and app.focused is lines


async def test_escape_restores_a_maximized_pane_that_has_no_use_for_it(store: Store) -> None:
    app = studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("escape", "t", "f6")
        assert app.screen.maximized is app.query_one(TracePane)
        await pilot.press("escape")
        assert app.screen.maximized is None
        await pilot.press("f6", "f6")  # F6 restores too
        assert app.screen.maximized is None
