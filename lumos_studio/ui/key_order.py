"""Keys handled one after another, as typed, however fast they come.

Textual hands a key to the focused widget and runs the key's bindings once it is back up at the
app; meanwhile it hands the next key to whatever has the focus *then*. A key that moves the focus
(``i`` to the chat input, ``/`` to the search box, Escape out of a field) thus left the keys right
behind it with the pane it was leaving: in a burst (keys queued while the app was busy, or several
in one read on a slow link) ``i`` then ``hello`` typed nothing, ``/paris`` pinned the trace, and
Escape then ``l`` typed the ``l`` in the chat input.

So a key goes out only once the one before it is through. A ``KeyPassed`` sent right behind a key,
to the same widget, reaches the app after it at every step up the tree (a message queue is first
in, first out), whether the key came all the way up or a widget kept it (a text field typing it).
The keys that came meanwhile wait here until then, and until the callbacks the key's action left
have run (``Widget.focus()`` is one). A key may also set off a message of its own, posted as the
widget handles it, behind the ``KeyPassed`` (Enter on a trace asks the app to open it and focus
the tree; ``b`` in the agents asks for the breakpoints dialog): so the ``KeyPassed`` goes round a
second time, from the same widget, and reaches the app behind those messages and what the app did
with them. Each key then meets the panes, their bindings and the text fields as if pressed alone:
nothing else about keys changes. Not waited for: what a key sets off in a worker or a timer.

Not priority bindings for the focus keys: those act before the keys still on their way up (two
downs then ``l`` in the agents: the downs would move the trace list), and their ``check_action``
cannot tell ``a`` from ``f2`` (one action) to leave the letter to a text field.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, TypeVar

from textual import events
from textual.app import App
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget

# A KeyPassed is lost only with a widget on its way (removed before it passed): a key not through
# after KEY_CHECK_AFTER has the keys behind it go on if the widget it went to is gone. A busy app
# is no reason: its KeyPassed is on its way, and the order holds. After KEY_WAIT_AT_MOST they go
# on whatever held it up, rather than wait for ever.
KEY_CHECK_AFTER = 0.1
KEY_WAIT_AT_MOST = 1.0


class KeyPassed(Message):
    """Sent behind a key, to the widget it went to, twice: at the app the first time, the
    key's way up is over; the second, the messages its handlers posted are through too."""

    def __init__(self, serial: int, *, again: bool = False) -> None:
        super().__init__()
        self.serial = serial
        self.again = again


ReturnType = TypeVar("ReturnType")


class OrderedKeys(App[ReturnType]):
    """An app whose keys wait for the one before them to be through (``ConsoleApp``'s base,
    and the ``new`` wizard's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keys_sent = 0
        self._key_out = 0  # the serial of the key on its way through the widgets (0: none)
        self._key_target: Widget | None = None  # the widget it went to
        self._key_sent_at = 0.0
        self._waiting_keys: deque[events.Key] = deque()
        self._check_timer: Timer | None = None

    async def on_event(self, event: events.Event) -> None:
        if not isinstance(event, events.Key) or event.is_forwarded:
            await super().on_event(event)
        elif self._key_out:
            self._waiting_keys.append(event)
            if self._check_timer is None:
                self._check_later()
        else:
            await self._send_key(event)

    async def _send_key(self, key: events.Key) -> None:
        """Textual's own handling: a priority binding takes the key, or the focused widget."""
        await super().on_event(key)
        if key.is_forwarded:
            self._keys_sent += 1
            self._key_out = self._keys_sent
            self._key_target = self.focused or self.screen
            self._key_sent_at = time.monotonic()
            self._key_target.post_message(KeyPassed(self._key_out))

    def on_key_passed(self, message: KeyPassed) -> None:
        if message.serial != self._key_out:
            return
        target = self._key_target
        if not message.again and target is not None and target.is_attached:
            # Behind what the key's handlers posted from there (the widget handled the key
            # before the first lap left it): a trace list's Chosen, an agent list's request.
            target.post_message(KeyPassed(message.serial, again=True))
        else:
            # After the callbacks the key's action left (``Widget.focus()`` moves the focus so).
            self.call_later(self._key_through, message.serial)

    def _check_later(self) -> None:
        serial = self._key_out
        # A timer's callback runs in a task of its own: the check runs in the app's.
        self._check_timer = self.set_timer(
            KEY_CHECK_AFTER, lambda: self.call_later(self._check_key_out, serial))

    async def _check_key_out(self, serial: int) -> None:
        """Keys wait behind a key not through yet: go on if its KeyPassed can no longer come."""
        if serial != self._key_out:
            return
        there = self._key_target is not None and self._key_target.is_attached
        if there and time.monotonic() - self._key_sent_at < KEY_WAIT_AT_MOST:
            self._check_later()
        else:
            await self._key_through(serial)

    async def _key_through(self, serial: int) -> None:
        """The key out is through (or will never say so): the waiting keys go, in turn."""
        if serial != self._key_out:
            return
        self._key_out = 0
        if self._check_timer is not None:
            self._check_timer.stop()
            self._check_timer = None
        while self._waiting_keys and not self._key_out:
            await self._send_key(self._waiting_keys.popleft())
        if self._waiting_keys:
            self._check_later()
