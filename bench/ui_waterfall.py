"""How fast the waterfall opens and scrolls a 10,000-span trace, the size the issue names.

First paint runs from ``show()`` to the first frame the app composes with the widget's rows in it
(under ``App.run_test()``, so the headless driver: no terminal I/O is counted). Scrolling presses
``pagedown`` 100 times at a held key's repeat rate and times each from the key event entering the
app to the frame showing its effect; the same through Pilot is printed too, though its idle wait
(two 20 ms sleeps at least per key) dominates it. The pure layout steps are timed apart, to see
where the time goes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rich.console import Console
from rich.table import Table
from textual import events
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import STATUS_ERROR, STATUS_UNSET, SpanRecord
from lumos_studio.ui.waterfall_layout import SpanIndex, flatten
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
T0 = 1_764_000_000_000_000_000
SPANS = 10_000
PAGE_DOWNS = 100
KEY_REPEAT = 1 / 30  # a held key repeats about this often; presses come no faster
TERMINAL = (160, 50)

_LEVEL_OPERATIONS = (
    ("invoke_workflow",),
    ("invoke_agent",),
    ("chat", "execute_tool", "retrieval", "chat"),
    ("chat", "execute_tool", ""),
)


def generated_trace(
    count: int = SPANS, depth: int = 4, fanout: int = 22, *, trace_id: str = TRACE_ID,
    start_ns: int = T0,
) -> list[SpanRecord]:
    """A deterministic trace of ``count`` spans, ``depth`` levels, mixed kinds, some errors.

    Each span's children split its time into equal slots; every 97th span is an error. Shared by
    the benchmark and the widget's tests, so both open the same trace.
    """
    spans: list[SpanRecord] = []

    def make(parent: SpanRecord | None, level: int, index: int, start: int, end: int) -> SpanRecord:
        operations = _LEVEL_OPERATIONS[min(level, len(_LEVEL_OPERATIONS) - 1)]
        operation = operations[index % len(operations)]
        number = len(spans)
        span = SpanRecord(
            trace_id=trace_id,
            span_id=f"{number + 1:016x}",
            parent_span_id=parent.span_id if parent else None,
            name=f"{operation or 'step'} {level}.{index}",
            start_ns=start,
            end_ns=end,
            status_code=STATUS_ERROR if number and number % 97 == 0 else STATUS_UNSET,
            attributes={sc.OPERATION_NAME: operation} if operation else {},
        )
        spans.append(span)
        return span

    frontier = [make(None, 0, 0, start_ns, start_ns + 60_000_000_000)]
    for level in range(1, depth):
        children_each = fanout if level < depth - 1 else -(-(count - len(spans)) // len(frontier))
        next_frontier: list[SpanRecord] = []
        for parent in frontier:
            assert parent.end_ns is not None
            slot = (parent.end_ns - parent.start_ns) // max(1, children_each)
            for i in range(children_each):
                if len(spans) >= count:
                    break
                start = parent.start_ns + i * slot
                next_frontier.append(make(parent, level, i, start, start + slot * 4 // 5))
        frontier = next_frontier
    return spans


class _TimedWaterfall(TraceWaterfall):
    """Notes when its rows were first painted."""

    painted = False

    def render_lines(self, crop: Region) -> list[Strip]:
        lines = super().render_lines(crop)
        self.painted = self.painted or bool(self.rows)
        return lines


class _Host(App[None]):
    """The widget alone, with a hook on the point where a composed frame leaves for the driver."""

    def __init__(self) -> None:
        super().__init__()
        self.frames = 0
        self.last_frame_at = 0.0
        self.first_frame_at: float | None = None

    def compose(self) -> ComposeResult:
        yield _TimedWaterfall()

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        super()._display(screen, renderable)
        if renderable is not None:
            self.frames += 1
            self.last_frame_at = time.perf_counter()
            if self.first_frame_at is None and self.query_one(_TimedWaterfall).painted:
                self.first_frame_at = self.last_frame_at


async def _next_frame(app: _Host, frames: int, timeout: float = 5.0) -> float:
    """When the first frame after the ``frames``-th left (the hook's clock, not this loop's)."""
    deadline = time.perf_counter() + timeout
    while app.frames <= frames and time.perf_counter() < deadline:
        await asyncio.sleep(0.0005)
    return app.last_frame_at


async def _press_to_frame(app: _Host, key: str) -> float:
    """Seconds from a key event entering the app to the frame that shows its effect."""
    frames = app.frames
    started = time.perf_counter()
    app.post_message(events.Key(key, None))
    return await _next_frame(app, frames) - started


async def _measure_ui(spans: list[SpanRecord]) -> dict[str, Any]:
    app = _Host()
    async with app.run_test(size=TERMINAL) as pilot:
        widget = app.query_one(_TimedWaterfall)
        widget.focus()
        await pilot.pause()
        started = time.perf_counter()
        widget.show(TRACE_ID, spans)
        show_call = time.perf_counter() - started
        while app.first_frame_at is None:
            await asyncio.sleep(0.0005)
        first_paint = app.first_frame_at - started
        widget.select_span(spans[0].span_id)
        await pilot.pause()
        presses: list[float] = []
        for _ in range(PAGE_DOWNS):
            presses.append(await _press_to_frame(app, "pagedown"))
            await asyncio.sleep(max(0.0, KEY_REPEAT - presses[-1]))
        assert widget.cursor_row == PAGE_DOWNS * widget.page_rows
        to_end = await _press_to_frame(app, "end")
        assert widget.cursor_row == len(widget.rows) - 1
        await pilot.press("home")
        started = time.perf_counter()
        await pilot.press(*["pagedown"] * PAGE_DOWNS)
        through_pilot = time.perf_counter() - started
        return {
            "show_call": show_call,
            "first_paint": first_paint,
            "presses": presses,
            "end": to_end,
            "through_pilot": through_pilot,
        }


def _time(function: Any, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def main(console: Console) -> None:
    spans = generated_trace()
    index = SpanIndex()
    index.update(spans)
    cold = _time(lambda: SpanIndex().update(spans))
    warm = _time(lambda: index.update(spans))
    flat = _time(lambda: flatten(index.children, set()))
    ui = asyncio.run(_measure_ui(spans))

    presses = sorted(ui["presses"])
    table = Table(title=f"Waterfall, {len(spans):,} spans, depth 4, {TERMINAL[0]}x{TERMINAL[1]}")
    table.add_column("step")
    table.add_column("ms", justify="right")
    table.add_row("index the spans (first show)", f"{cold * 1e3:.1f}")
    table.add_row("index again, nothing new (a live refresh)", f"{warm * 1e3:.1f}")
    table.add_row("flatten the visible rows", f"{flat * 1e3:.1f}")
    table.add_row("show() call", f"{ui['show_call'] * 1e3:.1f}")
    table.add_row("[bold]first paint: show() → first frame[/] (spans in memory; Enter → painted "
                  "in the real studio: bench ui_app)", f"[bold]{ui['first_paint'] * 1e3:.1f}")
    table.add_row(
        f"[bold]{PAGE_DOWNS} × pagedown, key → frame, total", f"[bold]{sum(presses) * 1e3:.1f}"
    )
    table.add_row(
        "  one pagedown, median / worst",
        f"{presses[len(presses) // 2] * 1e3:.1f} / {presses[-1] * 1e3:.1f}",
    )
    table.add_row("end (jump to the last row), key → frame", f"{ui['end'] * 1e3:.1f}")
    table.add_row(
        f"{PAGE_DOWNS} × pagedown through Pilot (≥ 40 ms idle wait each)",
        f"{ui['through_pilot'] * 1e3:.0f}",
    )
    console.print(table)
    console.print("[dim]key → frame includes waiting for the screen's next refresh (≤ 1/60 s).[/]")
