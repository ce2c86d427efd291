"""Which panes show and how big they are: toggled and resized by keys, remembered between sessions.

The layout is a small JSON file beside the store (``.lumos/layout.json`` by default). A file that
is missing, unreadable or written by a newer version gives the defaults for what it lacks; the
studio never fails to start over it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from textual.screen import Screen
from textual.widget import Widget

log = logging.getLogger(__name__)

Pane = Literal["sessions", "traces", "detail", "state", "graph"]
PANES: dict[Pane, str] = {
    "sessions": "agents and chat",
    "traces": "trace list",
    "detail": "span detail",
    "state": "memory and logs",
    "graph": "graph",
}
# Where each pane lives in the studio's DOM (see ``StudioApp.compose``).
_NODES: dict[Pane, str] = {
    "sessions": "#sessions",
    "traces": "#trace-browser",
    "detail": "#detail",
    "state": "#state",
    "graph": "#graph",
}
# What the resize keys change, by the pane that has focus: (field, step, minimum, maximum).
_SIZES: dict[Pane, tuple[str, int, int, int]] = {
    "sessions": ("sessions_width", 4, 24, 120),
    "traces": ("traces_height", 2, 4, 40),
    "detail": ("detail_percent", 5, 20, 80),
    "state": ("state_height", 2, 4, 40),
    "graph": ("graph_height", 2, 6, 60),
}
# What growing a pane leaves the panes it takes room from: the tree and detail row keeps rows
# for a few spans (as at 80x24), the trace column room for its tree.
INSPECTOR_KEEPS = 8  # rows
TRACES_COLUMN_KEEPS = 40  # columns


@dataclass(frozen=True, slots=True)
class Layout:
    """Visibility and size of the studio's panes; a size of None is the stylesheet's."""

    sessions: bool = True
    traces: bool = True
    detail: bool = True
    state: bool = True
    graph: bool = False  # the graph pane is shown on asking (ctrl+g)
    sessions_width: int | None = None  # cells
    traces_height: int | None = None  # rows
    detail_percent: int | None = None  # of the tree + detail row
    state_height: int | None = None  # rows
    graph_height: int | None = None  # rows

    @classmethod
    def load(cls, path: Path) -> Layout:
        """The saved layout, or the defaults for whatever the file does not say well."""
        try:
            saved = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("ignoring the layout file %s: %s", path, exc)
            return cls()
        if not isinstance(saved, dict):
            return cls()
        values: dict[str, Any] = {}  # each checked against its field's type below
        for field in fields(cls):
            value = saved.get(field.name)
            wanted = bool if field.name in PANES else int
            if type(value) is wanted:  # exact: a bool is not a size, nor a size a bool
                values[field.name] = value
        return cls(**values).clamped()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    def clamped(self) -> Layout:
        changes: dict[str, Any] = {}  # field name -> its clamped size (None: the default)
        for name, _step, low, high in _SIZES.values():
            value = getattr(self, name)
            changes[name] = None if value is None else min(max(value, low), high)
        return replace(self, **changes)

    def toggled(self, pane: Pane) -> Layout:
        return replace(self, **{pane: not getattr(self, pane)})

    def resized(self, pane: Pane, steps: int, current: int, most: int | None = None) -> Layout:
        """Grow (or shrink, ``steps`` < 0) ``pane`` from its ``current`` size on screen; it
        grows to ``most`` at the most (the room the screen has for it), never shrinking."""
        name, step, _low, _high = _SIZES[pane]
        size = current + steps * step
        if steps > 0 and most is not None:
            size = max(min(size, most), current)
        changes: dict[str, Any] = {name: size}  # keyed by a size field's name
        return replace(self, **changes).clamped()

    def apply(self, screen: Screen[Any]) -> None:
        """Show, hide and size the panes of the studio's main screen; a size set here is the
        pane's cap too (an inline ``max_height = None`` would leave the stylesheet's)."""
        for pane, selector in _NODES.items():
            screen.query_one(selector).display = getattr(self, pane)
        # With the graph shown, the trace list and the memory row give it room (studio.tcss).
        screen.query_one("#traces-column").set_class(self.graph, "-graph")
        if self.sessions_width is not None:
            screen.query_one("#sessions").styles.width = self.sessions_width
            screen.query_one("#sessions").styles.max_width = self.sessions_width
        if self.traces_height is not None:
            screen.query_one("#trace-browser").styles.height = self.traces_height
            screen.query_one("#trace-browser").styles.max_height = self.traces_height
        if self.detail_percent is not None:
            screen.query_one("#detail").styles.width = f"{self.detail_percent}%"
            screen.query_one("#trace-pane").styles.width = "1fr"
        if self.state_height is not None:
            screen.query_one("#state").styles.height = self.state_height
            screen.query_one("#state").styles.max_height = self.state_height
        if self.graph_height is not None:
            screen.query_one("#graph").styles.height = self.graph_height

    @staticmethod
    def clear_sizes(screen: Screen[Any]) -> None:
        """Undo ``apply``'s sizes: every pane back to the stylesheet's."""
        screen.query_one("#sessions").styles.clear_rule("width")
        screen.query_one("#sessions").styles.clear_rule("max_width")
        for selector in ("#trace-browser", "#state", "#graph"):
            screen.query_one(selector).styles.clear_rule("height")
            screen.query_one(selector).styles.clear_rule("max_height")
        for selector in ("#trace-pane", "#detail"):
            screen.query_one(selector).styles.clear_rule("width")


def current_size(screen: Screen[Any], pane: Pane) -> int:
    """The pane's size on screen, in the unit its resize step uses."""
    if pane == "sessions":
        return screen.query_one("#sessions").outer_size.width
    if pane == "traces":
        return screen.query_one("#trace-browser").outer_size.height
    if pane == "state":
        return screen.query_one("#state").outer_size.height
    if pane == "graph":
        return screen.query_one("#graph").outer_size.height
    detail = screen.query_one("#detail").outer_size.width
    tree = screen.query_one("#trace-pane").outer_size.width
    return round(100 * detail / max(detail + tree, 1))


def most_size(screen: Screen[Any], pane: Pane) -> int | None:
    """The largest size the pane can grow to on screen, in its resize unit, taking room only
    from the tree and detail row (or the trace column) down to what they keep; None: no limit
    but the pane's own bounds."""
    if pane == "detail":
        return None
    if pane == "sessions":
        spare = screen.query_one("#traces-column").outer_size.width - TRACES_COLUMN_KEEPS
    else:
        spare = screen.query_one("#inspector").outer_size.height - INSPECTOR_KEEPS
    return current_size(screen, pane) + max(spare, 0)


def pane_of(widget: Widget | None) -> Pane | None:
    """The resizable pane a focused widget belongs to (the tree resizes the detail beside it)."""
    target = resize_target(widget)
    return None if target is None else target[0]


def resize_target(widget: Widget | None) -> tuple[Pane, int] | None:
    """The pane the resize keys change for a focused widget, and the sign that grows what has
    the focus: the tree grows as the detail beside it shrinks."""
    if widget is None:
        return None
    for node in widget.ancestors_with_self:
        target = _FOCUS_PANES.get(node.id or "")
        if target is not None:
            return target
    return None


_FOCUS_PANES: dict[str, tuple[Pane, int]] = {
    "sessions": ("sessions", 1),
    "trace-browser": ("traces", 1),
    "trace-pane": ("detail", -1),
    "detail": ("detail", 1),
    "state": ("state", 1),
    "graph": ("graph", 1),
}
