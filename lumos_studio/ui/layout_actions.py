"""Layout actions of the studio: hide, show and resize panes, remember it, and the command
palette's entries for every key and for the layout.

A mixin of ``StudioApp`` (``app.py`` keeps the wiring); the layout itself is ``ui.layout``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import SystemCommand
from textual.screen import Screen

from lumos_studio.ui.commands import binding_commands
from lumos_studio.ui.layout import (
    PANES,
    Layout,
    Pane,
    current_size,
    most_size,
    pane_of,
    resize_target,
)
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

if TYPE_CHECKING:
    from textual.app import App

    _AppBase = App[None]  # what the mixin relies on, checked against Textual's own types
else:
    _AppBase = object


class LayoutActions(_AppBase):
    """Pane toggles, resizing and the palette for ``StudioApp``."""

    # Provided by StudioApp.
    layout: Layout
    layout_path: Path
    read_only: bool

    if TYPE_CHECKING:
        @property
        def main(self) -> Screen[None]: ...

    def action_toggle_pane(self, pane: Pane) -> None:
        """Hide or show a pane; focus leaves a pane as it hides."""
        layout = self.layout.toggled(pane)
        self._set_layout(layout)
        if not getattr(layout, pane) and self.focused is not None and pane_of(
            self.focused) == pane:
            self.main.query_one(TraceWaterfall).focus()
        shown = "shown" if getattr(layout, pane) else "hidden"
        self.notify(f"{PANES[pane].capitalize()} {shown}", timeout=1.5)

    def action_resize_pane(self, steps: int) -> None:
        """Grow (``steps`` > 0) or shrink the focused pane; the tree grows or shrinks as the
        detail beside it gives it room or takes it."""
        target = resize_target(self.focused)
        if target is None:
            self.notify("Focus a pane first: the agents, trace list, tree, detail or logs.")
            return
        pane, sign = target
        self._set_layout(self.layout.resized(pane, sign * steps, current_size(self.main, pane),
                                             most_size(self.main, pane)))

    def action_reset_layout(self) -> None:
        Layout.clear_sizes(self.main)
        self._set_layout(Layout())

    def restore_after_help(self, screen: Screen[Any]) -> None:
        """The main screen's panes as the layout says (it may have changed while the key
        help was open); ``ConsoleApp`` asks once the help closes."""
        if screen is self.main:
            self.layout.apply(screen)

    def _set_layout(self, layout: Layout) -> None:
        self.layout = layout
        layout.apply(self.main)
        self._save_layout(layout)

    @work(thread=True, exclusive=True, group="layout")
    def _save_layout(self, layout: Layout) -> None:
        if self.read_only:
            return  # this session's layout only: a read-only studio writes nothing
        try:
            layout.save(self.layout_path)
        except OSError as exc:
            self.call_from_thread(
                self.notify, f"could not remember the layout: {exc}", severity="warning"
            )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands, every key's action by pane, and the layout's."""
        yield from super().get_system_commands(screen)
        if screen is not self.main:
            return
        yield from binding_commands(self, screen)
        for pane, title in PANES.items():
            if self.read_only and pane == "sessions":
                continue  # no agents, no chat
            verb = "Hide" if getattr(self.layout, pane) else "Show"
            yield SystemCommand(f"Layout: {verb} {title}", "toggle a pane",
                                lambda pane=pane: self.action_toggle_pane(pane))
        yield SystemCommand("Layout: Reset", "every pane shown at the stylesheet's size",
                            self.action_reset_layout)
