"""The breakpoints of one agent or workflow (``b`` in the agent list): the ones set, and a form
to set another (a point, a target, an optional ``field=value`` condition). Setting one that is
already set removes it; ``ctrl+d`` removes them all. Dismisses with the specs to toggle."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, Select, Static

from lumos_core.debug import PausePoint
from lumos_studio.display import safe_str, safe_text
from lumos_studio.sessions.base import AgentInfo
from lumos_studio.ui.breakpoints import POINT_WORDS, BreakCondition, BreakpointSpec
from lumos_studio.ui.screens.dialog import StudioDialog

_AGENT_POINTS = (PausePoint.BEFORE_MODEL, PausePoint.BEFORE_TOOL, PausePoint.AFTER_MODEL,
                 PausePoint.AFTER_TOOL)
_WORKFLOW_POINTS = (PausePoint.BEFORE_STEP, PausePoint.AFTER_STEP, *_AGENT_POINTS)
CLEAR_ALL = "clear"


class BreakpointsDialog(StudioDialog[BreakpointSpec | str | None]):
    """Set or remove a breakpoint of ``info``'s runs: dismisses with the spec to toggle,
    ``CLEAR_ALL``, or None (escape)."""

    DEFAULT_CSS = """
    BreakpointsDialog > Vertical { width: 76; }
    BreakpointsDialog #breakpoints-set { height: auto; color: $text-warning; }
    """
    DEFAULT_CLASSES = "-warning"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        # Before the focused field's own ctrl+d (an Input's delete-right): the dialog opens in one.
        Binding("ctrl+d", "clear", "Remove all", priority=True),
    ]

    def __init__(self, info: AgentInfo, current: tuple[BreakpointSpec, ...]) -> None:
        super().__init__()
        self.info = info
        self.current = current

    def compose(self) -> ComposeResult:
        points = _WORKFLOW_POINTS if self.info.kind == "workflow" else _AGENT_POINTS
        names = self.info.steps if self.info.kind == "workflow" else self.info.tools
        with Vertical():
            yield Label(Text.assemble(("Breakpoints of ", "bold"), safe_str(self.info.name)))
            shown = Text()
            for spec in self.current:
                shown.append("● ")
                shown.append_text(safe_text(spec.describe(), limit=None))
                shown.append("\n")
            shown.rstrip()
            yield Static(shown if shown else Text("none set"), id="breakpoints-set")
            point = Select([(POINT_WORDS[p], p.value) for p in points], value=points[0].value,
                           allow_blank=False, id="breakpoints-point")
            point.border_title = "pause"
            yield point
            hint = ", ".join(safe_str(n) for n in names)
            target = Input(placeholder=f"any, or one of: {hint}" if hint else "any",
                           id="breakpoints-target")
            target.border_title = "step, tool or agent (empty: any)"
            yield target
            condition = Input(placeholder="field=value, e.g. city=Rome (optional; Enter sets)",
                              id="breakpoints-condition")
            condition.border_title = "only when"
            yield condition
            yield Static("", id="breakpoints-error", classes="dialog-error")
            yield Static("Enter sets it (or removes it when set) · ctrl+d removes all · "
                         "escape closes", id="breakpoints-keys", classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one("#breakpoints-target", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        point = self.query_one("#breakpoints-point", Select).value
        target = self.query_one("#breakpoints-target", Input).value.strip() or None
        try:
            condition = BreakCondition.parse(
                self.query_one("#breakpoints-condition", Input).value)
        except ValueError as exc:
            self.query_one("#breakpoints-error", Static).update(safe_text(exc, limit=None))
            return
        assert isinstance(point, str)
        self.dismiss(BreakpointSpec(self.info.name, PausePoint(point), target, condition))

    def action_clear(self) -> None:
        self.dismiss(CLEAR_ALL)

    def action_cancel(self) -> None:
        self.dismiss(None)
