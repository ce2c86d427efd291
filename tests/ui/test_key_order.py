"""The key order's own rules, on a small app: keys wait for the key before them however slow its
way up, for a key whose widget went away with its ``KeyPassed`` only a moment, and never for
ever."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

import pytest
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from lumos_studio.ui import key_order
from lumos_studio.ui.key_order import KEY_CHECK_AFTER, KeyPassed, OrderedKeys
from tests.ui.helpers import type_at_once, wait_for


class Pane(Static, can_focus=True):
    """``x`` sends the focus to the input. A key takes ``slow`` seconds to pass (its machine
    busy); a KeyPassed may go away with the pane (``goes``), or be kept by it (``keeps``)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "to_input", "To the input")]

    def __init__(self, *, slow: float = 0, goes: bool = False, keeps: bool = False) -> None:
        super().__init__("a pane")
        self.slow, self.goes, self.keeps = slow, goes, keeps

    async def on_key(self, event: events.Key) -> None:
        await asyncio.sleep(self.slow)

    def on_key_passed(self, message: KeyPassed) -> None:
        if self.goes or self.keeps:
            message.stop()
        if self.goes:
            self.remove()

    def action_to_input(self) -> None:
        self.app.query_one(Input).focus()


class KeysApp(OrderedKeys):
    def __init__(self, pane: Pane) -> None:
        super().__init__()
        self.pane = pane

    def compose(self) -> ComposeResult:
        yield self.pane
        yield Input()

    def on_mount(self) -> None:
        self.pane.focus()


async def typed_after_x(app: KeysApp) -> float:
    """``xyz`` in one burst: how long until ``yz`` are in the input."""
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.focused is app.pane)
        sent = time.monotonic()
        type_at_once(app, "xyz")
        field = app.query_one(Input)
        await wait_for(pilot, lambda: field.value == "yz", timeout=5)
        took = time.monotonic() - sent
        await pilot.press("a")  # and keys go on as before
        assert field.value == "yza"
        return took


async def test_keys_wait_for_the_key_before_them_however_slow_its_way_up() -> None:
    assert await typed_after_x(KeysApp(Pane(slow=3 * KEY_CHECK_AFTER))) >= 3 * KEY_CHECK_AFTER


async def test_keys_behind_a_key_whose_widget_went_away_go_on_after_a_moment() -> None:
    took = await typed_after_x(KeysApp(Pane(goes=True)))
    assert KEY_CHECK_AFTER <= took < key_order.KEY_WAIT_AT_MOST


async def test_keys_behind_a_key_never_through_go_on_after_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(key_order, "KEY_WAIT_AT_MOST", 3 * KEY_CHECK_AFTER)
    assert await typed_after_x(KeysApp(Pane(keeps=True))) >= 3 * KEY_CHECK_AFTER
