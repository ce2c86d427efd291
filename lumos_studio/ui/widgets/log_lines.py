"""The virtualised list of matching logs: a ``ScrollView`` that renders only visible lines,
fetched a page at a time into a small LRU cache (like toolong's ``LogLines``).

The pane around it (``logs_pane.LogsPane``) resolves filters and fetches pages in thread
workers; this widget only asks for pages (messages up) and draws what it has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from lumos_studio.display import safe_str
from lumos_studio.present import format_time
from lumos_studio.store.log_matches import Anchor, LogMatches, LogRow
from lumos_studio.ui.clipboard import copy_text

PAGE = 50  # rows fetched per query; the cache keeps PAGES of them
PAGES = 40
MESSAGE_LIMIT = 1_000  # characters of a log line shown


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
        Binding("y", "copy", "Copy record", show=False),
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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
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
            # Textual's LRUCache keeps the first value set for a key: replace, don't update.
            self.pages.discard(page)
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
        stamp = format_time(row.time_ns, "%H:%M:%S.%f")
        stamp = stamp[:-3] if len(stamp) > 3 else stamp.ljust(12)  # milliseconds
        level = safe_str(row.level, 5) or "·"
        level_style = self._style(level.lower()) if level.lower() in (
            "trace", "debug", "info", "warn", "error", "fatal") else Style()
        text = Text(no_wrap=True, end="")
        text.append(stamp, self._style("time"))
        text.append(" ")
        text.append(f"{level:<5}"[:5], level_style)
        text.append(" ")
        source = row.scope_name or row.service_name or row.event_name
        text.append(f"{safe_str(source[-16:]):<16}"[-16:], self._style("logger"))
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
        message = safe_str(message, MESSAGE_LIMIT)
        text.append(message)
        if self.highlight is not None:
            match_style = self._style("match")
            for found in self.highlight.finditer(message):
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

    def action_copy(self) -> None:
        """The record's body whole (the line shows its first ``MESSAGE_LIMIT`` characters)."""
        row = self.row(self.cursor) if self.matches is not None else None
        copy_text(self.app, row.message if row is not None else None, "the log record's body",
                  "no log record is selected")

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
