"""The studio's trace list as an index of runs: search, sort, group by conversation, pin, delete.

``TraceBrowser`` owns the query (parsed on the UI thread: it is cheap, and a bad one must be
told at once) and posts ``QueryChanged``; the app runs it in a worker and hands the page back
through ``show_page``. Pins and deletions go to the app as requests: only the writer writes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label

from lumos_studio.display import safe_str, safe_text
from lumos_studio.store import TracePage, TraceQuery
from lumos_studio.store.trace_filter import HELP, FilterError, parse_filter
from lumos_studio.store.trace_page import SORTS
from lumos_studio.ui.screens.dialog import StudioDialog
from lumos_studio.ui.widgets.trace_list import TraceList

SORT_LABELS = {"newest": "newest", "oldest": "oldest", "slowest": "slowest",
               "tokens": "most tokens", "errors": "errors first"}


class ConfirmDelete(StudioDialog[bool]):
    """Asks before deleting: y (or enter) deletes, n or escape keeps."""

    DEFAULT_CSS = """
    ConfirmDelete > Vertical { width: auto; padding: 1 2; }
    ConfirmDelete #confirm-question { max-width: 64; }
    """
    DEFAULT_CLASSES = "-danger"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Delete"),
        Binding("n,escape", "answer(False)", "Keep"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        question = Text.assemble(self.question, "\n\n", ("y", "bold"), " delete · ",
                                 ("n", "bold"), " keep")
        with Vertical():
            yield Label(question, id="confirm-question")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TraceBrowser(Vertical):
    """A search bar (shown while used) over the ``TraceList``; see the module docstring."""

    BORDER_TITLE = "Traces"
    ALLOW_MAXIMIZE = True  # F6 fills the screen with the whole pane, not a part of it
    DEFAULT_CSS = """
    TraceBrowser {
        & > #trace-search-bar { height: auto; display: none; }
        & > #trace-search-bar.-active { display: block; }
        & > #trace-search-bar > Input { width: 1fr; }
        /* A long message (a query it cannot read) wraps onto more lines, never cut. */
        & > #trace-search-bar > #trace-search-status {
            width: auto; max-width: 60%; height: auto; padding: 0 1; color: $text-muted;
        }
        & > #trace-search-bar > #trace-search-status.-error { color: $error; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", key_display="/"),
        Binding("o", "cycle_sort", "Sort"),
        Binding("g", "toggle_group", "Group by thread"),
        Binding("p", "pin", "Pin"),
        Binding("delete", "delete", "Delete", key_display="del"),
        Binding("escape", "clear_search", "Clear search", show=False),
    ]

    @dataclass
    class QueryChanged(Message):
        """Run this query (a new search, sort or grouping)."""

        query: TraceQuery

    @dataclass
    class PinRequested(Message):
        trace_ids: list[str]
        pinned: bool

    @dataclass
    class DeleteRequested(Message):
        """Confirmed by the user: delete these traces."""

        trace_ids: list[str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.query_state = TraceQuery()
        self.page: TracePage | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="trace-search-bar"):
            yield Input(placeholder=HELP, compact=True, id="trace-search")
            yield Label("", id="trace-search-status")
        yield TraceList(id="traces")

    @property
    def traces(self) -> TraceList:
        return self.query_one(TraceList)

    @property
    def search_input(self) -> Input:
        return self.query_one("#trace-search", Input)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_search":
            # Without a search escape does nothing here (it goes on to whoever else binds it);
            # None, not False: the key is still listed in F1's help, as keys.md has it.
            bar = self.query_one("#trace-search-bar")
            return True if bar.has_class("-active") or self.search_input.value else None
        return True

    # --- what the app calls ---

    def show_page(self, page: TracePage, selected: str | None, *, to_selected: bool) -> None:
        """Show a query's result, unless the query has changed since it was asked."""
        if page.query != self.query_state:
            return
        self.page = page
        self.traces.show(page.summaries, selected, to_selected=to_selected, page=page)
        self._describe()

    def show_count(self, query: TraceQuery, total: int) -> None:
        """The total of the page shown, counted after it (``TracePage.counted``)."""
        if self.page is not None and self.page.query == query == self.query_state:
            self.page = replace(self.page, total=total, counted=True)
            self._describe()

    def forget(self, trace_ids: frozenset[str]) -> None:
        self.traces.forget(trace_ids)
        self._describe()

    def on_trace_list_marks_changed(self, message: TraceList.MarksChanged) -> None:
        """The border counts the marked runs as they are marked, not at the next page."""
        message.stop()
        self._describe()

    def _describe(self) -> None:
        page, query = self.page, self.query_state
        if page is None:
            return
        filtered = not query.filter.empty
        noun = ("match" if page.total == 1 else "matches") if filtered else (
            "trace" if page.total == 1 else "traces")
        count = f"{page.total:,} {noun}"
        if not page.counted:
            count = f"≥ {page.total:,} {noun}, counting…"
        elif page.truncated:
            count = f"first {len(page.summaries):,} of {count}"
        parts = [count]
        if query.sort != "newest":
            parts.append(SORT_LABELS[query.sort])
        if query.grouped:
            parts.append("by thread")
        if self.traces.marked:
            parts.append(f"{len(self.traces.marked)} marked")
        if page.unindexed:
            parts.append(f"indexing the text of {page.unindexed:,} spans")
        self.border_subtitle = " · ".join(parts)
        status = self.query_one("#trace-search-status", Label)
        if not status.has_class("-error"):
            status.update("")  # "searching…" done: the count is in the border

    # --- search ---

    def action_search(self) -> None:
        self.query_one("#trace-search-bar").add_class("-active")
        self.search_input.focus()

    def action_clear_search(self) -> None:
        """Escape: clear the search and go back to the list."""
        if self.search_input.value:
            self.search_input.value = ""  # Input.Changed runs the empty query
        self.query_one("#trace-search-bar").remove_class("-active")
        self.traces.focus()

    @on(Input.Changed, "#trace-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        status = self.query_one("#trace-search-status", Label)
        try:
            trace_filter = parse_filter(event.value)
        except FilterError as error:
            status.update(safe_text(error, limit=200))
            status.add_class("-error")
            return
        status.remove_class("-error")
        query = replace(self.query_state, filter=trace_filter)
        # The query shown again (a typo taken back): its page is there, nothing to wait for.
        waiting = query != self.query_state and not trace_filter.empty
        status.update("searching…" if waiting else "")
        self._set_query(query)

    @on(Input.Submitted, "#trace-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.traces.focus()

    def _set_query(self, query: TraceQuery) -> None:
        if query != self.query_state:
            self.query_state = query
            self.traces.hold_later_rows()  # this query's page replaces them
            self.post_message(self.QueryChanged(query))

    # --- sort and group ---

    def action_cycle_sort(self) -> None:
        sorts = list(SORTS)
        following = sorts[(sorts.index(self.query_state.sort) + 1) % len(sorts)]
        self._set_query(replace(self.query_state, sort=following))
        self.notify(f"sorted by {SORT_LABELS[following]}", timeout=1.5)

    def action_toggle_group(self) -> None:
        self._set_query(replace(self.query_state, grouped=not self.query_state.grouped))

    # --- pin and delete ---

    def _chosen(self) -> list[str]:
        """The marked traces, else the one under the cursor."""
        traces = self.traces
        return list(traces.marked) or ([traces.cursor_trace] if traces.cursor_trace else [])

    def action_pin(self) -> None:
        chosen = self._chosen()
        if not chosen:
            return
        pinned = {t.trace_id for t in self.traces.summaries if t.pinned}
        self.post_message(self.PinRequested(chosen, pinned=not set(chosen) <= pinned))

    def action_delete(self) -> None:
        chosen = self._chosen()
        if not chosen:
            return
        if len(chosen) == 1:
            summary = next((t for t in self.traces.summaries if t.trace_id == chosen[0]), None)
            what = f"the run {safe_str(chosen[0][:12])}" + (
                f" ({safe_str(summary.agent_name or summary.root_name)}, "
                f"{summary.span_count} spans)" if summary else "")
        else:
            what = f"{len(chosen)} marked runs"
        their = "its" if len(chosen) == 1 else "their"
        question = f"Delete {what} with {their} spans and logs? This cannot be undone."

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.post_message(self.DeleteRequested(chosen))

        self.app.push_screen(ConfirmDelete(question), answered)
