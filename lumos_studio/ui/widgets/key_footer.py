"""The studio's footer: Textual's ``Footer``, rebuilt only when the keys it shows change, and
not while a trace the user opened is on its way.

``Footer`` mounts a widget per key each time the screen's bindings are updated (a focus move,
``refresh_bindings``): ~20 ms of the UI thread at the studio's ~25 keys. Opening a trace moves
the focus and refreshes the bindings while the trace is read and drawn, and half of those
rebuilds showed the keys already shown. This one compares what it would show first.

The other half did change the keys (the list's, then the tree's), and their rebuild (new
widgets, their styles, a layout: ~30–40 ms of the UI thread) fell while the worker read the
trace, both wanting the GIL: Enter → a 10,000-span trace painted took ~100–115 ms, ~60 with the
rebuild after it. So the app holds the footer from Enter until the trace is shown (``hold``,
``release``); a hold nobody releases ends by itself after ``HOLD_AT_MOST`` seconds.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer

KeysShown = tuple[tuple[Any, ...], ...]
HOLD_AT_MOST = 1.0  # seconds: a trace that never arrives does not leave stale keys behind


class KeyFooter(Footer):
    """A ``Footer`` that skips a rebuild showing the same keys, descriptions and states."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: KeysShown | None = None  # what the last compose read
        self._held: Timer | None = None  # while held: the timer that ends the hold
        self._waiting: Screen[Any] | None = None  # a change that came while held

    def hold(self) -> None:
        """Leave the keys as they are until ``release`` (or ``HOLD_AT_MOST`` seconds)."""
        if self._held is not None:
            self._held.stop()
        self._held = self.set_timer(HOLD_AT_MOST, self.release)

    def release(self) -> None:
        """Show the keys as they are now, if they changed while held."""
        if self._held is None:
            return
        self._held.stop()
        self._held = None
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self.bindings_changed(waiting)

    def compose(self) -> ComposeResult:
        self._shown = self._keys_shown() if self._bindings_ready else None
        yield from super().compose()

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if self._held is not None:
            self._waiting = screen
            return
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
