"""Waiting on the app's real state (workers, writer) instead of sleeping a fixed time; keys sent
as a terminal sends them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from textual import events
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.pilot import Pilot
from textual.widgets.tree import TreeNode

from lumos_studio.app import StudioApp
from lumos_studio.ingest.otlp_http import OtlpReceiver
from lumos_studio.sessions.worker import WorkerSession
from lumos_studio.store import Store


async def wait_for(pilot: Pilot, condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        await pilot.pause(0.05)


def terminal_keys(text: str) -> list[events.Key]:
    """The keys of ``text`` as Textual's driver makes them of what it reads from a terminal."""
    return [event for event in XTermParser().feed(text) if isinstance(event, events.Key)]


def send_at_once(app: App[Any], keys: Iterable[events.Key]) -> None:
    """Post ``keys`` to the app one after another before it handles the first: a burst, as when
    several come in one read from the terminal or queue while the app is busy. (``pilot.press``
    waits for the app to be idle after each key, so it never sends one.)"""
    for key in keys:
        key.set_sender(app)
        app.post_message(key)


def type_at_once(app: App[Any], text: str) -> None:
    """``text`` typed in one burst: the keys of one read from the terminal."""
    send_at_once(app, terminal_keys(text))


def labels(node: TreeNode[str]) -> list[str]:
    """The plain labels of a node's children."""
    return [child.label.plain for child in node.children]


@contextmanager
def worker_studio(store: Store, agent_file: Path, **session_options: Any) -> Iterator[StudioApp]:
    """The studio on ``agent_file``'s agents in a real worker process, exporting to a real
    receiver into ``store`` (as ``lumos-studio dev`` runs them); the receiver stops after."""
    receiver = OtlpReceiver(store.writer, port=0).start()
    session = WorkerSession(agent_file, receiver.endpoint, record=store.writer.submit,
                            **session_options)
    try:
        yield StudioApp(store, session, endpoint=receiver.endpoint)
    finally:
        receiver.stop()
