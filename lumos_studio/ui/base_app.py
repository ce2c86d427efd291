"""What every Lumos Studio app shares: the stylesheet, quitting, the key help and keys handled
in the order typed (``key_order.py``)."""

from __future__ import annotations

import sys
import termios
import time
from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen

from lumos_studio.display import NAME_LIMIT, VALUE_LIMIT, safe_str
from lumos_studio.ui.key_order import OrderedKeys

TERMINAL_CHECK_SECONDS = 1.0
# Under this many columns the key help (a third of the screen, 30 columns at least) left every
# pane a sliver (80x24: the logs' level select cut off, the tree 11 columns wide), so the
# column without the focus gives way to it while it is open.
HELP_ROOM_BELOW = 100


class ConsoleApp(OrderedKeys[None]):
    """Base of the studio and the replay viewer; their own keys are added to these."""

    CSS_PATH = Path(__file__).parent / "studio.tcss"  # absolute: subclasses live elsewhere
    # Escape with a pane maximized is the focused pane's first (clear the search, leave the
    # filter); only when nothing in focus binds it does it restore the layout, from the
    # app's own binding below, the last one a key reaches.
    ESCAPE_TO_MINIMIZE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("q", "quit", "Quit", show=False),
        Binding("f1", "toggle_help", "Keys"),
        Binding("question_mark", "toggle_help", "Keys", key_display="?", show=False),
        Binding("escape", "restore_layout", "Restore layout", show=False),
    ]

    def on_mount(self) -> None:
        # Only a terminal can close under us; in a browser (``lumos-studio web``) the input is a
        # pipe, which never was one, and its end reaches Textual's web driver by itself.
        if not self.is_headless and _on_a_terminal():
            self.set_interval(TERMINAL_CHECK_SECONDS, self._exit_if_terminal_closed)

    def _exit_if_terminal_closed(self) -> None:
        """Quit once the terminal is gone (its window closed) without a SIGHUP reaching us, as
        under ``make studio``: Textual's input thread would otherwise spin on the dead tty."""
        if not _on_a_terminal():
            self.exit(return_code=1)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification is plain text, whatever ``markup`` says (widgets pass True): they
        quote paths, exceptions and names. Control characters are made visible."""
        super().notify(
            safe_str(message, VALUE_LIMIT, multiline=True), title=safe_str(title, NAME_LIMIT),
            severity=severity, timeout=timeout, markup=False,
        )

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Save the screen as SVG in the working directory (or ``path``) and say where.

        Textual's own delivery writes to a downloads folder a terminal may not have, and its
        message is markup, which ``notify`` shows as typed."""
        stamp = time.strftime(time_format or "%Y%m%d-%H%M%S")
        target = Path(path or ".") / (filename or f"lumos-studio-{stamp}.svg")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.export_screenshot(), encoding="utf-8")
        except OSError as exc:
            self.notify(f"could not save the screenshot: {exc}", title="Screenshot",
                        severity="error")
            return None
        self.notify(f"Saved screenshot to {target.resolve()}", title="Screenshot")
        return str(target)

    @property
    def main(self) -> Screen[None]:
        """The app's own screen, whichever screen (help, compare) is on top of it."""
        return self.screen_stack[0]

    def _screens_gone(self) -> bool:
        """True once the app is shutting down (its screens go next): late messages from workers
        are then dropped instead of querying panes that are being removed."""
        return not self.is_running or not self.screen_stack

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restore_layout":  # a pane maximized: else Escape reaches nothing here
            return self.screen.maximized is not None
        return super().check_action(action, parameters)

    def action_restore_layout(self) -> None:
        """Every pane back, as before the focused one was maximized (F6)."""
        self.screen.minimize()

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_show_help_panel(self) -> None:
        """The key help; on a narrow screen the column of ``#main`` that does not hold the
        focus makes room for it (the help is about the focused pane): the trace column
        beside the agents and chat, the left column beside everything else."""
        super().action_show_help_panel()
        if self.size.width >= HELP_ROOM_BELOW:
            return
        columns = [*self.screen.query("#main > #sessions"),
                   *self.screen.query("#main > #traces-column")]
        if len(columns) != 2:
            return  # a screen of another shape (compare, experiments) keeps its own
        sessions, traces = columns
        kept, gives_way = (sessions, traces) if sessions.has_focus_within else (traces, sessions)
        if gives_way.display:
            gives_way.display = False
            gives_way.add_class("-room-for-help")
            kept.add_class("-beside-help")

    def action_hide_help_panel(self) -> None:
        super().action_hide_help_panel()
        screen = self.screen
        hidden = screen.query(".-room-for-help")
        if not hidden:
            return
        for column in hidden:
            column.display = True
            column.remove_class("-room-for-help")
        screen.query(".-beside-help").remove_class("-beside-help")
        self.restore_after_help(screen)

    def restore_after_help(self, screen: Screen[Any]) -> None:
        """Once the key help closes and the columns are back: the studio re-applies its
        layout (a pane hidden meanwhile stays hidden)."""


def _on_a_terminal() -> bool:
    """Whether standard input is a terminal that is still there."""
    stdin = sys.__stdin__
    try:
        if stdin is None:
            return False
        termios.tcgetattr(stdin.fileno())
    except (termios.error, OSError, ValueError):
        return False
    return True
