"""The agents and workflows a session can chat with."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from lumos_studio.display import safe_str
from lumos_studio.sessions.base import AgentInfo


class AgentList(OptionList):
    """Lists agents, then workflows (tagged, with their steps); highlighting one makes it the
    chat's. Stale entries are dimmed."""

    BORDER_TITLE = "Agents"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "breakpoints", "Breakpoints", show=False),
        Binding("c", "call_tool", "Call a tool", show=False),
    ]

    class Chosen(Message):
        def __init__(self, agent_name: str) -> None:
            super().__init__()
            self.agent_name = agent_name

    class BreakpointsRequested(Message):
        """``b`` on an agent or workflow: show and set its breakpoints."""

        def __init__(self, agent_name: str) -> None:
            super().__init__()
            self.agent_name = agent_name

    class ToolCallRequested(Message):
        """``c`` on an agent: call one of its tools by hand."""

        def __init__(self, agent_name: str) -> None:
            super().__init__()
            self.agent_name = agent_name

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._agents: tuple[AgentInfo, ...] = ()
        self._stale = False
        self.loading = False  # the session has not loaded its agents yet
        self.marked: frozenset[str] = frozenset()  # names with breakpoints: ● in the gutter

    def set_agents(self, agents: tuple[AgentInfo, ...], selected: str | None, stale: bool) -> None:
        """Replace the list, keeping ``selected`` highlighted when it still exists."""
        self._agents, self._stale = agents, stale
        self.clear_options()
        self.add_options([
            Option(_prompt(agent, stale, agent.name in self.marked), id=agent.name)
            for agent in agents
        ])
        self._show_state()
        names = [a.name for a in agents]
        if selected in names:
            self.highlighted = names.index(selected)

    def set_loading(self, loading: bool) -> None:
        """Say the list is empty because the agents are still loading (not because there are
        none): a worker's first load, or the demo made after the first frame."""
        self.loading = loading
        self._show_state()

    def _show_state(self) -> None:
        if self._stale:
            self.border_subtitle = "stale: last good version"
        else:
            self.border_subtitle = "loading…" if self.loading and not self._agents else ""

    def set_marked(self, names: frozenset[str]) -> None:
        """Mark the agents and workflows that have breakpoints."""
        if names == self.marked:
            return
        self.marked = names
        highlighted = self.highlighted
        selected = self._agents[highlighted].name if highlighted is not None and (
            highlighted < len(self._agents)) else None
        with self.prevent(OptionList.OptionHighlighted):
            self.set_agents(self._agents, selected, self._stale)

    def action_breakpoints(self) -> None:
        highlighted = self.highlighted
        if highlighted is not None and highlighted < len(self._agents):
            self.post_message(self.BreakpointsRequested(self._agents[highlighted].name))

    def action_call_tool(self) -> None:
        highlighted = self.highlighted
        if highlighted is not None and highlighted < len(self._agents):
            self.post_message(self.ToolCallRequested(self._agents[highlighted].name))

    class Confirmed(Message):
        """Enter on an agent: the user wants to talk to it now."""

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Confirmed())

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Chosen(event.option.id))


def _prompt(agent: AgentInfo, stale: bool, marked: bool = False) -> Text:
    text = _described(agent, stale)
    return Text.assemble(("● ", "bold red"), text) if marked else text


def _described(agent: AgentInfo, stale: bool) -> Text:
    if agent.kind == "workflow":
        text = Text("⇶ ", style="dim magenta" if stale else "magenta")
        text.append(safe_str(agent.name), style="dim bold" if stale else "bold")
        text.append(" workflow", style="dim magenta" if stale else "magenta")
        steps = " → ".join(safe_str(step) for step in agent.steps) or "no steps"
        text.append(f"  {steps}", style="dim")
        return text
    text = Text(safe_str(agent.name), style="dim bold" if stale else "bold")
    tools = ", ".join(safe_str(tool) for tool in agent.tools) or "no tools"
    text.append(f"  {safe_str(agent.model)} · {tools}", style="dim")
    return text
