"""``c`` in the agents: which of the agent's tools to call by hand (then its arguments, in the
fork screen's editor)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from lumos_core.worker_protocol import ToolDescription
from lumos_studio.display import VALUE_LIMIT, safe_str
from lumos_studio.ui.screens.dialog import StudioDialog


class ToolPickScreen(StudioDialog[ToolDescription | None]):
    """The agent's tools, each with what it does; Enter picks one, Escape none."""

    DEFAULT_CSS = """
    ToolPickScreen > Vertical { max-height: 80%; }
    ToolPickScreen OptionList { height: auto; max-height: 20; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, agent: str, tools: tuple[ToolDescription, ...]) -> None:
        super().__init__()
        self.agent = agent
        self.tools = tools

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble(("Call a tool of ", "bold"), safe_str(self.agent)),
                         id="tool-pick-title", classes="dialog-title")
            yield OptionList(*(Option(_prompt(tool)) for tool in self.tools), id="tool-pick")
            yield Static("enter picks the tool, then its arguments · escape cancels",
                         id="tool-pick-keys", classes="dialog-keys")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.tools[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


def _prompt(tool: ToolDescription) -> Text:
    prompt = Text(safe_str(tool.name), style="bold")
    if tool.description:
        first_line = tool.description.strip().splitlines()[0] if tool.description.strip() else ""
        prompt.append(f"  {safe_str(first_line, VALUE_LIMIT)}", style="dim")
    return prompt
