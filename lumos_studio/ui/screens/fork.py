"""Fork from here (``f`` on a span): for a workflow run, the step's input as it was, editable,
and a new run from that step (``Workflow.fork``); for an agent's run, the messages its model
call was sent, editable, sent again (``lumos_core.agent_fork``). The app then compares the two
runs. For a tool call, its arguments, editable, and the tool called again by hand
(``Agent.call_tool``): its result shows in the chat and its trace in the tree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static, TextArea
from textual.widgets.text_area import Selection

from lumos_core.session_catalog import PLACEHOLDER
from lumos_core.telemetry import semconv as sc
from lumos_studio.display import safe_str, safe_text
from lumos_studio.records import SpanRecord
from lumos_studio.semantics import (
    OperationKind,
    SpanView,
)
from lumos_studio.ui.playground_request import message_dict
from lumos_studio.ui.screens.editor_dialog import EditorDialog


@dataclass(frozen=True, slots=True)
class ForkPoint:
    """Where a fork starts: a saved run of a workflow and one of its steps; ``input`` is the
    step's input as its span recorded it (None: not recorded), ``trace_id`` the run's trace."""

    workflow: str
    run_id: str
    step: str
    trace_id: str
    input: Any = None


@dataclass(frozen=True, slots=True)
class AgentForkPoint:
    """A model call of an agent's run: the messages it was sent (as ``message_to_dict``
    writes them), its trace and span (the new run links to them)."""

    agent: str
    trace_id: str
    span_id: str
    messages: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class ToolForkPoint:
    """A tool to call by hand: a call of an agent's run (its trace and span, which the new call
    links to, and the arguments it was called with; None: not recorded), or one picked in the
    agents (no trace: ``arguments`` an example made from its parameters)."""

    agent: str
    tool: str
    trace_id: str | None
    span_id: str | None
    arguments: Any = None

    @property
    def repeats(self) -> tuple[str, str] | None:
        """The recorded call this one repeats."""
        return (self.trace_id, self.span_id) if self.trace_id and self.span_id else None


AnyForkPoint = ForkPoint | AgentForkPoint | ToolForkPoint


@dataclass(frozen=True, slots=True)
class ForkChoice:
    """Run the fork; with ``edited``, the step gets ``input`` instead of the input it had."""

    input: Any = None
    edited: bool = False


class ForkScreen(EditorDialog[ForkChoice | None]):
    """Asks for the step's input, or the model call's messages (prefilled with the recorded
    ones); ctrl+s forks. An agent's fork always sends the messages (a list of messages)."""

    DEFAULT_CSS = """
    ForkScreen > Vertical { width: 90; max-width: 100%; height: 80%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "fork", "Fork"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, point: AnyForkPoint) -> None:
        super().__init__()
        self.point = point
        if isinstance(point, AgentForkPoint):
            self.original = _text(list(point.messages))
        elif isinstance(point, ToolForkPoint):
            self.original = _text(point.arguments if point.arguments is not None else {})
        else:
            self.original = "" if point.input is None else _text(point.input)

    def compose(self) -> ComposeResult:
        point = self.point
        with Vertical():
            if isinstance(point, ToolForkPoint):
                again = point.repeats is not None
                yield Static(Text.assemble(
                    ("Call ", "bold"), safe_str(point.tool), (" again" if again else "", "bold"),
                    " (", safe_str(point.agent), "'s tool)"),
                    id="fork-title", classes="dialog-title")
                editor = TextArea(self.original, id="fork-input", soft_wrap=True)
                editor.border_title = (
                    "its arguments, made from its parameters: fill them in (a JSON object)"
                    if not again else
                    "the arguments it was called with (edit them: a JSON object)"
                    if point.arguments is not None
                    else "its arguments were not recorded: type them as a JSON object")
                yield editor
            elif isinstance(point, AgentForkPoint):
                yield Static(Text.assemble(
                    ("Fork ", "bold"), safe_str(point.agent),
                    ("'s run from its model call ", "bold"),
                    f"({len(point.messages)} messages)"), id="fork-title", classes="dialog-title")
                editor = TextArea(self.original, id="fork-input", soft_wrap=True)
                editor.border_title = ("the messages sent to the model (edit them; they end "
                                       "with the user's message or the tools' results)")
                yield editor
            else:
                yield Static(Text.assemble(
                    ("Fork ", "bold"), safe_str(point.workflow), " run ",
                    safe_str(point.run_id[:8]), (" from step ", "bold"), safe_str(point.step)),
                    id="fork-title", classes="dialog-title")
                editor = TextArea(self.original, id="fork-input", soft_wrap=True)
                editor.border_title = (
                    "the step's input (edit it, or leave it as it was)" if point.input is not None
                    else "the step's input was not recorded: leave empty to reuse it, or type "
                         "JSON")
                yield editor
            yield Static("", id="fork-error", classes="dialog-error")
            keys = ("ctrl+s calls the tool · escape cancels" if isinstance(point, ToolForkPoint)
                    else "ctrl+s runs the fork from this step · escape cancels")
            yield Static(keys, id="fork-keys", classes="dialog-keys")

    def on_mount(self) -> None:
        editor = self.query_one(TextArea)
        editor.focus()
        point = self.point
        if isinstance(point, ToolForkPoint) and point.repeats is None:
            # The first placeholder selected: typing fills it in.
            where = editor.text.find(f'"{PLACEHOLDER}"')
            if where >= 0:
                row = editor.text.count("\n", 0, where)
                column = where - (editor.text.rfind("\n", 0, where) + 1) + 1
                editor.selection = Selection((row, column), (row, column + len(PLACEHOLDER)))

    def action_fork(self) -> None:
        text = self.query_one(TextArea).text
        if isinstance(self.point, AgentForkPoint):
            self._fork_agent(text)
            return
        if isinstance(self.point, ToolForkPoint):
            self._call_tool(text)
            return
        if text.strip() == self.original.strip() or not text.strip():
            self.dismiss(ForkChoice())
            return
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if isinstance(self.point.input, str):  # a text input stays text
                self.dismiss(ForkChoice(text, edited=True))
                return
            self.query_one("#fork-error", Static).update(safe_text(f"not JSON: {exc}"))
            return
        self.dismiss(ForkChoice(value, edited=True))

    def _fork_agent(self, text: str) -> None:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            self.query_one("#fork-error", Static).update(safe_text(f"not JSON: {exc}"))
            return
        if not isinstance(value, list) or not value:
            self.query_one("#fork-error", Static).update(
                "the messages are a non-empty JSON list of messages")
            return
        self.dismiss(ForkChoice(value, edited=text.strip() != self.original.strip()))

    def _call_tool(self, text: str) -> None:
        try:
            value = orjson.loads(text or "{}")
        except orjson.JSONDecodeError as exc:
            self.query_one("#fork-error", Static).update(safe_text(f"not JSON: {exc}"))
            return
        if not isinstance(value, dict):
            self.query_one("#fork-error", Static).update(
                safe_text(f"the arguments are a JSON object, not {_json_kind(value)}"))
            return
        self.dismiss(ForkChoice(value, edited=text.strip() != self.original.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


def _json_kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "true or false", type(None): "null"}.get(
        type(value), "a number")


def _text(value: Any) -> str:
    """Always JSON: a control character in outside text shows as an escape in the editor."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


def fork_point(span: SpanRecord, spans: Mapping[str, SpanRecord]) -> ForkPoint | str:
    """Where forking from ``span`` starts (its step, or the nearest step above it, of the
    workflow run at the trace's root), or why it cannot (a message for the user)."""
    chain = [span]
    while (parent := chain[-1].parent_span_id) is not None and parent in spans:
        chain.append(spans[parent])
    root = chain[-1]
    workflow = root.attributes.get(sc.LUMOS_WORKFLOW_NAME)
    run_id = root.attributes.get(sc.LUMOS_WORKFLOW_RUN_ID)
    if not isinstance(workflow, str) or not isinstance(run_id, str):
        return ("Fork works on workflow runs: select a step of a workflow's trace "
                "(an agent's turn is re-run with ctrl+r).")
    step_span = next((s for s in chain if isinstance(
        s.attributes.get(sc.LUMOS_WORKFLOW_STEP_NAME), str)), None)
    if step_span is None:
        return "Select one of the run's steps to fork from (the run itself has no input to edit)."
    recorded = step_span.attributes.get(sc.LUMOS_WORKFLOW_STEP_INPUT)
    value: Any = None
    if isinstance(recorded, str):
        try:
            value = orjson.loads(recorded)
        except orjson.JSONDecodeError:
            value = recorded
    step = step_span.attributes[sc.LUMOS_WORKFLOW_STEP_NAME]
    return ForkPoint(workflow, run_id, str(step), span.trace_id, value)


def agent_fork_point(
    span: SpanRecord, spans: Mapping[str, SpanRecord], views: Mapping[str, SpanView]
) -> AgentForkPoint | str:
    """Where forking an agent's run from ``span`` (a model call) starts, or why it cannot."""
    view = views.get(span.span_id)
    if view is None or view.kind is not OperationKind.LLM:
        return ("Select a model call (a chat span) to fork the agent's run from, or a step "
                "of a workflow run.")
    if not view.input_messages:
        return "This model call's messages were not recorded (content capture off): no fork."
    agent = _agent_above(span, spans, views)
    if agent is None:
        return "No agent run holds this model call: nothing to fork."
    messages = tuple(m for m in (message_dict(m) for m in view.input_messages) if m)
    return AgentForkPoint(agent, span.trace_id, span.span_id, messages)


def _agent_above(
    span: SpanRecord, spans: Mapping[str, SpanRecord], views: Mapping[str, SpanView]
) -> str | None:
    """The nearest agent whose run holds ``span``."""
    above = span.parent_span_id
    while above is not None and above in spans:
        parent = views.get(above)
        if parent is not None and parent.kind is OperationKind.AGENT and parent.agent_name:
            return parent.agent_name
        above = spans[above].parent_span_id
    return None


def tool_fork_point(
    span: SpanRecord, spans: Mapping[str, SpanRecord], views: Mapping[str, SpanView]
) -> ToolForkPoint | str | None:
    """Where calling ``span``'s tool again starts (the agent whose run called it, the tool, the
    recorded arguments), why it cannot, or None when ``span`` is no tool call."""
    view = views.get(span.span_id)
    if view is None or view.kind is not OperationKind.TOOL or view.tool_call is None:
        return None
    call = view.tool_call
    if not call.name:
        return "This tool call does not say which tool it called: nothing to call again."
    agent = view.agent_name or _agent_above(span, spans, views)  # one called by hand says
    if not agent:
        return (f"No agent run holds this call of {call.name}: the studio calls a tool through "
                "the agent that has it.")
    arguments = call.arguments if isinstance(call.arguments, dict) else None
    return ToolForkPoint(agent, call.name, span.trace_id, span.span_id, arguments)
