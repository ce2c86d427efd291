"""The studio's footer: Textual's ``Footer``, rebuilt only when the keys it shows change.

``Footer`` mounts a widget per key each time the screen's bindings are updated (a focus move,
``refresh_bindings``): ~20 ms of the UI thread at the studio's ~25 keys. Opening a trace moves
the focus and refreshes the bindings while the trace is read and drawn, and half of those
rebuilds showed the keys already shown. This one compares what it would show first.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

KeysShown = tuple[tuple[Any, ...], ...]


class KeyFooter(Footer):
    """A ``Footer`` that skips a rebuild showing the same keys, descriptions and states."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: KeysShown | None = None  # what the last compose read

    def compose(self) -> ComposeResult:
        self._shown = self._keys_shown() if self._bindings_ready else None
        yield from super().compose()

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if (self.is_attached and screen is self.screen and self._shown is not None
                and self._keys_shown() == self._shown):
            return  # a rebuild already on its way reads the bindings as they are then
        super().bindings_changed(screen)

    def _keys_shown(self) -> KeysShown:
        """What ``Footer.compose`` reads of each binding it shows (and the palette's key)."""
        return tuple(
            (binding.key, binding.key_display, binding.description, binding.action,
             binding.show, id(binding.group), enabled, tooltip)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show or binding.key == self.app.COMMAND_PALETTE_BINDING
        )
