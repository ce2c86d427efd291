"""A store full of hostile records in the real studio: every pane shows them, literally, and
nothing that would act on the terminal reaches the screen."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from textual.app import App
from textual.command import CommandPalette
from textual.containers import ScrollableContainer
from textual.pilot import Pilot

from lumos_core import Agent, ScriptedModel
from lumos_studio.app import StudioApp
from lumos_studio.ingest.otlp_http import OtlpReceiver
from lumos_studio.otlp import encode_trace_request
from lumos_studio.replay.loader import load_trace
from lumos_studio.replay.save import save_traces
from lumos_studio.replay_app import ReplayApp
from lumos_studio.sessions.discovery import AgentCatalog
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.screens.compare import CompareScreen
from lumos_studio.ui.widgets.log_lines import LogLines
from lumos_studio.ui.widgets.memory_pane import MemoryPane
from lumos_studio.ui.widgets.playback_bar import PlaybackBar
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import T0, weather_trace
from tests.hostile import (
    CLEAR_SCREEN,
    FORBIDDEN,
    HOSTILE_TRACE,
    MARKUP_CLOSE,
    OSC52_CLIPBOARD,
    STORABLE,
    VISIBLE,
    bad_otlp_lines,
    hostile_logs,
    hostile_spans,
)
from tests.ui.helpers import wait_for

SIZE = (200, 60)
JSON = {"Content-Type": "application/json"}
HOSTILE_AGENT = f"{MARKUP_CLOSE} {CLEAR_SCREEN}"
HOSTILE_REPLY = f"ok {CLEAR_SCREEN} {OSC52_CLIPBOARD} {MARKUP_CLOSE}"


def screen_text(app: App[None]) -> str:
    """Every character the app would write to the terminal now, line by line."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def assert_shown_safely(app: App[None], *expected: str) -> None:
    shown = screen_text(app)
    found = [char for char in FORBIDDEN if char in shown]
    assert not found, f"{found} reached the screen"
    for text in expected:
        assert text in shown, f"{text!r} not on screen"


async def scan(pilot: Pilot[None], pane: ScrollableContainer) -> str:
    """Scroll ``pane`` from top to bottom a page at a time, checking the screen at each; what
    was seen, all pages together."""
    pane.scroll_home(animate=False, immediate=True)
    await pilot.pause()
    pages = []
    while True:
        assert_shown_safely(pilot.app)
        pages.append(screen_text(pilot.app))
        if pane.scroll_y >= pane.max_scroll_y:
            return "\n".join(pages)
        pane.scroll_page_down(animate=False)
        await pilot.pause()


def hostile_store(store: Store) -> None:
    store.writer.submit_many(
        [*hostile_spans(), *hostile_logs(), *weather_trace(start=T0 - 60 * 10**9)])
    store.writer.flush()


def hostile_session(store: Store) -> InProcessSession:
    agent = Agent(HOSTILE_AGENT, model=ScriptedModel([HOSTILE_REPLY]))
    return InProcessSession.recording(AgentCatalog("hostile", {agent.name: agent}), store.writer)


@asynccontextmanager
async def hostile_studio(store: Store, **run: Any
                         ) -> AsyncIterator[tuple[StudioApp, Pilot[None], TraceList]]:
    """The studio on the hostile store, once its two runs are listed."""
    hostile_store(store)
    app = StudioApp(store, hostile_session(store))
    async with app.run_test(size=SIZE, **run) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == 2)
        yield app, pilot, traces


async def test_every_studio_pane_shows_hostile_records_literally(store: Store) -> None:
    async with hostile_studio(store, notifications=True) as (app, pilot, traces):
        # Trace list, metrics strip, agent list and chat title all name the hostile agent.
        await wait_for(pilot, lambda: "1 error" in screen_text(app))
        assert_shown_safely(app, "Chat · [/] x a␛[2J b", f"{MARKUP_CLOSE} 500.0ms/500.0ms",
                            "⚙ c1\\x9b2J\\x85\\x90end")

        traces.focus()
        await pilot.pause()
        await pilot.press("home", "enter")
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == len(STORABLE) + 1)
        detail = app.query_one(SpanDetail)
        await wait_for(pilot, lambda: detail.span is not None)
        assert_shown_safely(app, f"invoke_agent {MARKUP_CLOSE}", "failed: ␛]52;c;SGVsbG8=␇")
        detail.focus()
        await pilot.press("m")  # every input message, not the newest alone
        await wait_for(pilot, lambda: detail.all_messages)
        seen = await scan(pilot, detail)  # the root's whole detail, page by page
        for expected in ("Exception: [link=https://example.com/", "user › [bold red]x",
                         "call a␛[2J b", "system › ␛]8;;https://example.com/evil␛\\text",
                         "c1\\x9b2J\\x85\\x90end", "(100,000"):
            assert expected in seen

        tree.focus()
        await pilot.pause()
        for row in range(1, len(tree.rows)):  # each span in the tree, and its detail
            await pilot.press("down")
            await wait_for(pilot, lambda row=row: detail.span is not None
                           and detail.span.span_id == tree.rows[row].span_id)
            key = detail.span.attributes["corpus.key"]
            assert_shown_safely(app, VISIBLE[key][:40])

        detail.focus()
        await pilot.pause()
        await pilot.press("r")  # the raw view
        await wait_for(pilot, lambda: detail.raw)
        seen = await scan(pilot, detail)
        assert '"name":' in seen and '"AAAAAAAAAA' in seen and '"corpus.key": "huge"' in seen
        await pilot.press("r")
        tree.focus()
        await pilot.pause()
        await pilot.press("home")

        memory = app.query_one(MemoryPane)
        await wait_for(pilot, lambda: memory.view is not None and memory.view.thread_id)
        seen = await scan(pilot, memory)
        for expected in ("notes [/] x", "• ␛[31mred␛[0m", "thread a␛[2J b",
                         "2 memory events could not be read and were skipped."):
            assert expected in seen

        lines = app.query_one(LogLines)
        await wait_for(pilot, lambda: lines.matches is not None and lines.matches.count >= 21)
        lines.focus()
        await pilot.pause()
        await pilot.press("home")  # the oldest logs
        await wait_for(pilot, lambda: "[/] x a␛[2J b" in screen_text(app))
        assert_shown_safely(app, "[/] x [bold red]x", "vil]click[/link]")
        await pilot.press("enter")  # to the span the log was written in
        await wait_for(pilot, lambda: app.focused is tree)

        app.notify(f"could not read {MARKUP_CLOSE}: {CLEAR_SCREEN}", title=OSC52_CLIPBOARD)
        await pilot.pause()
        assert_shown_safely(app, "could not read [/] x: a␛[2J b", "␛]52;c;SGVsbG8=␇")


async def test_a_find_in_a_hostile_tree_marks_its_names_literally(store: Store) -> None:
    """Markup typed into the find matches the names holding it, as text; the marked rows and
    the words' answer (the hostile messages are indexed too) reach the screen safely."""
    async with hostile_studio(store) as (app, pilot, traces):
        traces.focus()
        await pilot.press("home", "enter")
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == len(STORABLE) + 1)
        tree.focus()
        await pilot.press("slash", *MARKUP_CLOSE)
        await wait_for(pilot, lambda: tree.finding == MARKUP_CLOSE)
        await wait_for(pilot, lambda: " of " in screen_text(app))
        assert tree.cursor_span is not None
        assert MARKUP_CLOSE in tree.cursor_span.name
        assert_shown_safely(app, f"invoke_agent {MARKUP_CLOSE}")
        for _ in range(3):  # round the matches, each shown safely
            await pilot.press("enter")
            await pilot.pause()
            assert_shown_safely(app)


async def test_a_hostile_span_posted_to_the_running_studio_is_listed_not_fatal(
    store: Store,
) -> None:
    """The issue's first finding as it happened: one OTLP/JSON POST of a span named ``[/] x``."""
    app = StudioApp(store, hostile_session(store))
    with OtlpReceiver(store.writer, port=0) as receiver:
        async with app.run_test(size=SIZE) as pilot:
            traces = app.query_one(TraceList)
            body = json.dumps(encode_trace_request(hostile_spans()), ensure_ascii=False)
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(f"{receiver.endpoint}/v1/traces",
                                           content=body.encode(), headers=JSON)
            assert answer.status_code == 200, answer.text
            await wait_for(pilot, lambda: traces.row_count == 1)
            traces.focus()
            await pilot.pause()
            await pilot.press("enter")
            tree = app.query_one(TraceWaterfall)
            await wait_for(pilot, lambda: len(tree.spans) == len(STORABLE) + 1)
            assert app.is_running
            assert_shown_safely(app, f"invoke_agent {MARKUP_CLOSE}", "a␛[2J b",
                                "␛]52;c;SGVsbG8=␇")


async def test_comparing_a_hostile_run_and_the_command_palette(store: Store) -> None:
    async with hostile_studio(store) as (app, pilot, traces):
        traces.focus()
        await pilot.pause()
        await pilot.press("down", "m", "up", "c")  # the weather run, then the hostile one
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen)
                       and app.screen.comparison is not None)
        for _ in range(6):
            await pilot.press("n")
            assert_shown_safely(app)
        assert_shown_safely(app, "[/] x", "a␛[2J b")
        await pilot.press("escape")

        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"trace")
        await pilot.pause(0.3)
        assert_shown_safely(app, "Trace")
        await pilot.press("escape")


async def test_a_chat_with_a_hostile_agent_shows_its_name_and_reply_literally(
    store: Store,
) -> None:
    app = StudioApp(store, hostile_session(store))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"hi [/] x", "enter")
        await wait_for(pilot, lambda: app.trace_id is not None and not app.running)
        await pilot.pause()
        assert_shown_safely(app, "Chat · [/] x a␛[2J b", "you › hi [/] x", "ok a␛[2J b",
                            "␛]52;c;SGVsbG8=␇")


class CompareHost(App[None]):
    def on_mount(self) -> None:
        spans = hostile_spans()
        self.push_screen(CompareScreen(weather_trace(), spans, left_title=OSC52_CLIPBOARD,
                                       right_title=HOSTILE_AGENT))


async def test_the_compare_screen_titles_are_plain_text() -> None:
    app = CompareHost()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen)
                       and app.screen.comparison is not None)
        await pilot.press("n")
        assert_shown_safely(app, "␛]52;c;SGVsbG8=␇  ⇄  [/] x a␛[2J b")


async def test_replaying_a_hostile_file_shows_it_literally(store: Store, tmp_path: Path) -> None:
    hostile_store(store)
    saved = tmp_path / "hostile.jsonl"
    save_traces(store.reader, [HOSTILE_TRACE], saved)
    with saved.open("a", encoding="utf-8") as file:
        file.write(bad_otlp_lines())
    app = ReplayApp(load_trace(saved))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.spans and app.at_ns is not None)
        assert_shown_safely(app, "bytesValue")  # the problems, quoting the bad lines
        app.query_one(PlaybackBar).focus()
        await pilot.press("end")
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == len(STORABLE) + 1
                       and not any(s.running for s in tree.spans.values()))
        await wait_for(pilot, lambda: "notes [/] x" in screen_text(app))
        assert_shown_safely(app, "a␛[2J b", f"invoke_agent {MARKUP_CLOSE}", "[/] x")
