"""Make the README's screenshots from the real app: ``python screenshots/make_screenshots.py``.

Drives ``StudioApp`` headless with Pilot on a throwaway store and the bundled demo agents, so the
pictures show what a user sees after one chat turn, not a mock-up. Waits on the app's state (spans
finished, input enabled) rather than sleeping, so it works on slow and fast machines alike.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# Before anything formats a time: the pictures should not depend on where they were made.
os.environ["TZ"] = "UTC"
time.tzset()

from lumos_studio.ui.widgets.trace_tree import TraceWaterfall  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input  # noqa: E402
from textual.widgets.tree import TreeNode  # noqa: E402

from lumos_studio.app import StudioApp  # noqa: E402
from lumos_studio.ingest import studio_tracer_provider  # noqa: E402
from lumos_studio.sessions.discovery import load_demo  # noqa: E402
from lumos_studio.sessions.in_process import InProcessSession  # noqa: E402
from lumos_studio.store import Store  # noqa: E402
from lumos_studio.ui.widgets.span_detail import SpanDetail  # noqa: E402
from lumos_studio.ui.widgets.trace_list import TraceList  # noqa: E402

OUT = Path(__file__).resolve().parent
SIZE = (120, 40)
QUESTION = "weather in Paris?"
SPAN_TO_SHOW = "execute_tool get_weather"
SPANS_PER_TURN = 4
TIMEOUT = 20.0


async def wait_for(pilot: Pilot[None], what: str, condition: Callable[[], object]) -> None:
    """Let the app work until ``condition`` holds; fail loudly rather than save a blank picture."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {TIMEOUT:g}s waiting for {what}")
        await pilot.pause(0.05)


def walk(node: TreeNode[str]) -> Iterator[TreeNode[str]]:
    """Every node below ``node``, depth first."""
    for child in node.children:
        yield child
        yield from walk(child)


def turn_finished(app: StudioApp) -> bool:
    spans = app.query_one(TraceWaterfall).spans
    return (
        len(spans) == SPANS_PER_TURN
        and not any(span.running for span in spans.values())
        and not app.query_one("#chat-input", Input).disabled
        and app.query_one(TraceList).row_count == 1
    )


def showing(app: StudioApp, span_name: str) -> bool:
    span = app.query_one(SpanDetail).span
    return span is not None and span.name == span_name


async def make(store: Store) -> list[Path]:
    """Run one chat turn, then save the main view and the key help."""
    session = InProcessSession(load_demo(), studio_tracer_provider(store.writer))
    app = StudioApp(store, session)
    saved: list[Path] = []
    async with app.run_test(size=SIZE) as pilot:
        chat_input = app.query_one("#chat-input", Input)
        await wait_for(pilot, "the chat input to have focus", lambda: app.focused is chat_input)
        await pilot.press(*QUESTION, "enter")
        await wait_for(pilot, f"{SPANS_PER_TURN} finished spans", lambda: turn_finished(app))

        tree = app.query_one(TraceWaterfall)
        tree.focus()
        node = next(n for n in walk(tree.root) if tree.spans[n.data or ""].name == SPAN_TO_SHOW)
        tree.move_cursor(node)
        await wait_for(pilot, f"the detail of {SPAN_TO_SHOW}", lambda: showing(app, SPAN_TO_SHOW))
        await pilot.pause()
        if not showing(app, SPAN_TO_SHOW):  # a late first-load selection took the cursor back
            tree.move_cursor(node)
            await wait_for(pilot, f"{SPAN_TO_SHOW} again", lambda: showing(app, SPAN_TO_SHOW))
        saved.append(Path(app.save_screenshot("main.svg", str(OUT))))

        await pilot.press("f1")
        await wait_for(pilot, "the key help panel", lambda: app.screen.query("HelpPanel"))
        await pilot.pause()
        saved.append(Path(app.save_screenshot("help.svg", str(OUT))))
    return saved


def main() -> int:
    # A relative store path inside a scratch directory reads like a real project in the subtitle.
    here = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="lumos-screenshots-") as scratch:
        os.chdir(scratch)
        try:
            with Store(Path(".lumos") / "studio.db") as store:
                saved = asyncio.run(make(store))
        finally:
            os.chdir(here)
    for path in saved:
        print(f"wrote {path.relative_to(here) if path.is_relative_to(here) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
