"""The logs pane: every log record, filtered, following live like ``tail -f``.

``LogLines`` is a virtualised list (a ``ScrollView`` rendering only visible lines, fetched a
page at a time into a small LRU cache, like toolong's ``LogLines``); ``LogsPane`` adds the filter
bar and the match count. All SQLite work runs in thread workers (``store.log_queries``) that post
messages back; widgets are touched only on the UI thread.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.containers import Horizontal, Vertical
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Checkbox, Input, Label, Select
from textual.worker import get_current_worker

from lumos_studio.store import log_queries as lq
from lumos_studio.store.connection import open_reader_connection
from lumos_studio.store.log_filter import LogFilter
from lumos_studio.store.log_queries import Anchor, LogMatches, LogRow

PAGE = 50  # rows fetched per query; the cache keeps PAGES of them
PAGES = 40
LEVEL_CHOICES: tuple[tuple[str, int], ...] = (
    ("all levels", 0), ("debug+", 5), ("info+", 9), ("warn+", 13), ("error+", 17), ("fatal", 21),
)
SCOPES = ("all", "trace", "span")
_NAMES = re.compile(r"\b(logger|service):(\S+)")


def parse_query(text: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """``timeout logger:httpx service:api`` → (rest, loggers, services)."""
    loggers = frozenset(v for k, v in _NAMES.findall(text) if k == "logger")
    services = frozenset(v for k, v in _NAMES.findall(text) if k == "service")
    return _NAMES.sub("", text).strip(), loggers, services


class _Reader:
    """One read-only connection, used by one worker thread at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = open_reader_connection(self.path)
            self._connection.row_factory = None
        return self._connection

    def interrupt(self) -> None:
        """Abort the statement running now (a filter the user has already replaced)."""
        if self._connection is not None:
            self._connection.interrupt()

    def close(self) -> None:
        with self.lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class LogLines(ScrollView, can_focus=True):
    """The matching logs, oldest first, one line each; only visible pages are fetched."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "loglines--cursor", "loglines--time", "loglines--logger", "loglines--span",
        "loglines--selected-span", "loglines--match", "loglines--trace", "loglines--debug",
        "loglines--info", "loglines--warn", "loglines--error", "loglines--fatal",
    }
    DEFAULT_CSS = """
    LogLines {
        height: 1fr;
        scrollbar-gutter: stable;
        & > .loglines--cursor { background: $surface-lighten-1; }
        &:focus > .loglines--cursor { background: $accent 40%; }
        & > .loglines--time { color: $text-muted; }
        & > .loglines--logger { color: $secondary; }
        & > .loglines--span { color: $primary; }
        & > .loglines--selected-span { color: $accent; text-style: bold; }
        & > .loglines--match { background: $warning 35%; }
        & > .loglines--trace { color: $text-disabled; }
        & > .loglines--debug { color: $text-muted; }
        & > .loglines--info { color: $success; }
        & > .loglines--warn { color: $warning; }
        & > .loglines--error { color: $error; text-style: bold; }
        & > .loglines--fatal { color: $text; background: $error; text-style: bold; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "follow", "Follow"),
        Binding("enter", "jump", "Go to span"),
    ]

    cursor: reactive[int] = reactive(0, repaint=False)
    following: reactive[bool] = reactive(True, repaint=False)

    @dataclass
    class PageWanted(Message):
        """A visible page is missing; the pane fetches it."""

        page: int
        anchors: tuple[Anchor, ...]

    @dataclass
    class Chosen(Message):
        """Enter (or a second click) on a line."""

        row: LogRow

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.matches: LogMatches | None = None
        self.generation = 0  # bumped whenever positions may have moved
        self.pages: LRUCache[int, tuple[int, list[LogRow]]] = LRUCache(PAGES)
        self._asked: set[tuple[int, int]] = set()
        self.span: tuple[str | None, str | None] = (None, None)
        self.highlight: re.Pattern[str] | None = None

    # --- data in ---

    def show(self, matches: LogMatches, *, moved: bool) -> None:
        """New matches; ``moved``: positions changed (a new filter), so cached pages are stale."""
        self.matches = matches
        self.generation += 1
        if moved:
            self.pages.clear()
        self._asked.clear()
        self.virtual_size = Size(self.scrollable_content_region.width, matches.count)
        if self.following or moved:
            self.action_follow()
        else:
            self.cursor = min(self.cursor, max(0, matches.count - 1))
        self.refresh()

    def page_loaded(self, generation: int, page: int, rows: list[LogRow]) -> None:
        self._asked.discard((generation, page))
        if generation == self.generation:
            self.pages[page] = (generation, rows)
            self.refresh()

    def row(self, position: int) -> LogRow | None:
        cached = self.pages.get(position // PAGE)
        if cached is None:
            return None
        rows = cached[1]
        index = position % PAGE
        return rows[index] if index < len(rows) else None

    # --- rendering ---

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.matches is not None:
            top, height = self.scroll_offset.y, self.size.height
            if self.following:  # about to land on the newest lines: fetch those, not these
                top = max(0, self.matches.count - height)
            for page in range(top // PAGE, (top + height) // PAGE + 1):
                self._want(page)
        return super().render_lines(crop)

    def _want(self, page: int) -> None:
        assert self.matches is not None
        if page * PAGE >= self.matches.count:
            return
        cached = self.pages.get(page)
        key = (self.generation, page)
        if (cached is not None and cached[0] == self.generation) or key in self._asked:
            return
        self._asked.add(key)
        anchors = []
        for neighbour, index in ((page - 1, -1), (page + 1, 0)):
            near = self.pages.get(neighbour)
            if near is not None and near[0] == self.generation and near[1]:
                row = near[1][index]
                position = neighbour * PAGE + (len(near[1]) - 1 if index == -1 else 0)
                anchors.append(Anchor(position, row.time_ns, row.id))
        self.post_message(self.PageWanted(page, tuple(anchors)))

    def render_line(self, y: int) -> Strip:
        position = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if self.matches is None or position >= self.matches.count:
            return Strip.blank(width, base)
        row = self.row(position)
        text = self._line(row) if row is not None else Text("  …", style="dim")
        text.truncate(width, pad=True)
        if position == self.cursor:
            text.stylize(self.get_component_rich_style("loglines--cursor"))
        strip = Strip(text.render(self.app.console), text.cell_len)
        return strip.adjust_cell_length(width, base).apply_style(base)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"loglines--{name}")

    def _line(self, row: LogRow) -> Text:
        """``12:00:01.250 ERROR app.db ◆ message``."""
        stamp = datetime.fromtimestamp(row.time_ns / 1e9).strftime("%H:%M:%S.%f")[:-3]
        level = row.level or "·"
        level_style = self._style(level.lower()) if level.lower() in (
            "trace", "debug", "info", "warn", "error", "fatal") else Style()
        text = Text(no_wrap=True, end="")
        text.append(stamp, self._style("time"))
        text.append(" ")
        text.append(f"{level:<5}"[:5], level_style)
        text.append(" ")
        source = row.scope_name or row.service_name or row.event_name
        text.append(f"{source[-16:]:<16}", self._style("logger"))
        text.append(" ")
        if row.span_id and self.span == (row.trace_id, row.span_id):
            text.append("▌", self._style("selected-span"))  # the span selected in the app
        elif row.span_id:
            text.append("◆", self._style("span"))
        elif row.trace_id:
            text.append("◇", self._style("trace"))
        else:
            text.append(" ")
        text.append(" ")
        start = len(text)
        message = row.message.replace("\r", "").replace("\n", " ⏎ ")
        if row.event_name and row.event_name != source:
            message = f"{row.event_name} {message}"
        text.append(message[:1000])
        if self.highlight is not None:
            match_style = self._style("match")
            for found in self.highlight.finditer(message[:1000]):
                text.stylize(match_style, start + found.start(), start + found.end())
        return text

    # --- cursor and following ---

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old - self.scroll_offset.y)
        self.refresh_line(new - self.scroll_offset.y)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self.matches is None:
            return
        at_bottom = round(new) >= self.max_scroll_y
        if at_bottom and not self.following and round(old) < round(new):
            self.action_follow()  # the user scrolled back down: tail again
        elif not at_bottom and round(new) < round(old):
            self.following = False

    def _move(self, position: int) -> None:
        if self.matches is None or not self.matches.count:
            return
        last = self.matches.count - 1
        self.cursor = max(0, min(last, position))
        self.following = self.cursor == last
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self._move(0)

    def action_follow(self) -> None:
        """Go to the newest line and stay there as logs arrive."""
        if self.matches is None:
            return
        self.following = True
        self.cursor = max(0, self.matches.count - 1)
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True)

    def action_jump(self) -> None:
        row = self.row(self.cursor) if self.matches is not None else None
        if row is not None:
            self.post_message(self.Chosen(row))

    def on_click(self, event: events.Click) -> None:
        if self.matches is None:
            return
        position = self.scroll_offset.y + event.y
        if position >= self.matches.count:
            return
        if position == self.cursor and event.chain >= 2:
            self.action_jump()
        self._move(position)

    def scroll_to_position(self, position: int) -> None:
        """Put ``position`` under the cursor, in the middle of the view, and stop following."""
        self._move(position)
        self.following = self.cursor == (self.matches.count - 1 if self.matches else 0)
        middle = max(0, position - self.scrollable_content_region.height // 2)
        self.scroll_to(y=middle, animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        if self.matches is not None:
            self.virtual_size = Size(self.scrollable_content_region.width, self.matches.count)
            if self.following:
                self.action_follow()


class LogsPane(Vertical):
    """Logs of every source with a filter bar; posts ``JumpToSpan`` on Enter.

    The app calls ``refresh_logs()`` when the writer reports new logs (at most ~10 per second)
    and ``show_span()`` when a span is selected.
    """

    BORDER_TITLE = "Logs"
    DEFAULT_CSS = """
    LogsPane {
        height: 1fr;
        & > #logs-bar { height: 1; }
        & > #logs-bar > Select { width: 15; }
        & > #logs-bar > #logs-scope { width: 13; }
        & > #logs-bar > Input { width: 1fr; }
        & > #logs-bar > Checkbox { width: auto; }
        & > #logs-bar > #logs-count {
            width: auto; min-width: 12; padding: 0 1; color: $text-muted;
        }
        & > #logs-bar > #logs-count.-error { color: $error; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", key_display="/"),
        Binding("v", "cycle_level", "Level"),
        Binding("x", "toggle_regex", "Regex"),
        Binding("o", "cycle_scope", "Only span/trace"),
        Binding("s", "span_logs", "Span's logs"),
        Binding("escape", "focus_lines", "Back to logs", show=False),
    ]

    class JumpToSpan(Message):
        """Enter on a log tied to a span: the app selects that span."""

        def __init__(self, trace_id: str, span_id: str | None) -> None:
            super().__init__()
            self.trace_id = trace_id
            self.span_id = span_id

    @dataclass
    class _Resolved(Message):
        matches: LogMatches
        moved: bool  # a new filter: positions changed
        partial: bool = False  # only the newest matches, the count still to come

    @dataclass
    class _PageLoaded(Message):
        generation: int
        page: int
        rows: list[LogRow]

    @dataclass
    class _Located(Message):
        matches: LogMatches
        position: int | None

    @dataclass
    class _Failed(Message):
        filter: LogFilter
        error: str

    def __init__(self, store_path: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.store_path = store_path
        self._resolver = _Reader(store_path)
        self._pager = _Reader(store_path)
        self.filter = LogFilter()
        self.scope = "all"
        self.span: tuple[str | None, str | None] = (None, None)
        self._updating = False
        self._stale = False
        self._partial = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="logs-bar"):
            yield Select(LEVEL_CHOICES, value=0, allow_blank=False, compact=True, id="logs-level")
            yield Input(placeholder="/ words · logger:name · service:name", compact=True,
                        id="logs-filter")
            yield Checkbox("regex", compact=True, id="logs-regex")
            yield Select([(f"only {s}" if s != "all" else "all spans", s) for s in SCOPES],
                         value="all", allow_blank=False, compact=True, id="logs-scope")
            yield Label("", id="logs-count")
        yield LogLines(id="log-lines")

    @property
    def lines(self) -> LogLines:
        return self.query_one(LogLines)

    def on_mount(self) -> None:
        self.watch(self.lines, "following", self._show_following)
        self._apply_filter()

    def _show_following(self, following: bool) -> None:
        self.border_subtitle = "following" if following else "paused · end to follow"

    def on_unmount(self) -> None:
        self._resolver.interrupt()
        self._resolver.close()
        self._pager.close()

    # --- what the app calls ---

    def refresh_logs(self) -> None:
        """New logs were written: add them to the view (cheap; coalesced if one is running)."""
        if self.lines.matches is None or self._partial:
            return  # a count is on its way, and it will include them
        if self._updating:
            self._stale = True
            return
        self._updating = True
        self._update(self.lines.matches)

    def show_span(self, trace_id: str | None, span_id: str | None) -> None:
        """The span selected elsewhere: marked in the list, and the filter when scoped to it."""
        self.span = (trace_id, span_id)
        self.lines.span = self.span
        self.lines.refresh()
        if self.scope != "all":
            self._apply_filter()

    def action_span_logs(self) -> None:
        """Scroll to the first log of the selected span (the way back from a span to its logs)."""
        trace_id, span_id = self.span
        if trace_id is None or self.lines.matches is None:
            self.notify("Select a span first.", severity="warning")
            return
        self._locate(self.lines.matches, trace_id, span_id)

    # --- filter bar ---

    def build_filter(self) -> LogFilter:
        text, loggers, services = parse_query(self.query_one("#logs-filter", Input).value)
        regex = self.query_one("#logs-regex", Checkbox).value
        level = self.query_one("#logs-level", Select).value
        trace_id, span_id = self.span
        return LogFilter(
            min_severity=level if isinstance(level, int) else 0,
            loggers=loggers,
            services=services,
            text="" if regex else text,
            regex=text if regex else "",
            trace_id=trace_id if self.scope != "all" else None,
            span_id=span_id if self.scope == "span" else None,
        )

    @on(Input.Changed, "#logs-filter")
    @on(Checkbox.Changed, "#logs-regex")
    @on(Select.Changed, "#logs-level")
    def _filter_changed(self, event: Message) -> None:
        event.stop()
        self._apply_filter()

    @on(Select.Changed, "#logs-scope")
    def _scope_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.scope = str(event.value)
        self._apply_filter()

    @on(Input.Submitted, "#logs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.lines.focus()

    def _apply_filter(self) -> None:
        log_filter = self.build_filter()
        count = self.query_one("#logs-count", Label)
        if log_filter.regex:
            try:
                re.compile(log_filter.regex)
            except re.error as error:
                count.update(f"regex: {error.msg}")
                count.add_class("-error")
                return
        count.remove_class("-error")
        if self.scope != "all" and self.span[0] is None:
            count.update("select a span")
        self.filter = log_filter
        words = log_filter.regex or " ".join(re.escape(w) for w in log_filter.text.split())
        try:
            self.lines.highlight = re.compile(words, re.IGNORECASE) if words else None
        except re.error:
            self.lines.highlight = None
        self._resolver.interrupt()
        self._resolve(log_filter)

    def action_focus_filter(self) -> None:
        self.query_one("#logs-filter", Input).focus()

    def action_focus_lines(self) -> None:
        self.lines.focus()

    def action_cycle_level(self) -> None:
        select = self.query_one("#logs-level", Select)
        values = [v for _, v in LEVEL_CHOICES]
        current = select.value if select.value in values else 0
        select.value = values[(values.index(current) + 1) % len(values)]

    def action_toggle_regex(self) -> None:
        self.query_one("#logs-regex", Checkbox).toggle()

    def action_cycle_scope(self) -> None:
        select = self.query_one("#logs-scope", Select)
        select.value = SCOPES[(SCOPES.index(self.scope) + 1) % len(SCOPES)]

    # --- workers: SQLite off the UI thread, results back as messages ---

    @work(thread=True, exclusive=True, group="logs-resolve")
    def _resolve(self, log_filter: LogFilter) -> None:
        worker = get_current_worker()
        with self._resolver.lock:
            if worker.is_cancelled:
                return
            try:
                connection, stop = self._resolver.connection(), lambda: worker.is_cancelled
                if log_filter.regex:  # counting reads every candidate: show the newest first
                    first = lq.newest_matches(connection, log_filter, PAGE, stop)
                    self.post_message(self._Resolved(first, moved=True, partial=True))
                matches = lq.match_logs(connection, log_filter, stop)
            except lq.Cancelled:
                return
            except (sqlite3.Error, re.error) as error:
                if not worker.is_cancelled:
                    self.post_message(self._Failed(log_filter, str(error)))
                return
        if not worker.is_cancelled:
            self.post_message(self._Resolved(matches, moved=True))

    @work(thread=True, group="logs-update")
    def _update(self, matches: LogMatches) -> None:
        with self._resolver.lock:
            try:
                updated = lq.update_matches(self._resolver.connection(), matches)
            except (sqlite3.Error, lq.Cancelled):
                updated = matches
        self.post_message(self._Resolved(updated, moved=False))

    @work(thread=True, group="logs-page")
    def _load_page(
        self, matches: LogMatches, generation: int, page: int, anchors: tuple[Anchor, ...]
    ) -> None:
        with self._pager.lock:
            try:
                rows = lq.fetch_window(self._pager.connection(), matches, page * PAGE, PAGE,
                                       anchors)
            except sqlite3.Error:
                rows = []
        self.post_message(self._PageLoaded(generation, page, rows))

    @work(thread=True, exclusive=True, group="logs-locate")
    def _locate(self, matches: LogMatches, trace_id: str, span_id: str | None) -> None:
        with self._pager.lock:
            connection = self._pager.connection()
            first = connection.execute(
                "SELECT time_ns, id FROM logs WHERE trace_id = ? AND (? IS NULL OR span_id = ?) "
                "ORDER BY time_ns, id LIMIT 1", (trace_id, span_id, span_id)).fetchone()
            position = lq.position_at(connection, matches, *first) if first else None
        self.post_message(self._Located(matches, position))

    # --- worker results ---

    def on_logs_pane__located(self, message: _Located) -> None:
        message.stop()
        lines = self.lines
        if message.matches is not lines.matches:
            return
        if message.position is None or not lines.matches.count:
            self.notify("No logs for this span in the list.", severity="warning")
            return
        lines.scroll_to_position(min(message.position, lines.matches.count - 1))
        lines.focus()

    def on_logs_pane__resolved(self, message: _Resolved) -> None:
        message.stop()
        matches = message.matches
        if not message.moved:
            self._updating = False
            if matches.filter != self.filter:
                return
            if self._stale:
                self._stale = False
                self.call_later(self.refresh_logs)
        elif matches.filter != self.filter:
            return
        self.lines.show(matches, moved=message.moved)
        self._show_count(matches)
        self._partial = message.partial
        if message.partial:
            self.query_one("#logs-count", Label).update("counting…")

    def _show_count(self, matches: LogMatches) -> None:
        noun = "logs" if matches.filter.trace_id is None and matches.filter.empty else "matches"
        if matches.count == 1:
            noun = noun[:-1] if noun == "logs" else "match"
        label = self.query_one("#logs-count", Label)
        if not (self.scope != "all" and self.span[0] is None):
            label.update(f"{matches.count:,} {noun}")

    def on_logs_pane__page_loaded(self, message: _PageLoaded) -> None:
        message.stop()
        self.lines.page_loaded(message.generation, message.page, message.rows)

    def on_logs_pane__failed(self, message: _Failed) -> None:
        message.stop()
        if message.filter == self.filter:
            label = self.query_one("#logs-count", Label)
            label.update(message.error[:60])
            label.add_class("-error")

    def on_log_lines_page_wanted(self, message: LogLines.PageWanted) -> None:
        message.stop()
        lines = self.lines
        if lines.matches is not None:
            self._load_page(lines.matches, lines.generation, message.page, message.anchors)

    def on_log_lines_chosen(self, message: LogLines.Chosen) -> None:
        message.stop()
        row = message.row
        if row.trace_id:
            self.post_message(self.JumpToSpan(row.trace_id, row.span_id))
        else:
            self.notify("This log is not tied to a span.", severity="warning")
