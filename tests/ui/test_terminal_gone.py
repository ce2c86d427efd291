"""The studio quits when its terminal goes away, instead of spinning on a dead tty."""

from __future__ import annotations

import io
import os
import pty
import sys

import pytest

from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store


async def test_a_hung_up_terminal_ends_the_app(store: Store, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    master, slave = pty.openpty()
    terminal = io.TextIOWrapper(io.FileIO(slave, "r", closefd=True))
    monkeypatch.setattr(sys, "__stdin__", terminal)
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            app._exit_if_terminal_closed()  # the window is still open: nothing happens
            await pilot.pause()
            assert app.is_running and app.return_code is None
            os.close(master)  # the terminal window closes
            app._exit_if_terminal_closed()
            await pilot.pause()
            assert app.return_code == 1
    finally:
        terminal.close()
