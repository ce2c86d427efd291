"""What the studio's panes show of the store: the trace list (and the metrics strip), the open
trace, the chosen span and the memory at it, each read in a worker and posted back as a message;
refreshed when the writer commits, and opened when a pane asks for a trace or a span.

A mixin of ``StudioApp`` (``app.py`` keeps the wiring). Textual calls each class's handler of a
message in MRO order, so it comes first among the app's bases: its ``on_trace_loaded`` keeps the
trace read whole for the graph's, which runs after it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import work
from textual.worker import Worker, get_current_worker

from lumos_core.telemetry import semconv as sc
from lumos_studio.memory_view import memory_view
from lumos_studio.process_settings import collect_young_now
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.store import Store, StoreChange, TraceQuery
from lumos_studio.ui.breakpoints import Breakpoints
from lumos_studio.ui.decoded_trace import DecodedTrace, decode_trace
from lumos_studio.ui.layout import Layout
from lumos_studio.ui.messages import (
    MemoryLoaded,
    MetricsLoaded,
    SpanLoaded,
    TraceCountLoaded,
    TraceListLoaded,
    TraceLoaded,
    TracesChanged,
)
from lumos_studio.ui.paced_reads import PacedReads
from lumos_studio.ui.read_only import ReadOnlyStore
from lumos_studio.ui.widgets.key_footer import KeyFooter
from lumos_studio.ui.widgets.logs_pane import LogsPane
from lumos_studio.ui.widgets.memory_pane import MemoryPane
from lumos_studio.ui.widgets.metrics_strip import MetricsStrip
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_browser import TraceBrowser
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    _AppBase = App[None]  # what the mixin relies on, checked against Textual's own types
else:
    _AppBase = object

# A trace's newest log records given to the span detail: the earlier GenAI forms send a model
# call's messages as records (a handful per call), so this covers hundreds of calls.
TRACE_LOGS = 2_000
# A trace of more spans than this opens in two parts: its first spans (a screenful and more) are
# drawn while the rest is read, so a 100,000-span trace shows at once.
IN_PARTS_FROM = 20_000
FIRST_PART = 2_000
# While commits come (``ui.paced_reads``), the shown trace and the trace list are read again at
# most once per this many times their last read's duration: a live trace of 100,000 spans
# (~130 ms a read) read back to back took ~0.75 of a core from the receiver in the same process;
# a small trace's read (~1 ms) still follows every commit.
REREAD_FACTOR = 3
# The list's read is short (~15 ms) but showing it was not: a page rebuilt in the table, ~30 ms
# of the UI thread, then its later rows after paints (since session 28 the table is kept and
# patched, ~11 ms). Its pause (counted from the read's start to its page shown) is four times
# that: with spans streaming in, its refreshes took half of the UI thread at three times.
LIST_REREAD_FACTOR = 5
# The metrics strip sums the newest runs (~170 ms at a million spans): read again five times its
# duration apart (2 s at most), and at most four times a second.
METRICS_FACTOR = 5
METRICS_EVERY = 0.25


class TraceLoading(_AppBase):
    """Reads the store for ``StudioApp``'s trace panes off the UI thread and shows the results."""

    # Provided by StudioApp.
    store: Store | ReadOnlyStore
    agent_name: str | None
    layout: Layout
    breakpoints: Breakpoints  # DebuggerActions'
    trace_id: str | None
    _follow_new_trace: bool
    _list_cursor_to_trace: bool
    _shown_a_trace: bool
    _changed: set[str]
    _new_logs: bool
    _others_committed: bool
    _pending_span: str | None
    _searches: tuple[str, ...]
    _trace_logs: Sequence[LogRecord]
    _part_shown: str | None
    _trace_reads: PacedReads  # the shown trace's reads after commits
    _list_reads: PacedReads  # the trace list's
    _metrics_reads: PacedReads  # the metrics strip's
    _decoded: DecodedTrace | None
    _logs_written: int
    _span_commits: int
    _metrics_at: int
    _memory_events: tuple[int, list[LogRecord]] | None
    _changed_lock: threading.Lock
    # The first page of the list is drawn: what the first frames wait for goes first (the
    # strip's read and the session's start came beside it, and held its read back).
    _list_drawn = False

    if TYPE_CHECKING:
        @property
        def main(self) -> Screen[None]: ...
        def _screens_gone(self) -> bool: ...
        def show_breakpoints(self) -> None: ...
        def start_session_once(self) -> None: ...
        def _show_others_commit(self) -> None: ...

    # --- live updates: writer thread → coalesced message on the UI thread ---

    def _on_store_commit(self, change: StoreChange) -> None:
        with self._changed_lock:
            self._others_committed = self._others_committed or change.others
            self._changed.update(change.trace_ids)
            self._changed.update(change.log_trace_ids)  # memory events, logs of a live run
            self._new_logs = self._new_logs or change.logs > 0
            if change.logs:
                self._logs_written += 1
            if change.trace_ids:
                self._span_commits += 1

    def _publish_changes(self) -> None:
        with self._changed_lock:
            changed, self._changed = frozenset(self._changed), set()
            new_logs, self._new_logs = self._new_logs, False
            others, self._others_committed = self._others_committed, False
        if others:  # as a read-only studio shows them: anything may have changed
            self._show_others_commit()
        if new_logs and not self._screens_gone():
            self.main.query_one(LogsPane).refresh_logs()
        if changed:
            self.post_message(TracesChanged(changed))

    @property
    def metrics_settled(self) -> bool:
        """The metrics strip has read every span committed so far: nothing left to read."""
        return self._metrics_at == self._span_commits and self._metrics_reads.settled

    def _paced_reads(self) -> None:
        """For ``StudioApp.__init__``: the reads that follow commits, each paced."""
        self._trace_reads = PacedReads(self._reread_shown_trace, self.set_timer,
                                       factor=REREAD_FACTOR)
        self._list_reads = PacedReads(self._reload_trace_list, self.set_timer,
                                      factor=LIST_REREAD_FACTOR)
        self._metrics_reads = PacedReads(self._reload_metrics, self.set_timer,
                                         factor=METRICS_FACTOR, least=METRICS_EVERY)

    def on_traces_changed(self, message: TracesChanged) -> None:
        if self._screens_gone():
            return
        self._list_reads.ask()
        self._read_metrics_if_stale()
        if self.trace_id in message.trace_ids:
            self._trace_reads.ask()

    def _reread_shown_trace(self) -> Worker[None] | None:
        """Read the shown trace again after commits changed it: one read at a time (its
        opening's too), however fast commits come. Each read of a live 100,000-span trace took
        ~1 s with up to six overlapping, each slowing the others, and an older read landing
        after a newer one took spans away (the waterfall started over, its cursor at the top).
        After a read, the next waits twice as long as it took (``REREAD_FACTOR``)."""
        if self.trace_id is None or self._screens_gone():
            return None
        return self.load_trace(self.trace_id)

    def _reload_trace_list(self) -> Worker[None] | None:
        if self._screens_gone():
            return None
        return self._load_trace_list(self.main.query_one(TraceBrowser).query_state)

    def _reload_metrics(self) -> Worker[None] | None:
        if self._screens_gone():
            return None
        self._metrics_at = self._span_commits
        return self._load_metrics()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A paced read ended (done, or cancelled before it ran, when another trace was
        opened): commits since ask for the next one, once its pause is over."""
        for reads in (self._trace_reads, self._list_reads, self._metrics_reads):
            reads.worker_changed(event.worker)

    # --- workers: queries off the UI thread, results back as messages ---

    def load_trace_list(self) -> None:
        """Refresh the trace list with its current query now (and the metrics strip when
        spans were stored since it was read)."""
        if self._reload_trace_list() is not None and self._list_drawn:
            self._read_metrics_if_stale()

    def _read_metrics_if_stale(self) -> None:
        """Ask the strip for a read when spans were stored since its last: not for every key
        typed in the search."""
        if self._span_commits != self._metrics_at:
            self._metrics_reads.ask()

    @work(thread=True, exclusive=True, group="trace-list")
    def _load_trace_list(self, query: TraceQuery) -> None:
        reader = self.store.reader
        page = reader.find_traces(query)
        self.post_message(TraceListLoaded(page.summaries, page, reader.newest_trace()))
        if not page.counted:  # a word in most texts: the page first, its total a moment later
            total = reader.count_matches(query)
            if not get_current_worker().is_cancelled:  # not if another query was asked since
                self.post_message(TraceCountLoaded(query, total))

    @work(thread=True, exclusive=True, group="metrics")
    def _load_metrics(self) -> None:
        """The strip sums the newest runs whatever the list shows (~170 ms at 1M spans): read
        only when spans were stored since, not for every key typed in the search."""
        self.post_message(MetricsLoaded(self.store.reader.metrics()))

    def on_trace_count_loaded(self, message: TraceCountLoaded) -> None:
        if not self._screens_gone():
            self.main.query_one(TraceBrowser).show_count(message.query, message.total)

    def on_metrics_loaded(self, message: MetricsLoaded) -> None:
        if not self._screens_gone():
            self.main.query_one(MetricsStrip).show(message.metrics)

    @work(thread=True, exclusive=True, group="trace")
    def load_trace(self, trace_id: str, opening: bool = False) -> None:
        """The tree's headers only: a span is decoded when a pane shows it (``load_span``). A
        big trace ``opening`` comes in two parts, its first spans first."""
        reader = self.store.reader
        logs = reader.logs(trace_id=trace_id, limit=TRACE_LOGS)
        if opening and reader.span_count(trace_id) > IN_PARTS_FROM:
            first = reader.trace_headers(trace_id, first=FIRST_PART)
            self.post_message(TraceLoaded(trace_id, first, logs, complete=False))
            if get_current_worker().is_cancelled:
                return  # another trace was chosen meanwhile
        headers = reader.trace_headers(trace_id)
        # Read here, off the UI thread, when the debugger's marks or the graph will need it.
        wanted = bool(self.breakpoints.specs) or self.layout.graph
        decoded = decode_trace(reader, trace_id, len(headers)) if wanted else None
        self.post_message(TraceLoaded(trace_id, headers, logs, decoded=decoded))

    @work(thread=True, exclusive=True, group="span")
    def load_span(self, trace_id: str, span_id: str, logs: Sequence[LogRecord] | None = None
                  ) -> None:
        """One span, whole, for the detail (and the memory at it)."""
        span = self.store.reader.span(trace_id, span_id)
        if span is not None:
            self.post_message(SpanLoaded(span, logs))

    @work(thread=True, exclusive=True, group="memory")
    def load_memory(self, trace_id: str, searches: tuple[str, ...], selected: SpanRecord | None
                    ) -> None:
        """The thread's memory at ``selected``, with what the run's ``searches`` found (only
        those spans are decoded)."""
        reader = self.store.reader
        written, known = self._logs_written, self._memory_events
        if known is not None and known[0] == written:
            events = known[1]  # no log written since: a span chosen does not scan them again
        else:
            events = reader.events(sc.EVENT_MEMORY_PREFIX)
            self._memory_events = (written, events)
        spans = reader.spans_by_id(trace_id, searches) if searches else []
        conversation = reader.trace_conversation(trace_id)
        self.post_message(MemoryLoaded(trace_id, memory_view(
            spans, events, selected, conversation_id=conversation)))

    def on_trace_list_loaded(self, message: TraceListLoaded) -> None:
        if self._screens_gone():
            return
        newest = message.newest
        if (self._follow_new_trace and newest and newest.trace_id != self.trace_id
                and newest.agent_name == self.agent_name):
            self._follow_new_trace = False
            self.show_trace(newest.trace_id)
        elif self.trace_id is None and not self._shown_a_trace and message.summaries:
            # On open: the newest, not nothing; read once the list is painted (a big trace's
            # read holds the GIL and would hold the list's first frame back with it).
            self.show_trace(message.summaries[0].trace_id, after_refresh=True)
        if message.page is not None:
            self.main.query_one(TraceBrowser).show_page(
                message.page, self.trace_id, to_selected=self._list_cursor_to_trace)
        self._list_cursor_to_trace = False
        if not self._list_drawn:  # the first page: then the agents' turn, and the strip's
            self._list_drawn = True
            self.call_after_refresh(self.start_session_once)
            self.call_after_refresh(self._read_metrics_if_stale)

    def on_trace_loaded(self, message: TraceLoaded) -> None:
        if self._screens_gone():
            return
        if message.trace_id != self.trace_id:
            return
        tree = self.main.query_one(TraceWaterfall)
        first_load = tree.trace_id != message.trace_id
        completing = self._part_shown == message.trace_id  # its first part is shown
        self._part_shown = None if message.complete else message.trace_id
        tree.show(message.trace_id, message.spans, complete=message.complete)
        footer = self.main.query_one(KeyFooter)
        self.call_after_refresh(footer.call_later, footer.release)  # after its paint, as its own
        if first_load or completing:  # what the open allocated, collected after its paint
            self.call_after_refresh(collect_young_now)
        self._searches = message.searches
        self._trace_logs = logs = message.logs
        self._decoded = message.decoded  # else read when the debugger or the graph asks
        self.show_breakpoints()
        detail = self.main.query_one(SpanDetail)
        chosen = tree.cursor_span
        pending = self._pending_span
        if pending is not None and pending in tree.spans:
            tree.select_span(pending)  # the cursor's span is loaded for the detail
            self._pending_span = None
        elif (first_load or chosen is None) and message.spans:
            # (A trace first read before any span of it was stored, a resumed run's, has none
            # chosen yet: its first spans are.)
            tree.select_span(message.spans[0].span_id)
        elif chosen is not None and not first_load:
            if not completing:  # (the first part had it loaded)
                self.load_span(message.trace_id, chosen.span_id, logs)  # it may have ended
        else:
            if first_load:  # nothing of it to show yet: not the last trace's span either
                detail.clear()
            detail.logs = logs
            self.load_memory(message.trace_id, self._searches, detail.span)

    def on_span_loaded(self, message: SpanLoaded) -> None:
        if self._screens_gone():
            return
        span = message.span
        tree = self.main.query_one(TraceWaterfall)
        chosen = tree.cursor_span
        if span.trace_id != tree.trace_id or (chosen and chosen.span_id != span.span_id):
            return  # the cursor moved on: its own span is on the way
        self.main.query_one(SpanDetail).show(span, message.logs)
        self.load_memory(span.trace_id, self._searches, span)

    def decoded_trace(self) -> DecodedTrace:
        """The shown trace's spans whole (``ui.decoded_trace``): as the worker read them with the
        trace when breakpoints were set or the graph shown, else read now (a first breakpoint,
        the graph just opened, a fork asked for)."""
        tree = self.main.query_one(TraceWaterfall)
        if self._part_shown == tree.trace_id:  # only its first spans are in: a big one
            return DecodedTrace(tree.trace_id)
        cached = self._decoded
        if cached is None or cached.trace_id != tree.trace_id:
            cached = self._decoded = decode_trace(self.store.reader, tree.trace_id,
                                                  len(tree.spans))
        return cached

    def on_memory_loaded(self, message: MemoryLoaded) -> None:
        if self._screens_gone():
            return
        if message.trace_id == self.trace_id:
            self.main.query_one(MemoryPane).show(message.view)

    def show_trace(self, trace_id: str, *, after_refresh: bool = False) -> None:
        self.trace_id = trace_id
        self._shown_a_trace = True
        self._list_cursor_to_trace = True  # the list's next refresh puts its cursor there
        if after_refresh:
            self.call_after_refresh(self._load_trace_if_shown, trace_id)
        else:
            self._trace_reads.running(self.load_trace(trace_id, opening=True))

    def _load_trace_if_shown(self, trace_id: str) -> None:
        if trace_id == self.trace_id and not self._screens_gone():  # not replaced meanwhile
            self._trace_reads.running(self.load_trace(trace_id, opening=True))

    # --- pane messages ---

    def on_trace_list_chosen(self, message: TraceList.Chosen) -> None:
        if self._screens_gone():  # a pane's late message while the app closes
            return
        self._follow_new_trace = False
        self.main.query_one(KeyFooter).hold()  # the tree's keys once its trace is shown
        self.show_trace(message.trace_id)
        self.main.query_one(TraceWaterfall).focus()

    def on_trace_browser_query_changed(self, message: TraceBrowser.QueryChanged) -> None:
        self.load_trace_list()

    def on_trace_waterfall_span_chosen(self, message: TraceWaterfall.SpanChosen) -> None:
        if self._screens_gone():  # a pane's late message while the app closes
            return
        tree = self.main.query_one(TraceWaterfall)
        if tree.trace_id is None:
            return
        span_id = message.span.span_id
        self.main.query_one(LogsPane).show_span(tree.trace_id, span_id)
        detail = self.main.query_one(SpanDetail)
        self.load_span(tree.trace_id, span_id, None if detail.logs is self._trace_logs
                       else self._trace_logs)

    def on_logs_pane_jump_to_span(self, message: LogsPane.JumpToSpan) -> None:
        """Enter on a log line: show its trace and select the span it was written in."""
        self.jump_to_span(message.trace_id, message.span_id)

    def jump_to_span(self, trace_id: str, span_id: str | None) -> None:
        """Show a trace with one of its spans selected (once loaded) and the tree focused."""
        if self._screens_gone():  # a pane's late message while the app closes
            return
        self._follow_new_trace = False
        self._pending_span = span_id
        tree = self.main.query_one(TraceWaterfall)
        if trace_id == self.trace_id and span_id is not None and span_id in tree.spans:
            tree.select_span(span_id)
            self._pending_span = None
        else:
            self.show_trace(trace_id)
        tree.focus()
