"""The key order's own rules, on a small app: a key whose ``KeyPassed`` never comes back holds the
keys behind it a short while only."""

from __future__ import annotations

import time
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from lumos_studio.ui.key_order import KEY_WAIT_AT_MOST, KeyPassed, OrderedKeys
from tests.ui.helpers import type_at_once, wait_for


class Keeper(Static, can_focus=True):
    """Keeps each ``KeyPassed``, as a widget that goes away with a key on its way loses it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "to_input", "To the input")]

    def on_key_passed(self, message: KeyPassed) -> None:
        message.stop()

    def action_to_input(self) -> None:
        self.app.query_one(Input).focus()


class KeysApp(OrderedKeys):
    def compose(self) -> ComposeResult:
        yield Keeper("keeps what passes")
        yield Input()

    def on_mount(self) -> None:
        self.query_one(Keeper).focus()


async def test_keys_behind_one_that_never_says_it_is_through_go_on_after_a_while() -> None:
    app = KeysApp()
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: isinstance(app.focused, Keeper))
        sent = time.monotonic()
        type_at_once(app, "xyz")
        field = app.query_one(Input)
        await wait_for(pilot, lambda: field.value == "yz", timeout=5)
        assert time.monotonic() - sent >= KEY_WAIT_AT_MOST  # they did wait for the x
        await pilot.press("a")  # and keys go on as before
        assert field.value == "yza"
