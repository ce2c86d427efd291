"""Waiting on the app's real state (workers, writer) instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets.tree import TreeNode


async def wait_for(pilot: Pilot, condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        await pilot.pause(0.05)


def labels(node: TreeNode[str]) -> list[str]:
    """The plain labels of a node's children."""
    return [child.label.plain for child in node.children]
