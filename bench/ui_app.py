"""Keypress → painted in the real studio: open a trace of 1k, 10k and 100k spans, a find typed
in the 100k-span tree, a search typed into the trace list, a log filter typed into the logs pane,
a pane switch, the next span's detail.

The real ``StudioApp`` (the demo session, as ``lumos-studio`` opens it) runs under
``App.run_test`` on the ×1 bench store (``bench.stores``: a million spans, a million logs, the
three big traces newest), with the studio process's GC settings, at 160x50. Keys enter the app
as the terminal driver posts them (``app.post_message(events.Key(...))``), timed on the bench's
clock from that moment.

"Painted" is the first frame that leaves for the driver (``App._display``, hooked in a bench
subclass; no app code changes) after the pane in question rendered the result: the pane's
``render_lines`` is wrapped on the instance and notes the first render at which the pane holds
it (the waterfall: the new trace's spans and rows; the trace list: the page of the typed query,
its first two screenfuls of rows, the rest of the page added after that frame; the logs: the
matches of the typed filter with every visible line's row loaded, not "…"). A widget's state
alone is not enough, since a render may come later (a layout in a worker, a page still loading);
Pilot's ``pause()`` is not used to wait, since it sleeps at least 20 ms twice.

Typing goes at 80 ms a key (a fast typist); the figure is the last key → painted, which is what
a person waits for (earlier keys' queries may still be running then, as they would).
Each figure is the median of its rounds (the first open of each trace reads colder caches).
An open is timed to the first frame with the trace's top rows (a big trace comes in two parts),
and to the frame with every span in the tree. Beside each open: reading the trace's rows with
SQLite alone, the columns the tree reads and all of them. Last, the process's resident memory
with the 100,000-span trace open.
"""

from __future__ import annotations

import asyncio
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from textual import events
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input

from bench import check
from bench.stores import BIG_TRACES, bench_store, big_trace_id
from lumos_studio.app import StudioApp
from lumos_studio.process_settings import studio_process_settings
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.log_lines import LogLines
from lumos_studio.ui.widgets.logs_pane import LogsPane
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_browser import TraceBrowser
from lumos_studio.ui.widgets.trace_pane import TracePane
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

TERMINAL = (160, 50)
OPEN_TARGET_MS = {1_000: 150.0, 10_000: 150.0, 100_000: 500.0}
INSTANT_MS = 100.0
RSS_TARGET_MB = 150.0  # a search or filter as typed, a pane switch: what feels instant
ROUNDS = {1_000: 5, 10_000: 5, 100_000: 3}
TYPE_ROUNDS = 3
KEY_GAP = 0.08  # seconds between typed keys
# In the 100,000-span tree: 483 of its names, the first ~600 rows down; its tool calls.
FINDS = ("tool 3.97", "is:tool")
SEARCHES = ("paris london", "w12")
LOG_FILTERS = ("timeout", "connection refused")
SPAN_STEPS = 12  # ↓ presses in a run's tree (20 spans), each timed to the next span's detail
TIMEOUT = 60.0


class _TimedStudio(StudioApp):
    """The studio with a hook where each composed frame leaves for the driver."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames = 0
        self.ready: Callable[[], bool] | None = None  # what the awaited frame must show
        self.painted_at: float | None = None

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        super()._display(screen, renderable)
        if renderable is None:
            return
        self.frames += 1
        if self.painted_at is None and self.ready is not None and self.ready():
            self.painted_at = time.perf_counter()


def _spy_renders(widget: Widget, shows_it: Callable[[], bool]) -> Callable[[], bool]:
    """True once ``widget`` rendered while ``shows_it()``: wraps its ``render_lines``."""
    seen = [False]
    original = type(widget).render_lines

    def render_lines(crop: Region) -> list[Strip]:
        lines = original(widget, crop)
        if not seen[0] and shows_it():
            seen[0] = True
        return lines

    widget.render_lines = render_lines  # type: ignore[method-assign]
    return lambda: seen[0]


def _unspy(widget: Widget) -> None:
    widget.__dict__.pop("render_lines", None)


async def _until_painted(app: _TimedStudio, act: Callable[[], object],
                         ready: Callable[[], bool]) -> float:
    """Seconds from ``act()`` to the first frame after which ``ready()`` holds."""
    app.painted_at = None
    app.ready = ready
    started = time.perf_counter()
    act()
    while app.painted_at is None:
        if time.perf_counter() - started > TIMEOUT:
            raise RuntimeError(f"nothing painted within {TIMEOUT:g} s")
        await asyncio.sleep(0.001)
    app.ready = None
    return app.painted_at - started


def _key(app: _TimedStudio, key: str, character: str | None = None) -> None:
    app.post_message(events.Key(key, character))


def _char_key(character: str) -> tuple[str, str]:
    return ("space", " ") if character == " " else (character, character)


@dataclass
class _OpenFigures:
    rounds: list[float]  # key → the first frame with the trace's top rows in it
    worker: list[float]  # key → show() called (the trace read in a worker, the message back)
    show: list[float]  # the show() call itself
    complete: list[float]  # key → the first frame with every span of the trace in the tree
    top_changed: int = 0  # rounds whose first screenful differed from the whole trace's


async def _open_trace(app: _TimedStudio, pilot: Any, spans: int, other: str) -> _OpenFigures:
    """Enter on the big trace's row, with another trace open before each round."""
    browser = app.query_one(TraceBrowser)
    tree = app.query_one(TraceWaterfall)
    target = big_trace_id(spans)
    figures = _OpenFigures([], [], [], [])
    calls: list[tuple[float, float]] = []
    original_show = type(tree).show

    def timed_show(*args: Any, **kwargs: Any) -> None:
        began = time.perf_counter()
        original_show(tree, *args, **kwargs)
        calls.append((began, time.perf_counter()))

    tree.show = timed_show  # type: ignore[method-assign]
    try:
        for _ in range(ROUNDS[spans]):
            for trace_id in (other, target):
                await _select_row(app, pilot, browser, trace_id)
                calls.clear()
                seen = _spy_renders(tree, lambda t=trace_id: tree.trace_id == t  # type: ignore[misc]
                                    and bool(tree.rows) and len(tree.spans) > 0)
                pressed = time.perf_counter()
                took = await _until_painted(app, lambda: _key(app, "enter", "\r"), seen)
                _unspy(tree)
                if trace_id != target:
                    continue
                top = [row.span_id for row in tree.rows[: tree.page_rows]]
                figures.rounds.append(took)
                first = next(c for c in calls)
                figures.worker.append(first[0] - pressed)
                figures.show.append(first[1] - first[0])
                if len(tree.spans) == spans:
                    figures.complete.append(took)
                    continue
                # A big trace comes in parts: wait for the frame with all of it.
                whole = _spy_renders(tree, lambda: len(tree.spans) == spans)
                app.painted_at, app.ready = None, whole
                while app.painted_at is None:
                    if time.perf_counter() - pressed > TIMEOUT:
                        raise RuntimeError(f"opened {len(tree.spans)} spans, not {spans}")
                    await asyncio.sleep(0.001)
                app.ready = None
                _unspy(tree)
                figures.complete.append(app.painted_at - pressed)
                if [row.span_id for row in tree.rows[: len(top)]] != top:
                    figures.top_changed += 1
    finally:
        tree.__dict__.pop("show", None)
    return figures


async def _select_row(app: _TimedStudio, pilot: Any, browser: TraceBrowser,
                      trace_id: str) -> None:
    traces = browser.traces
    traces.focus()
    for _ in range(400):
        if trace_id in traces.rows:
            break
        await pilot.pause(0.05)
    traces.move_cursor(row=traces.get_row_index(trace_id), scroll=True)
    await pilot.pause()


async def _type(app: _TimedStudio, text: str, ready: Callable[[], bool]) -> float:
    """Type ``text`` at ``KEY_GAP``; seconds from the last key to painted."""
    for character in text[:-1]:
        _key(app, *_char_key(character))
        await asyncio.sleep(KEY_GAP)
    return await _until_painted(app, lambda: _key(app, *_char_key(text[-1])), ready)


async def _clear_input(app: _TimedStudio, pilot: Any, field: Input,
                       ready: Callable[[], bool]) -> None:
    if not field.value:
        return
    await _until_painted(app, lambda: setattr(field, "value", ""), ready)
    await pilot.pause()


async def _search(app: _TimedStudio, pilot: Any, text: str) -> list[float]:
    browser = app.query_one(TraceBrowser)
    field = browser.search_input
    browser.action_search()
    await pilot.pause()

    def list_shows(value: str) -> Callable[[], bool]:
        return lambda: (field.value == value and browser.page is not None
                        and browser.page.query == browser.query_state)

    rounds = []
    for _ in range(TYPE_ROUNDS):
        await _clear_input(app, pilot, field, _spy_renders(browser.traces, list_shows("")))
        _unspy(browser.traces)
        seen = _spy_renders(browser.traces, list_shows(text))
        rounds.append(await _type(app, text, seen))
        _unspy(browser.traces)
    await _clear_input(app, pilot, field, _spy_renders(browser.traces, list_shows("")))
    _unspy(browser.traces)
    browser.action_clear_search()
    return rounds


async def _find(app: _TimedStudio, pilot: Any, text: str) -> list[float]:
    """``/`` in the open tree, then ``text`` typed: the last key → the frame with the cursor on
    the first match (its row on screen, the matches marked). The cursor goes back to the top
    and the find is cleared between rounds."""
    pane = app.query_one(TracePane)
    tree = app.query_one(TraceWaterfall)
    field = pane.find_input

    def on_match(value: str) -> Callable[[], bool]:
        def shown() -> bool:
            return (tree.finding == value and tree.find_status().number > 0
                    and round(tree.scroll_y) <= tree.cursor_row
                    < round(tree.scroll_y) + tree.page_rows)
        return shown

    rounds = []
    for _ in range(TYPE_ROUNDS):
        tree.focus()
        await pilot.pause()
        await _until_painted(app, lambda: _key(app, "home"), lambda: tree.cursor_row == 0)
        pane.action_find()
        await pilot.pause()
        seen = _spy_renders(tree, on_match(text))
        rounds.append(await _type(app, text, seen))
        _unspy(tree)
        await _clear_input(app, pilot, field, lambda: tree.finding is None)
    pane.action_end_find()
    await pilot.pause()
    return rounds


async def _log_filter(app: _TimedStudio, pilot: Any, text: str) -> list[float]:
    pane = app.query_one(LogsPane)
    lines = pane.query_one(LogLines)
    field = pane.query_one("#logs-filter", Input)
    pane.action_focus_filter()
    await pilot.pause()

    def lines_show(value: str) -> Callable[[], bool]:
        def shown() -> bool:
            matches = lines.matches
            if field.value != value or matches is None or matches.filter != pane.build_filter():
                return False
            top = lines.scroll_offset.y
            visible = range(top, min(matches.count, top + lines.size.height))
            return all(lines.row(position) is not None for position in visible)
        return shown

    rounds = []
    for _ in range(TYPE_ROUNDS):
        await _clear_input(app, pilot, field, _spy_renders(lines, lines_show("")))
        _unspy(lines)
        seen = _spy_renders(lines, lines_show(text))
        rounds.append(await _type(app, text, seen))
        _unspy(lines)
    await _clear_input(app, pilot, field, _spy_renders(lines, lines_show("")))
    _unspy(lines)
    return rounds


async def _span_steps(app: _TimedStudio, pilot: Any, trace_id: str) -> list[float]:
    """↓ in the tree of an agent run, a span at a time, each → the frame with the next span in
    the detail (read whole by id, its messages laid out)."""
    tree = app.query_one(TraceWaterfall)
    detail = app.query_one(SpanDetail)
    body = detail.query_one("#span-body")
    browser = app.query_one(TraceBrowser)
    await _select_row(app, pilot, browser, trace_id)
    await _until_painted(app, lambda: _key(app, "enter", "\r"),
                         lambda: tree.trace_id == trace_id and bool(tree.rows))
    tree.focus()
    await pilot.pause(0.2)
    steps: list[float] = []
    for _ in range(SPAN_STEPS):
        row = tree.cursor_row + 1
        wanted = tree.rows[row].span_id
        shown = _spy_renders(body, lambda w=wanted: detail.span is not None  # type: ignore[misc]
                             and detail.span.span_id == w)
        steps.append(await _until_painted(app, lambda: _key(app, "down"), shown))
        _unspy(body)
        await asyncio.sleep(0.05)  # a person reads a moment before the next key
    return steps


async def _pane_switches(app: _TimedStudio, pilot: Any) -> dict[str, list[float]]:
    """F4 hides and shows memory & logs (a new layout); t / l move focus between panes."""
    tree = app.query_one(TraceWaterfall)
    traces = app.query_one(TraceBrowser).traces
    tree.focus()
    await pilot.pause()
    figures: dict[str, list[float]] = {"F4 (hide/show memory, logs)": [],
                                       "t / l (focus tree / list)": []}
    for _ in range(3):
        for _ in range(2):
            want = not app.layout.state
            figures["F4 (hide/show memory, logs)"].append(await _until_painted(
                app, lambda: _key(app, "f4"), lambda w=want: app.layout.state == w))  # type: ignore[misc]
            await pilot.pause()
        for key, widget in (("l", traces), ("t", tree)):
            figures["t / l (focus tree / list)"].append(await _until_painted(
                app, lambda k=key: _key(app, k, k),  # type: ignore[misc]
                lambda w=widget: app.focused is w))  # type: ignore[misc]
            await pilot.pause()
    return figures


async def _dialogs(app: _TimedStudio, pilot: Any) -> dict[str, list[float]]:
    """In the agent run ``_span_steps`` left open and highlighted: P on a model call → the
    playground painted with its request; D on the run in the trace list → its case painted in
    the dataset dialog; escape between rounds."""
    from lumos_studio.ui.screens.dataset_add import DatasetAddScreen
    from lumos_studio.ui.screens.playground import PlaygroundScreen

    tree = app.query_one(TraceWaterfall)
    detail = app.query_one(SpanDetail)
    traces = app.query_one(TraceBrowser).traces
    chat = next(s for s in tree.spans.values() if s.name.startswith("chat"))
    figures: dict[str, list[float]] = {"P on a model call → the playground": [],
                                       "D on a run → its case in the dataset dialog": []}
    for _ in range(TYPE_ROUNDS):
        tree.focus()
        tree.select_span(chat.span_id)
        while detail.span is None or detail.span.span_id != chat.span_id:
            await pilot.pause(0.02)
        await pilot.pause(0.2)
        figures["P on a model call → the playground"].append(await _until_painted(
            app, lambda: _key(app, "P", "P"), lambda: isinstance(app.screen, PlaygroundScreen)))
        await _until_painted(app, lambda: _key(app, "escape"),
                             lambda: not isinstance(app.screen, PlaygroundScreen))
        traces.focus()
        await pilot.pause(0.2)
        figures["D on a run → its case in the dataset dialog"].append(await _until_painted(
            app, lambda: _key(app, "D", "D"), lambda: isinstance(app.screen, DatasetAddScreen)))
        await _until_painted(app, lambda: _key(app, "escape"),
                             lambda: not isinstance(app.screen, DatasetAddScreen))
    return figures


async def _measure(store_path: Path, layout: Path) -> dict[str, Any]:
    store = Store(store_path)
    app = _TimedStudio(store, InProcessSession.recording(load_demo(), store.writer),
                       layout_path=layout)
    results: dict[str, Any] = {}
    try:
        async with app.run_test(size=TERMINAL) as pilot:
            browser = app.query_one(TraceBrowser)
            for _ in range(600):
                if browser.traces.row_count:
                    break
                await pilot.pause(0.05)
            # Some trace of the runs (not a big one) opened between rounds, so each round opens
            # the big trace afresh.
            big = {big_trace_id(size) for size in BIG_TRACES}
            other = next(t for t in browser.traces.row_traces if t is not None and t not in big)
            await pilot.pause(0.5)  # the newest trace, opened at start, and its detail settle
            results["rss start"] = _rss_mb()  # the first screen, before the big opens
            for spans in BIG_TRACES:
                results[f"open {spans}"] = await _open_trace(app, pilot, spans, other)
            await pilot.pause(0.5)  # the detail and memory of the last open settle
            results["rss"] = _rss_mb()  # the biggest trace is open
            for text in FINDS:
                results[f"find {text}"] = await _find(app, pilot, text)
            for text in SEARCHES:
                results[f"search {text}"] = await _search(app, pilot, text)
            for text in LOG_FILTERS:
                results[f"logs {text}"] = await _log_filter(app, pilot, text)
            results["switch"] = await _pane_switches(app, pilot)
            results["steps"] = await _span_steps(app, pilot, other)
            results["dialogs"] = await _dialogs(app, pilot)
    finally:
        store.close()
    return results


def _rss_mb() -> float:
    """The process's resident memory now, in MB (Linux; elsewhere its peak)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


HEADER_COLUMNS = ("span_id, parent_span_id, name, start_ns, end_ns, status_code, operation, "
                  "tool_name, model, input_tokens, output_tokens, scope_name")


def _sqlite_alone(path: Path, trace_id: str, columns: str) -> str:
    """Reading the trace's span rows (``columns`` of them) with SQLite alone, no records made,
    median of 3, in ms."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            times = []
            for _ in range(3):
                began = time.perf_counter()
                connection.execute(f"SELECT {columns} FROM spans WHERE trace_id = ? "
                                   "ORDER BY start_ns, span_id", (trace_id,)).fetchall()
                times.append(time.perf_counter() - began)
        finally:
            connection.close()
    except sqlite3.Error:
        return "n/a"
    return _ms(statistics.median(times))


def main(console: Console) -> None:
    store = bench_store(1, console)
    console.print(store.describe())
    with (studio_process_settings(),  # what the lumos-studio process runs with
          tempfile.TemporaryDirectory(prefix="lumos-bench-ui-") as tmp):
        results = asyncio.run(_measure(store.path, Path(tmp) / "layout.json"))

    table = Table(title=f"the real studio, keypress → painted ({TERMINAL[0]}x{TERMINAL[1]}, "
                  "median of the rounds)", title_justify="left", title_style="bold")
    for column in ("what the user does", "median ms", "rounds (ms)", "target", "",
                   "SQLite alone"):
        table.add_column(column, justify="left" if column == "what the user does" else "right")
    for spans in BIG_TRACES:
        figures: _OpenFigures = results[f"open {spans}"]
        median = statistics.median(figures.rounds)
        target = OPEN_TARGET_MS[spans]
        label = f"open a {spans:,}-span trace: Enter → waterfall"
        path, trace_id = store.path, big_trace_id(spans)
        table.add_row(label, _ms(median), " · ".join(_ms(r) for r in figures.rounds),
                      f"≤ {target:.0f}", check(label, median * 1000, target),
                      f"{_sqlite_alone(path, trace_id, HEADER_COLUMNS)} · "
                      f"{_sqlite_alone(path, trace_id, '*')}")
        table.add_row("  [dim]of it: Enter → show() · show()[/]",
                      f"[dim]{_ms(statistics.median(figures.worker))} · "
                      f"{_ms(statistics.median(figures.show))}[/]", "", "", "", "")
        changed = (f"; its first screen changed in {figures.top_changed} round(s)"
                   if figures.top_changed else "")
        table.add_row(f"  [dim]every span in the tree{changed}[/]",
                      f"[dim]{_ms(statistics.median(figures.complete))}[/]",
                      f"[dim]{' · '.join(_ms(r) for r in figures.complete)}[/]", "", "", "")
    rss_label = f"studio memory (RSS) with the {BIG_TRACES[-1]:,}-span trace open"
    table.add_row(rss_label, f"{results['rss']:.0f} MB", "", f"≤ {RSS_TARGET_MB:.0f} MB",
                  check(rss_label, results["rss"], RSS_TARGET_MB, "MB"), "")
    table.add_row("  [dim]of it: the first screen, before the opens · the opens[/]",
                  f"[dim]{results['rss start']:.0f} · "
                  f"+{results['rss'] - results['rss start']:.0f} MB[/]", "", "", "", "")
    rows: list[tuple[str, list[float], float]] = [
        *((f"find typed in the {BIG_TRACES[-1]:,}-span tree: {text!r}, last key → on the "
           "match", results[f"find {text}"], INSTANT_MS) for text in FINDS),
        *((f"trace search typed: {text!r}, last key → list",
           results[f"search {text}"], INSTANT_MS) for text in SEARCHES),
        *((f"log filter typed: {text!r}, last key → lines", results[f"logs {text}"],
           INSTANT_MS) for text in LOG_FILTERS),
        *((f"pane switch: {label}", values, INSTANT_MS)
          for label, values in results["switch"].items()),
        ("next span: ↓ in an agent run's tree → its detail", results["steps"], INSTANT_MS),
        *((label, values, INSTANT_MS) for label, values in results["dialogs"].items()),
    ]
    for label, values, target in rows:
        median = statistics.median(values)
        table.add_row(label, _ms(median), " · ".join(_ms(v) for v in values), f"≤ {target:.0f}",
                      check(label, median * 1000, target), "")
    console.print(table)
    console.print("[dim]Enter → waterfall: the first frame showing the trace's top rows (a trace "
                  "of more than 20,000 spans comes in two parts: its first spans, then all); "
                  "SQLite alone: the tree's columns · every column of the trace's rows. "
                  "Memory: the bench process's RSS after the opens (the studio's own, plus the "
                  "bench's few modules).[/]")
    console.print("[dim]the first round of each open reads colder caches; the waterfall's own "
                  "paint of spans already in memory is bench ui_waterfall. Typing: a key every "
                  f"{KEY_GAP * 1000:.0f} ms. Enter → show(): the trace read in a worker and "
                  f"its message back; searches, filters and switches: {INSTANT_MS:.0f} ms, what "
                  "feels instant.[/]")
