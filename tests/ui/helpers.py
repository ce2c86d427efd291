"""Waiting on the app's real state (workers, writer) instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
