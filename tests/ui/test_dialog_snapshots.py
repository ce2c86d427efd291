"""Snapshots of the debugger's two dialogs at 120x40 and 80x24: the breakpoints of an agent (one
set, with a condition) and a fork from an agent's model call, from a workflow's step and from a
tool call, the pick of a tool to call by hand, the playground on a model call, runs added to
a dataset, and the question before deleting runs."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App
from textual.screen import Screen

from lumos_core.debug import PausePoint
from lumos_core.worker_protocol import ToolDescription
from lumos_studio.dataset_cases import LeftOut, LeftOutKind, RunCase, case_of_trace
from lumos_studio.semantics import Message, TextPart
from lumos_studio.sessions.base import AgentInfo
from lumos_studio.ui.breakpoints import BreakCondition, BreakpointSpec
from lumos_studio.ui.breakpoints_dialog import BreakpointsDialog
from lumos_studio.ui.playground_request import PlaygroundPoint
from lumos_studio.ui.screens.dataset_add import DatasetAddScreen
from lumos_studio.ui.screens.fork import AgentForkPoint, ForkPoint, ForkScreen, ToolForkPoint
from lumos_studio.ui.screens.playground import PlaygroundScreen
from lumos_studio.ui.screens.tool_pick import ToolPickScreen
from lumos_studio.ui.widgets.trace_browser import ConfirmDelete
from tests.builders import T0, weather_trace

SIZES = [(120, 40), (80, 24)]
SIZE_IDS = [f"{w}x{h}" for w, h in SIZES]

WEATHER = AgentInfo("weather", "scripted", tools=("get_weather", "get_forecast"),
                    description="Answers questions about the weather.")
SET = (BreakpointSpec("weather", PausePoint.BEFORE_TOOL, "get_weather",
                      BreakCondition("city", "Rome")),)

AGENT_FORK = AgentForkPoint("weather", "a" * 32, "b" * 16, (
    {"role": "user", "parts": [{"type": "text", "content": "weather in Rome?"}]},
    {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "get_weather",
                                     "arguments": {"city": "Rome"}}]},
    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "name": "get_weather",
                                "response": "Clear skies, 22 °C in Rome."}]},
))
TOOL_FORK = ToolForkPoint("weather", "get_weather", "a" * 32, "d" * 16,
                          {"city": "Rome", "units": "metric"})
STEP_FORK = ForkPoint("essay_writer", "9f2c" * 8, "draft", "c" * 32,
                      {"topic": "tides", "outline": ["moon", "sun", "coasts"]})


class DialogHost(App[None]):
    """An empty app with one dialog pushed on it, as the studio pushes it."""

    def __init__(self, dialog: Screen[Any]) -> None:
        super().__init__()
        self.dialog = dialog

    def on_mount(self) -> None:
        self.push_screen(self.dialog)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_the_breakpoints_of_an_agent(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DialogHost(BreakpointsDialog(WEATHER, SET)), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_a_fork_from_a_model_call(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DialogHost(ForkScreen(AGENT_FORK)), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_a_fork_from_a_workflow_step(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DialogHost(ForkScreen(STEP_FORK)), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_a_tool_called_again(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DialogHost(ForkScreen(TOOL_FORK)), terminal_size=size)


PLANNER_TOOLS = (
    ToolDescription("get_weather", "Current weather for a city.", '{"city":"…"}'),
    ToolDescription("get_forecast", "The forecast for the next days.\n\nLonger text.",
                    '{"city":"…","days":3}'),
    ToolDescription("book_hotel", "", '{"city":"…","nights":1}'),
)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_the_pick_of_a_tool_to_call(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DialogHost(ToolPickScreen("planner", PLANNER_TOOLS)), terminal_size=size)


PLAYGROUND = PlaygroundPoint("a" * 32, "b" * 16, "openai:gpt-4o-mini", "gpt-4o-mini (openai)", {
    "instructions": "You are a helpful weather assistant.",
    "messages": list(AGENT_FORK.messages),
    "tools": [{"name": "get_weather", "description": "Current weather for a city.",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                              "required": ["city"]}}],
    "settings": {"temperature": 0.2},
}, (Message("assistant", (TextPart("It is clear in Rome, 22 °C."),), "stop"),))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_the_playground_on_a_model_call(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DialogHost(PlaygroundScreen(PLAYGROUND, None)), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_runs_added_to_a_dataset(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    runs = tuple(run for trace_id in ("a" * 32, "b" * 32)
                 if isinstance(run := case_of_trace(weather_trace(trace_id, T0)), RunCase))
    assert len(runs) == 2
    left_out = (LeftOut("c" * 32, LeftOutKind.NO_USER_MESSAGE),)
    assert snap_compare(DialogHost(DatasetAddScreen(runs, left_out)), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_the_question_before_deleting_runs(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    question = "Delete 2 marked runs with their spans and logs? This cannot be undone."
    assert snap_compare(DialogHost(ConfirmDelete(question)), terminal_size=size)
