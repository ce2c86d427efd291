"""The logs pane on its own, over a real store: filters, the count, following, jumping to spans.

Each behaviour runs on both engines (``store_target``: SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Checkbox, Footer, Input

from lumos_studio.records import LogRecord
from lumos_studio.store import Store, StoreTarget
from lumos_studio.ui.widgets import logs_pane
from lumos_studio.ui.widgets.log_lines import LogLines
from lumos_studio.ui.widgets.logs_pane import LogsPane, parse_query
from tests.builders import T0
from tests.ui.helpers import wait_for

TRACE = "0af7651916cd43dd8448eb211c80319c"
OTHER_TRACE = "1bf7651916cd43dd8448eb211c80319c"
SPAN = "a000000000000003"
LEVELS = ((5, "DEBUG"), (9, "INFO"), (13, "WARN"), (17, "ERROR"), (21, "FATAL"))
MESSAGES = (
    "looking up the weather in Paris", "cache miss for key paris", "retrying after timeout",
    "connection refused by api.example.com", "tool get_weather returned", "memory updated",
)


def mixed_logs(count: int = 30, start: int = T0) -> list[LogRecord]:
    """Every level in turn; a third in the tool span, a third elsewhere in the trace or another."""
    logs = []
    for i in range(count):
        number, text = LEVELS[i % len(LEVELS)]
        trace_id, span_id = ((TRACE, SPAN), (TRACE, "a000000000000001"), (None, None),
                             (OTHER_TRACE, "b000000000000001"))[i % 4]
        logs.append(LogRecord(
            start + i * 250_000_000, f"{MESSAGES[i % len(MESSAGES)]} #{i}", number, text,
            trace_id, span_id, scope_name=("demo.tools", "httpx", "lumos_core.agent")[i % 3],
            resource={"service.name": "weather-agent"},
        ))
    return logs


class Host(App[None]):
    """Just the pane over a store, and what it asks the app to do; bordered as in the studio,
    where its bottom border holds the count."""

    CSS = "LogsPane { border: round $primary; }"

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.jumps: list[tuple[str, str | None]] = []

    def compose(self) -> ComposeResult:
        yield LogsPane(self.store.target, id="logs")
        yield Footer()

    def on_logs_pane_jump_to_span(self, message: LogsPane.JumpToSpan) -> None:
        self.jumps.append((message.trace_id, message.span_id))


@pytest.fixture
def store(store_target: StoreTarget) -> Iterator[Store]:
    opened = Store.open(store_target)
    yield opened
    opened.close()


def write(store: Store, logs: list[LogRecord]) -> None:
    store.writer.submit_many(logs)
    assert store.writer.flush()


def shown(app: App[None]) -> list[str]:
    """The messages on screen, top to bottom (lines not fetched yet are skipped)."""
    lines = app.query_one(LogLines)
    assert lines.matches is not None
    top, height = lines.scroll_offset.y, lines.scrollable_content_region.height
    rows = (lines.row(p) for p in range(top, min(top + height, lines.matches.count)))
    return [row.message for row in rows if row is not None]


def count_label(app: App[None]) -> str:
    return app.query_one(LogsPane).count_text


async def settled(pilot: Pilot, count: int) -> None:
    """Wait until the pane shows ``count`` matches and every visible line is fetched."""
    lines = pilot.app.query_one(LogLines)

    def ready() -> bool:
        if lines.matches is None or lines.matches.count != count:
            return False
        visible = min(count, lines.scrollable_content_region.height)
        return len(shown(pilot.app)) == visible

    await wait_for(pilot, ready)
    await pilot.pause()


async def test_shows_every_log_oldest_first_following_the_newest(store: Store) -> None:
    write(store, mixed_logs(30))
    app = Host(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, 30)
        lines = app.query_one(LogLines)
        assert shown(app)[0] == "looking up the weather in Paris #0"
        assert shown(app)[-1].endswith("#29")
        assert lines.following and lines.cursor == 29
        assert count_label(app) == "30 logs"


async def test_level_filter_keeps_that_level_and_above(store: Store) -> None:
    write(store, mixed_logs(30))
    app = Host(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, 30)
        app.query_one(LogLines).focus()
        await pilot.press("v", "v", "v", "v")  # all → debug+ → info+ → warn+ → error+
        await settled(pilot, 12)
        lines = app.query_one(LogLines)
        assert lines.matches is not None and lines.matches.filter.min_severity == 17
        levels = {lines.row(p).level for p in range(12)}  # type: ignore[union-attr]
        assert levels == {"ERROR", "FATAL"}
        assert count_label(app) == "12 matches"


@pytest.mark.parametrize("width", [36, 53, 120], ids=["the studio at 80x24", "120x40", "wide"])
async def test_the_filter_has_room_to_type_in_however_narrow_the_pane(
    store: Store, width: int
) -> None:
    """Beside the selects and the regex box the filter had one column in the studio at 80x24;
    a pane too narrow for one row puts it on a row of its own, under them."""
    write(store, mixed_logs(30))
    app = Host(store)
    async with app.run_test(size=(width, 20)) as pilot:
        await settled(pilot, 30)
        pane = app.query_one(LogsPane)
        level, scope = app.query_one("#logs-level"), app.query_one("#logs-scope")
        field = app.query_one("#logs-filter", Input)
        assert pane.content_size.width == width - 2
        assert field.region.width >= min(width - 2 - 13, 60)
        cramped = width - 2 < logs_pane.CRAMPED_BELOW
        assert pane.has_class("-cramped") is cramped
        assert (field.region.y > level.region.y) is cramped
        assert level.region.y == scope.region.y
        assert app.query_one(LogLines).region.y == field.region.bottom  # right under the bar
        app.query_one(LogLines).focus()
        await pilot.press("slash", *"timeout")
        await settled(pilot, 5)
        assert field.value == "timeout" and count_label(app) == "5 matches"


async def test_text_filter_narrows_as_you_type_and_counts(store: Store) -> None:
    write(store, mixed_logs(30))
    app = Host(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, 30)
        app.query_one(LogLines).focus()
        await pilot.press("slash")
        assert app.focused is app.query_one("#logs-filter", Input)
        await pilot.press(*"pari")  # a prefix, as typed: "Paris" and "paris"
        await settled(pilot, 10)
        assert all("paris" in message.lower() for message in shown(app))
        assert count_label(app) == "10 matches"
        await pilot.press(*"s logger:httpx")
        await settled(pilot, 5)
        assert [int(m.split("#")[1]) for m in shown(app)] == [1, 7, 13, 19, 25]
        await pilot.press("enter")
        assert app.focused is app.query_one(LogLines)


async def test_regex_filter_and_a_bad_pattern_says_why(store: Store) -> None:
    write(store, mixed_logs(30))
    app = Host(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, 30)
        app.query_one(LogLines).focus()
        await pilot.press("x")
        assert app.query_one("#logs-regex", Checkbox).value
        app.query_one("#logs-filter", Input).value = r"#(1|2)\d$"
        await settled(pilot, 20)
        assert [int(m.split("#")[1]) for m in shown(app)] == list(range(10, 30))
        app.query_one("#logs-filter", Input).value = r"#(1"
        await wait_for(pilot, lambda: count_label(app).startswith("regex:"))
        assert "missing )" in count_label(app)


async def test_a_long_regex_count_shows_how_far_it_has_read(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its newest matches first, then "counting… 34%" and on as it reads, then the count."""
    write(store, mixed_logs(12_000))
    monkeypatch.setattr(logs_pane, "COUNTING_EVERY", 0.0)
    labels: list[str] = []
    counting = LogsPane.on_logs_pane__counting

    def seen(pane: LogsPane, message: LogsPane._Counting) -> None:
        counting(pane, message)
        labels.append(count_label(pane.app))

    monkeypatch.setattr(LogsPane, "on_logs_pane__counting", seen)
    app = Host(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: count_label(app) == "12,000 logs")
        app.query_one(LogLines).focus()
        await pilot.press("x")
        app.query_one("#logs-filter", Input).value = r"#\d+$"  # no literal: every log read
        await wait_for(pilot, lambda: count_label(app) == "12,000 matches")
    shares = [int(label.removeprefix("counting… ").removesuffix("%"))
              for label in labels if label.endswith("%")]
    assert shares and shares == sorted(shares) and shares[-1] <= 100


async def test_only_the_selected_span_or_trace(store: Store) -> None:
    write(store, mixed_logs(30))
    app = Host(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, 30)
        pane = app.query_one(LogsPane)
        pane.show_span(TRACE, SPAN)
        app.query_one(LogLines).focus()
        await pilot.press("o")  # only this trace
        await settled(pilot, 16)
        await pilot.press("o")  # only this span
        await settled(pilot, 8)
        assert all(int(m.split("#")[1]) % 4 == 0 for m in shown(app))
        pane.show_span(OTHER_TRACE, "b000000000000001")  # another span selected: follows it
        await settled(pilot, 7)
        await pilot.press("o")  # back to everything
        await settled(pilot, 30)


async def test_enter_on_a_line_asks_the_app_to_select_its_span(store: Store) -> None:
    write(store, mixed_logs(30))
    app = Host(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, 30)
        app.query_one(LogLines).focus()
        await pilot.press("enter")  # #29: the agent span
        await pilot.press("up", "up", "enter")  # #27: the other trace
        await pilot.press("up", "enter")  # #26: no span, nothing to select
        await pilot.press("up", "up", "enter")  # #24: the tool span
        await pilot.pause()
        assert app.jumps == [
            (TRACE, "a000000000000001"), (OTHER_TRACE, "b000000000000001"), (TRACE, SPAN),
        ]


async def test_from_the_selected_span_back_to_its_first_log(store: Store) -> None:
    write(store, mixed_logs(100))
    app = Host(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, 100)
        pane, lines = app.query_one(LogsPane), app.query_one(LogLines)
        pane.show_span(TRACE, SPAN)
        lines.focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: lines.cursor == 0)
        assert not lines.following
        pane.show_span(OTHER_TRACE, "b000000000000001")
        await pilot.press("s")
        await wait_for(pilot, lambda: lines.cursor == 3)
        await wait_for(pilot, lambda: lines.row(3) is not None)
        assert lines.row(lines.cursor).span_id == "b000000000000001"  # type: ignore[union-attr]


async def test_follows_new_logs_until_scrolled_up_and_again_at_the_end(store: Store) -> None:
    write(store, mixed_logs(100))
    app = Host(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, 100)
        lines, pane = app.query_one(LogLines), app.query_one(LogsPane)
        assert lines.following and lines.scroll_offset.y == lines.max_scroll_y > 0
        write(store, mixed_logs(5, start=T0 + 100 * 250_000_000))
        pane.refresh_logs()
        await settled(pilot, 105)
        assert lines.following and lines.cursor == 104
        assert shown(app)[-1].endswith("#4") and lines.scroll_offset.y == lines.max_scroll_y
        lines.focus()
        await pilot.press("pageup")
        assert not lines.following and str(pane.border_subtitle).endswith("paused · end to follow")
        top = lines.scroll_offset.y
        write(store, mixed_logs(5, start=T0 + 200 * 250_000_000))
        pane.refresh_logs()
        await settled(pilot, 110)
        assert not lines.following and lines.scroll_offset.y == top  # stays where the user is
        await pilot.press("end")
        await wait_for(pilot, lambda: lines.scroll_offset.y == lines.max_scroll_y)
        assert lines.following and lines.cursor == 109
        assert str(pane.border_subtitle) == "110 logs · following"


async def test_new_logs_on_a_page_already_shown_are_fetched_too(store: Store) -> None:
    write(store, mixed_logs(3))
    app = Host(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, 3)
        write(store, mixed_logs(4, start=T0 + 100 * 250_000_000))
        app.query_one(LogsPane).refresh_logs()
        await settled(pilot, 7)  # the first page again, now with seven rows, not three and "…"
        assert shown(app)[-1].endswith("#3")


async def test_scrolling_back_to_the_bottom_resumes_following(store: Store) -> None:
    write(store, mixed_logs(100))
    app = Host(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, 100)
        lines = app.query_one(LogLines)
        lines.scroll_to(y=10, animate=False, immediate=True)
        await pilot.pause()
        assert not lines.following
        lines.scroll_to(y=lines.max_scroll_y, animate=False, immediate=True)
        await pilot.pause()
        assert lines.following


def test_query_words_for_logger_and_service() -> None:
    assert parse_query("timeout logger:httpx service:api logger:db") == (
        "timeout", frozenset({"httpx", "db"}), frozenset({"api"}))


async def run_to_steady(pilot: Pilot) -> None:
    await settled(pilot, 30)
    pilot.app.query_one(LogsPane).show_span(TRACE, SPAN)
    pilot.app.query_one(LogLines).focus()
    await pilot.press("up", "up")
    await pilot.pause()


def test_snapshot_of_mixed_levels(snap_compare, relative_store: Store) -> None:  # type: ignore[no-untyped-def]
    store = relative_store
    write(store, mixed_logs(30))
    assert snap_compare(Host(store), run_before=run_to_steady, terminal_size=(120, 40))
