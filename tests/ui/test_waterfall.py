"""The waterfall widget on its own: rows, folding, the cursor, live spans, errors, 10k spans."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.pilot import Pilot
from textual.strip import Strip

from bench.ui_waterfall import generated_trace
from lumos_studio.store.span_headers import SpanLike
from lumos_studio.ui.waterfall_layout import EIGHTHS, OPEN_END
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import MS, T0, make_span, weather_trace
from tests.ui.helpers import wait_for

TRACE = "0af7651916cd43dd8448eb211c80319c"
AGENT, CHAT, TOOL, ANSWER = (f"a00000000000000{i}" for i in range(1, 5))


class Host(App[None]):
    """The widget alone, recording what it reports the way the studio would receive it."""

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        super().__init__()
        self.clock = clock or (lambda: T0 + 10_000 * MS)
        self.chosen: list[SpanLike] = []

    def compose(self) -> ComposeResult:
        yield TraceWaterfall(id="tree", clock=lambda: self.clock())

    @on(TraceWaterfall.SpanChosen)
    def record_choice(self, message: TraceWaterfall.SpanChosen) -> None:
        self.chosen.append(message.span)


def strips(widget: TraceWaterfall) -> list[Strip]:
    """The widget's painted lines inside its border: the scale first, then one per row."""
    lines = widget.render_lines(Region(0, 0, *widget.outer_size))
    return [line.crop(1, line.cell_length - 1) for line in lines[1:-1]]


def text(widget: TraceWaterfall) -> list[str]:
    return [strip.text.rstrip() for strip in strips(widget)]


def bar_cells(line: str) -> int:
    return sum(line.count(glyph) for glyph in EIGHTHS[1:])


async def open_weather(pilot: Pilot[None]) -> TraceWaterfall:
    widget = pilot.app.query_one(TraceWaterfall)
    widget.show(TRACE, weather_trace(TRACE))
    widget.select_span(AGENT)
    widget.focus()
    await pilot.pause()
    return widget


async def test_the_weather_trace_shows_four_rows_under_a_time_scale() -> None:
    app = Host()
    async with app.run_test(size=(120, 12)) as pilot:
        widget = await open_weather(pilot)
        assert [(r.depth, widget.spans[r.span_id].name) for r in widget.rows] == [
            (0, "invoke_agent weather"), (1, "chat scripted"),
            (1, "execute_tool get_weather"), (1, "chat scripted"),
        ]
        scale, *rows = text(widget)[:5]
        assert scale.startswith("Span") and "Duration" in scale
        assert " 0 " in scale and "100ms" in scale and "200ms" in scale
        assert rows[0].startswith("▾ invoke_agent weather")
        assert rows[1].startswith("├── chat scripted")
        assert rows[2].startswith("├── execute_tool get_weather")
        assert rows[3].startswith("└── chat scripted")
        assert "300.0ms" in rows[0] and "300µs" in rows[2]
        # Bars share one axis: the agent spans it all, each chat about half of it.
        assert bar_cells(rows[1]) < bar_cells(rows[0]) and bar_cells(rows[3]) < bar_cells(rows[0])
        assert rows[1].index("█") < rows[3].index("█")
        assert widget.border_subtitle == "4 spans"


async def test_moving_the_cursor_reports_the_span_under_it() -> None:
    app = Host()
    async with app.run_test(size=(120, 12)) as pilot:
        await open_weather(pilot)
        assert [s.span_id for s in app.chosen] == [AGENT]
        await pilot.press("down", "down")
        await pilot.press("up")
        assert [s.span_id for s in app.chosen] == [AGENT, CHAT, TOOL, CHAT]
        await pilot.press("end")
        assert app.chosen[-1].span_id == ANSWER
        await pilot.press("end")  # already there: nothing new to report
        await pilot.press("home")
        assert [s.span_id for s in app.chosen[-2:]] == [ANSWER, AGENT]


async def test_folding_hides_and_shows_children() -> None:
    app = Host()
    async with app.run_test(size=(120, 12)) as pilot:
        widget = await open_weather(pilot)
        await pilot.press("enter")
        assert [r.span_id for r in widget.rows] == [AGENT]
        assert text(widget)[1].startswith("▸ invoke_agent weather")
        assert text(widget)[2] == "" or "chat" not in text(widget)[2]
        await pilot.press("right")
        assert len(widget.rows) == 4
        await pilot.press("right")  # unfolded already: step into the first child
        assert widget.cursor_span is not None and widget.cursor_span.span_id == CHAT
        await pilot.press("left")  # a leaf: back to its parent
        assert widget.cursor_span is not None and widget.cursor_span.span_id == AGENT
        await pilot.press("left", "space")
        assert len(widget.rows) == 4
        await pilot.press("E")
        assert len(widget.rows) == 1
        await pilot.press("e")
        assert len(widget.rows) == 4


async def test_a_click_selects_a_row_and_a_click_on_the_marker_folds_it() -> None:
    app = Host()
    async with app.run_test(size=(120, 12)) as pilot:
        widget = await open_weather(pilot)
        # Border, then the scale: row r is at y = 2 + r; the root's marker is at x = 1.
        await pilot.click(TraceWaterfall, offset=(20, 4))
        assert widget.cursor_span is not None and widget.cursor_span.span_id == TOOL
        await pilot.click(TraceWaterfall, offset=(1, 2))
        assert [r.span_id for r in widget.rows] == [AGENT]


async def test_running_spans_tick_and_their_bars_grow_open_ended() -> None:
    now = [T0 + 100 * MS]
    app = Host(clock=lambda: now[0])
    async with app.run_test(size=(120, 12)) as pilot:
        widget = app.query_one(TraceWaterfall)
        widget.show(TRACE, [
            make_span("invoke_agent slow", span_id=AGENT, duration_ms=None,
                      attributes={"gen_ai.operation.name": "invoke_agent"}),
            make_span("execute_tool slow_lookup", span_id=TOOL, parent=AGENT,
                      start=T0 + 50 * MS, duration_ms=None,
                      attributes={"gen_ai.operation.name": "execute_tool"}),
        ])
        await pilot.pause()
        tool_row = text(widget)[2]
        assert "⏵ 50.0ms" in tool_row and tool_row.endswith(OPEN_END)
        before = bar_cells(tool_row)
        now[0] = T0 + 200 * MS
        await wait_for(pilot, lambda: "⏵ 150.0ms" in text(widget)[2])  # the tick repaints
        assert bar_cells(text(widget)[2]) > before
        # It ends: the timer stops, the open end goes, the shape is unchanged.
        rows = widget.rows
        widget.show(TRACE, [
            make_span("invoke_agent slow", span_id=AGENT, duration_ms=220),
            make_span("execute_tool slow_lookup", span_id=TOOL, parent=AGENT,
                      start=T0 + 50 * MS, duration_ms=160),
        ])
        await pilot.pause()
        assert widget.rows is rows  # an update that only ends spans does not re-flatten
        assert "160.0ms" in text(widget)[2] and OPEN_END not in text(widget)[2]


async def test_spans_arriving_while_live_keep_the_cursor_where_it_was() -> None:
    app = Host()
    async with app.run_test(size=(120, 12)) as pilot:
        widget = app.query_one(TraceWaterfall)
        first, chat, tool, answer = weather_trace(TRACE)
        widget.show(TRACE, [first, chat])
        widget.select_span(CHAT)
        await pilot.pause()
        widget.show(TRACE, [first, chat, tool, answer])
        await pilot.pause()
        assert len(widget.rows) == 4 and widget.border_subtitle == "4 spans"
        assert widget.cursor_span is not None and widget.cursor_span.span_id == CHAT
        assert [s.span_id for s in app.chosen] == [CHAT]  # no second report for the same span


async def test_an_error_span_is_red_and_n_p_jump_between_errors() -> None:
    app = Host()
    async with app.run_test(size=(120, 12)) as pilot:
        widget = app.query_one(TraceWaterfall)
        spans = weather_trace(TRACE)
        broken = make_span("execute_tool broken", span_id="e1", parent=CHAT,
                           start=T0 + 20 * MS, duration_ms=30, status="ERROR",
                           attributes={"gen_ai.operation.name": "execute_tool"})
        also = make_span("chat failed", span_id="e2", parent=AGENT, start=T0 + 299 * MS,
                         duration_ms=1, status="ERROR")
        widget.show(TRACE, [*spans, broken, also])
        widget.focus()
        await pilot.pause()
        red = widget.get_component_rich_style("waterfall--error").color
        tool_colour = widget.get_component_rich_style("waterfall--tool").color
        assert red is not None and red != tool_colour
        row = [r.span_id for r in widget.rows].index("e1")
        line = strips(widget)[1 + row]
        name = next(s for s in line if "execute_tool broken" in s.text)
        assert name.style is not None and name.style.color == red
        assert any("█" in s.text and s.style is not None and s.style.color == red for s in line)

        await pilot.press("E", "n")  # folded away: the jump unfolds to it
        assert widget.cursor_span is not None and widget.cursor_span.span_id == "e1"
        await pilot.press("n")
        assert widget.cursor_span.span_id == "e2"
        await pilot.press("n")  # wraps around
        assert widget.cursor_span.span_id == "e1"
        await pilot.press("p")
        assert widget.cursor_span.span_id == "e2"


async def test_a_ten_thousand_span_trace_opens_and_scrolls() -> None:
    spans = generated_trace()
    app = Host()
    async with app.run_test(size=(120, 30)) as pilot:
        widget = app.query_one(TraceWaterfall)
        widget.show("4bf92f3577b34da6a3ce929d0e0e4736", spans)
        widget.select_span(spans[0].span_id)
        widget.focus()
        await pilot.pause()
        assert len(widget.rows) == 10_000 and max(r.depth for r in widget.rows) == 3
        page = widget.page_rows
        assert page == 30 - 2 - 1  # border and the scale
        await pilot.press("pagedown")
        assert widget.cursor_row == page
        await pilot.press("pagedown")
        assert widget.cursor_row == 2 * page
        assert f" {widget.spans[widget.rows[2 * page].span_id].name} " in text(widget)[-1]
        await pilot.press("end")
        assert widget.cursor_row == 9_999 and widget.scroll_y == widget.max_scroll_y
        last = widget.spans[widget.rows[-1].span_id]
        assert f" {last.name} " in text(widget)[-1]
        assert app.chosen[-1] is last
        await pilot.press("home", "E")
        assert len(widget.rows) == 1
        await pilot.press("n")
        assert widget.cursor_span is not None and widget.cursor_span.status_code == "ERROR"


def test_snapshot_of_the_weather_trace_with_the_tool_call_selected(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def select_the_tool_call(pilot: Pilot[None]) -> None:
        widget = await open_weather(pilot)
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: widget.cursor_row == 2)

    assert snap_compare(Host(), run_before=select_the_tool_call, terminal_size=(120, 20))


async def test_a_narrow_waterfall_keeps_each_duration_with_its_unit() -> None:
    """At 80x24 the pane is some 24 cells wide, a scrollbar takes two: no bars, names cut
    with …, durations short but with their unit, the header ``Dur``."""
    app = Host()
    async with app.run_test(size=(26, 5)) as pilot:
        widget = await open_weather(pilot)
        assert widget.scrollable_content_region.width == 22  # the scrollbar is showing
        lines = [line[:22] for line in text(widget)]
        assert lines[0].startswith("Span") and lines[0].endswith("Dur")
        assert lines[1:] == ["▾ invoke_agen…   300ms", "├── chat scri…   150ms"]
        widget.scroll_to(y=2, animate=False)
        await pilot.pause()
        lines = [line[:22] for line in text(widget)]
        assert lines[1:] == ["├── execute_t…   300µs", "└── chat scri…   146ms"]
        assert not any(bar_cells(line) for line in lines)


async def test_a_middling_waterfall_shortens_durations_to_keep_the_bars() -> None:
    app = Host()
    async with app.run_test(size=(48, 8)) as pilot:
        widget = await open_weather(pilot)
        scale, *rows = text(widget)[:5]
        assert scale.startswith("Span") and " Dur " in scale
        assert rows[2].startswith("├── execute_tool get_weather    300µs ")
        assert all(bar_cells(row) for row in rows)
