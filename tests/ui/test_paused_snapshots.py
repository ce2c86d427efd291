"""Snapshots of the paused view: a model request about to go (with a tool's result in it), and a
refused edit of a tool call's arguments with the editor open, at 120x40 and 80x24; hostile text
in a pause shown literally."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import TextArea

from lumos_core.worker_protocol import Paused
from lumos_studio.ui.screens.paused import EditorMode, PausedScreen, read_edit
from tests.hostile import BIDI_OVERRIDE, C1_CONTROLS, CLEAR_SCREEN, COLOUR, OSC52_CLIPBOARD
from tests.ui.test_hostile_panes import assert_shown_safely

SIZES = [(120, 40), (80, 24)]

REQUEST = Paused(
    1, "before_model", "weather",
    {
        "instructions": "You answer questions about the weather. Use get_weather.",
        "messages": [
            {"role": "user", "parts": [{"type": "text", "content": "weather in Rome?"}]},
            {"role": "assistant", "parts": [
                {"type": "tool_call", "id": "c1", "name": "get_weather",
                 "arguments": {"city": "Rome"}}]},
            {"role": "tool", "parts": [
                {"type": "tool_call_response", "id": "c1", "name": "get_weather",
                 "response": "Clear skies, 22 °C in Rome."}]},
        ],
        "tools": [{"type": "function", "name": "get_weather",
                   "description": "Current weather for a city.",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "settings": {"temperature": 0.2},
    },
    agent="weather",
)
REFUSED = Paused(1, "before_tool", "get_weather", {"city": "Rome"}, agent="weather",
                 refused="city: Field required")


class PausedHost(App[None]):
    def __init__(self, paused: Paused, draft: tuple[EditorMode, str] | None = None) -> None:
        super().__init__()
        self.paused, self.draft = paused, draft

    def on_mount(self) -> None:
        self.push_screen(PausedScreen(self.paused, self.draft))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_paused_model_request(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(PausedHost(REQUEST), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_refused_edit_and_its_reason(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(PausedHost(REFUSED, ("edit", '{\n  "town": "Lima"\n}')),
                        terminal_size=size)


async def test_an_edit_that_is_not_json_is_refused_here_and_the_view_stays() -> None:
    app = PausedHost(REFUSED)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("e")
        screen = app.screen
        assert isinstance(screen, PausedScreen)
        screen.query_one(TextArea).load_text("{city: Lima")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen and screen.mode == "edit"
        assert "Edit refused: not JSON" in str(screen.query_one("#paused-refused").render())


def test_what_an_edit_reads_as() -> None:
    assert read_edit("before_tool", "edit", '{"city": "Lima"}') == {"city": "Lima"}
    assert read_edit("after_tool", "edit", "Fog all day") == "Fog all day"  # a result is text
    assert read_edit("before_tool", "skip", "Fog (stub)") == "Fog (stub)"
    with pytest.raises(ValueError, match="not JSON"):
        read_edit("before_step", "skip", "{not json")


async def test_hostile_text_in_a_pause_is_shown_literally_and_edited_as_json() -> None:
    hostile = Paused(1, "after_tool", f"get{COLOUR}", f"result {CLEAR_SCREEN} {OSC52_CLIPBOARD}",
                     agent=BIDI_OVERRIDE, refused=C1_CONTROLS)
    app = PausedHost(hostile)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert_shown_safely(app, "get␛[31mred␛[0m", "result a␛[2J b")
        await pilot.press("e")
        await pilot.pause()
        editor = app.screen.query_one(TextArea)
        assert "\x1b" not in editor.text and "\\u001b" in editor.text
        assert_shown_safely(app)
