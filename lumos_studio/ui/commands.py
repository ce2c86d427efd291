"""Every key's action in the command palette, named after the pane it acts on.

The commands are read from the bindings of the app and of each pane on the screen, so a key added
to a pane reaches the palette without a second list to keep in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.markup import escape
from textual.screen import Screen

# Actions the palette should not offer: moving a cursor is not a command, and Textual's own
# commands (quit, keys, maximize, theme...) are already there.
_SKIPPED_ACTIONS = frozenset(
    {"quit", "toggle_help", "focus_lines", "clear_search", "answer(True)", "answer(False)"}
)
_SKIPPED_PREFIXES = ("cursor", "page", "scroll_", "first", "last", "seek_fraction")


def binding_commands(app: App[Any], screen: Screen[Any]) -> Iterator[SystemCommand]:
    """One command per described binding of the app and of the screen's panes (first wins)."""
    seen: set[tuple[int, str]] = set()
    for node, title in _bound_nodes(app, screen):
        for binding in _bindings(node):
            key = (id(node) if node is not app else 0, binding.action)
            if key in seen or not _offered(binding) or _disabled(app, binding, node):
                continue
            seen.add(key)
            keys = binding.key_display or binding.key.split(",")[0]
            yield SystemCommand(
                escape(f"{title}: {binding.description}"),  # the palette reads markup
                f"key {keys}",
                partial(app.run_action, binding.action, node),
            )


def _bound_nodes(app: App[Any], screen: Screen[Any]) -> Iterable[tuple[DOMNode, str]]:
    yield app, "Studio"
    for widget in screen.walk_children():
        ours = type(widget).__module__.startswith("lumos_studio.")  # not Textual's inputs
        shown = all(node.display for node in widget.ancestors_with_self if node is not app)
        if ours and type(widget).BINDINGS and shown:
            yield widget, _title(widget)


def _title(widget: DOMNode) -> str:
    """The pane's own title (its class's, never one set at run time, which may quote a name)."""
    return getattr(type(widget), "BORDER_TITLE", "") or type(widget).__name__


def _bindings(node: DOMNode) -> Iterable[Binding]:
    for binding in type(node).BINDINGS:
        if isinstance(binding, Binding):
            yield binding


def _disabled(app: App[Any], binding: Binding, node: DOMNode) -> bool:
    """What the footer leaves out (a read-only studio's keys that would write) is not offered."""
    return app._check_action_state(binding.action, node) is False


def _offered(binding: Binding) -> bool:
    action = binding.action
    return bool(binding.description) and action not in _SKIPPED_ACTIONS and not action.startswith(
        _SKIPPED_PREFIXES
    )
