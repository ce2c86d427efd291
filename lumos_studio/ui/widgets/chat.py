"""Chat with the selected agent: a transcript and an input line."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static


class ChatPane(Vertical):
    """Shows one agent's conversation; posts ``Submitted`` when the user presses Enter."""

    BORDER_TITLE = "Chat"
    ALLOW_MAXIMIZE = True

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.agent_name: str | None = None

    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="transcript")
        yield Input(placeholder="Message the agent, Enter to send", id="chat-input")

    def set_agent(self, name: str, transcript: list[tuple[str, str]]) -> None:
        """Switch to ``name`` and show its conversation so far."""
        self.agent_name = name
        self.border_title = f"Chat · {name}"
        log = self.query_one("#transcript", VerticalScroll)
        log.remove_children()
        for role, text in transcript:
            self.add_turn(role, text)

    def add_turn(self, role: str, text: str) -> None:
        styles = {"you": "bold green", "error": "bold red"}
        line = Text(f"{role} › ", style=styles.get(role, "bold cyan"))
        line.append(text, style="red" if role == "error" else "")
        log = self.query_one("#transcript", VerticalScroll)
        log.mount(Static(line, classes=f"turn turn-{role if role in styles else 'agent'}"))
        log.scroll_end(animate=False)

    def set_busy(self, busy: bool) -> None:
        chat_input = self.query_one("#chat-input", Input)
        chat_input.disabled = busy
        chat_input.placeholder = (
            "the agent is working…" if busy else "Message the agent, Enter to send"
        )
        if not busy:
            chat_input.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            event.input.clear()
            self.post_message(self.Submitted(text))
