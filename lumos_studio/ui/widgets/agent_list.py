"""The agents a session can chat with."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from lumos_core import Agent


class AgentList(OptionList):
    """Lists agents; highlighting one makes it the chat's agent."""

    BORDER_TITLE = "Agents"

    class Chosen(Message):
        def __init__(self, agent_name: str) -> None:
            super().__init__()
            self.agent_name = agent_name

    def __init__(self, agents: dict[str, Agent], **kwargs: object) -> None:
        options = [Option(_prompt(agent), id=name) for name, agent in agents.items()]
        super().__init__(*options, **kwargs)  # type: ignore[arg-type]

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Chosen(event.option.id))


def _prompt(agent: Agent) -> Text:
    text = Text(agent.name, style="bold")
    tools = ", ".join(agent.tools) or "no tools"
    text.append(f"  {agent.model.model_name} · {tools}", style="dim")
    return text
