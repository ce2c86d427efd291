"""What every Lumos Studio app shares: the stylesheet, quitting and the key help."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType


class ConsoleApp(App[None]):
    """Base of the studio and the replay viewer; their own keys are added to these."""

    CSS_PATH = Path(__file__).parent / "studio.tcss"  # absolute: subclasses live elsewhere
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("q", "quit", "Quit", show=False),
        Binding("f1", "toggle_help", "Keys"),
        Binding("question_mark", "toggle_help", "Keys", key_display="?", show=False),
    ]

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()
