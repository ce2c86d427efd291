"""The logs pane: every log record, filtered, following live like ``tail -f``.

``LogLines`` (``log_lines.py``) is the virtualised list; ``LogsPane`` adds the filter bar and the
match count. All SQLite work runs in thread workers (``store.log_queries``) that post
messages back; widgets are touched only on the UI thread.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Input, Select
from textual.worker import get_current_worker

from lumos_studio.display import safe_text
from lumos_studio.store import StoreTarget
from lumos_studio.store.log_filter import LogFilter
from lumos_studio.store.log_matches import Anchor, Cancelled, LogMatches, LogRow, Progress
from lumos_studio.store.log_source import log_source
from lumos_studio.ui.widgets.log_lines import PAGE, LogLines

LEVEL_CHOICES: tuple[tuple[str, int], ...] = (
    ("all levels", 0), ("debug+", 5), ("info+", 9), ("warn+", 13), ("error+", 17), ("fatal", 21),
)
COUNTING_EVERY = 0.1  # seconds between two updates of a long count's progress
SCOPES = ("all", "trace", "span")
# The two selects and the regex box take 38 columns: below this width the filter input and its
# box get a row of their own instead of the few columns left beside them.
CRAMPED_BELOW = 64
_NAMES = re.compile(r"\b(logger|service):(\S+)")


def parse_query(text: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """``timeout logger:httpx service:api`` → (rest, loggers, services)."""
    loggers = frozenset(v for k, v in _NAMES.findall(text) if k == "logger")
    services = frozenset(v for k, v in _NAMES.findall(text) if k == "service")
    return _NAMES.sub("", text).strip(), loggers, services


class LogsPane(Vertical):
    """Logs of every source with a filter bar; posts ``JumpToSpan`` on Enter.

    The app calls ``refresh_logs()`` when the writer reports new logs (at most ~10 per second)
    and ``show_span()`` when a span is selected.
    """

    BORDER_TITLE = "Logs"
    ALLOW_MAXIMIZE = True  # F6 fills the screen with the whole pane, not a part of it
    DEFAULT_CSS = """
    LogsPane {
        height: 1fr;
        /* The selects, then the filter with its regex box: one row, or where the filter
           would get too few columns beside the selects (the studio's logs column at 80x24 is
           34 wide), two, the filter under them. */
        & > #logs-bar {
            layout: grid; grid-size: 4 1; grid-columns: 15 13 1fr 10; height: 1;
        }
        &.-cramped > #logs-bar { grid-size: 2 2; grid-columns: 1fr 13; height: 2; }
        &.-cramped > #logs-bar > #logs-level { width: 15; }
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
    class _Counting(Message):
        filter: LogFilter
        share: float  # of the logs its count has read

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

    def __init__(self, store: StoreTarget, **kwargs: Any) -> None:
        """``store``: a SQLite file or a PostgreSQL database (``store.log_source``)."""
        super().__init__(**kwargs)
        self.store_path = store
        self._resolver = log_source(store)  # counts and resolves a filter
        self._pager = log_source(store)  # reads windows meanwhile
        # What a query may raise: a failure shown in the count, or a refresh skipped.
        self._failures: tuple[type[BaseException], ...] = (*self._resolver.errors, re.error)
        self._skipped: tuple[type[BaseException], ...] = (*self._resolver.errors, Cancelled)
        self.filter = LogFilter()
        self.scope = "all"
        self.span: tuple[str | None, str | None] = (None, None)
        self._updating = False
        self._stale = False
        self._partial = False
        self._count = Text()

    def compose(self) -> ComposeResult:
        with Container(id="logs-bar"):
            yield Select(LEVEL_CHOICES, value=0, allow_blank=False, compact=True, id="logs-level")
            yield Select([(f"only {s}" if s != "all" else "all spans", s) for s in SCOPES],
                         value="all", allow_blank=False, compact=True, id="logs-scope")
            yield Input(placeholder="/ words · logger:name · service:name", compact=True,
                        id="logs-filter")
            yield Checkbox("regex", compact=True, id="logs-regex")
        yield LogLines(id="log-lines")

    @property
    def lines(self) -> LogLines:
        return self.query_one(LogLines)

    def on_mount(self) -> None:
        self.watch(self.lines, "following", self._show_border)
        self._apply_filter()

    @property
    def count_text(self) -> str:
        """What the bottom border says of the matches: "1,234 matches", "counting… 34%", or
        why the filter failed."""
        return self._count.plain

    def _set_count(self, text: str | Text, error: bool = False) -> None:
        """The count (or a failure) in the bottom border, beside the following state: in the
        filter bar it took the filter input's room (two characters at 120 columns)."""
        count = Text(text) if isinstance(text, str) else text.copy()
        if error:
            count.stylize("bold red")
        self._count = count
        self._show_border()

    def on_resize(self) -> None:
        self.set_class(self.content_size.width < CRAMPED_BELOW, "-cramped")

    def _show_border(self) -> None:
        """The bottom border: the count, then whether the lines follow new logs."""
        subtitle = self._count.copy()
        if subtitle.plain:
            subtitle.append(" · ")
        subtitle.append("following" if self.lines.following else "paused · end to follow")
        self.border_subtitle = subtitle

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
        if log_filter.regex:
            try:
                re.compile(log_filter.regex)
            except re.error as error:
                self._set_count(safe_text(f"regex: {error.msg}"), error=True)
                return
        if self.scope != "all" and self.span[0] is None:
            self._set_count("select a span")
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_lines":  # on the records already: Escape is left to the app's
            return not self.lines.has_focus
        return True

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

    # --- workers: the store off the UI thread, results back as messages ---

    @work(thread=True, exclusive=True, group="logs-resolve")
    def _resolve(self, log_filter: LogFilter) -> None:
        worker = get_current_worker()
        with self._resolver.lock:
            if worker.is_cancelled:
                return
            try:
                source, stop = self._resolver, lambda: worker.is_cancelled
                if log_filter.regex:  # counting reads every candidate: show the newest first
                    first = source.newest_matches(log_filter, PAGE, stop)
                    self.post_message(self._Resolved(first, moved=True, partial=True))
                matches = source.match_logs(log_filter, stop, self._counting(log_filter))
            except Cancelled:
                return
            except self._failures as error:
                if not worker.is_cancelled:
                    self.post_message(self._Failed(log_filter, str(error)))
                return
        if not worker.is_cancelled:
            self.post_message(self._Resolved(matches, moved=True))

    def _counting(self, log_filter: LogFilter) -> Progress:
        """Tells the count's label how far a regex's count has read, at most every
        ``COUNTING_EVERY`` seconds: a pattern the trigram index cannot narrow reads every log
        (~4.5 s at 10 million)."""
        last = [time.monotonic()]

        def report(share: float) -> None:
            now = time.monotonic()
            if now - last[0] >= COUNTING_EVERY:
                last[0] = now
                self.post_message(self._Counting(log_filter, share))

        return report

    @work(thread=True, group="logs-update")
    def _update(self, matches: LogMatches) -> None:
        with self._resolver.lock:
            try:
                updated = self._resolver.update_matches(matches)
            except self._skipped:
                updated = matches
        self.post_message(self._Resolved(updated, moved=False))

    @work(thread=True, group="logs-page")
    def _load_page(
        self, matches: LogMatches, generation: int, page: int, anchors: tuple[Anchor, ...]
    ) -> None:
        with self._pager.lock:
            try:
                rows = self._pager.fetch_window(matches, page * PAGE, PAGE, anchors)
            except self._pager.errors:
                rows = []
        self.post_message(self._PageLoaded(generation, page, rows))

    @work(thread=True, exclusive=True, group="logs-locate")
    def _locate(self, matches: LogMatches, trace_id: str, span_id: str | None) -> None:
        with self._pager.lock:
            first = self._pager.first_log_of(trace_id, span_id)
            position = self._pager.position_at(matches, *first) if first else None
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
            self._set_count("counting…")

    def on_logs_pane__counting(self, message: _Counting) -> None:
        message.stop()
        if self._partial and message.filter == self.filter:
            self._set_count(f"counting… {message.share:.0%}")

    def _show_count(self, matches: LogMatches) -> None:
        noun = "logs" if matches.filter.trace_id is None and matches.filter.empty else "matches"
        if matches.count == 1:
            noun = noun[:-1] if noun == "logs" else "match"
        if not (self.scope != "all" and self.span[0] is None):
            self._set_count(f"{matches.count:,} {noun}")

    def on_logs_pane__page_loaded(self, message: _PageLoaded) -> None:
        message.stop()
        self.lines.page_loaded(message.generation, message.page, message.rows)

    def on_logs_pane__failed(self, message: _Failed) -> None:
        message.stop()
        if message.filter == self.filter:
            self._set_count(safe_text(message.error, limit=60), error=True)

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
