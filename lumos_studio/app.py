"""The Textual app: wiring between the store, the session's agents and the panes.

Layout lives in ``ui/studio.tcss``; each pane is its own widget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.actions import ActionParseResult
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header
from textual.worker import Worker, get_current_worker

from lumos_core.telemetry import semconv as sc
from lumos_studio.display import VALUE_LIMIT, safe_str
from lumos_studio.memory_view import memory_view
from lumos_studio.process_settings import collect_young_now
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.sessions.base import Session, SessionEvent
from lumos_studio.store import Store, StoreChange, TraceQuery
from lumos_studio.store.storage_error import StorageProblem
from lumos_studio.ui.base_app import ConsoleApp
from lumos_studio.ui.breakpoints import BREAKPOINTS_FILE, Breakpoints
from lumos_studio.ui.chat_turns import ChatTurns
from lumos_studio.ui.conversations import Conversations
from lumos_studio.ui.debugger_actions import DebuggerActions
from lumos_studio.ui.decoded_trace import DecodedTrace, decode_trace
from lumos_studio.ui.graph_actions import GraphActions
from lumos_studio.ui.layout import Layout
from lumos_studio.ui.layout_actions import LayoutActions
from lumos_studio.ui.messages import (
    MemoryLoaded,
    MetricsLoaded,
    SessionChanged,
    SpanLoaded,
    TraceCountLoaded,
    TraceListLoaded,
    TraceLoaded,
    TracesChanged,
    TracesDeleted,
)
from lumos_studio.ui.read_only import CommitWatch, ReadOnlyStore, refusal
from lumos_studio.ui.screens.experiments_app import ExperimentActions
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.chat import ChatPane
from lumos_studio.ui.widgets.graph import GraphPane
from lumos_studio.ui.widgets.key_footer import KeyFooter
from lumos_studio.ui.widgets.load_error import LoadErrorPanel
from lumos_studio.ui.widgets.logs_pane import LogsPane
from lumos_studio.ui.widgets.memory_pane import MemoryPane
from lumos_studio.ui.widgets.metrics_strip import MetricsStrip
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_browser import TraceBrowser
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

if TYPE_CHECKING:
    from lumos_studio.forward import Forwarder

# A trace's newest log records given to the span detail: the earlier GenAI forms send a model
# call's messages as records (a handful per call), so this covers hundreds of calls.
TRACE_LOGS = 2_000
REFRESH_INTERVAL = 0.1  # live updates at most ~10 per second
STORAGE_CHECK_INTERVAL = 1.0  # how soon the header says the store cannot take writes
SAVE_DIR = Path("traces")
LAYOUT_FILE = "layout.json"  # beside the store: each project keeps its own
# A trace of more spans than this opens in two parts: its first spans (a screenful and more) are
# drawn while the rest is read, so a 100,000-span trace shows at once.
IN_PARTS_FROM = 20_000
FIRST_PART = 2_000
QUIT_AGAIN_SECONDS = 3.0  # a second q within this quits while a run is going
PANE_IDS = {"agents", "chat", "trace-browser", "tree", "detail", "memory", "logs"}


class StudioApp(ChatTurns, DebuggerActions, GraphActions, LayoutActions, ExperimentActions,
                ConsoleApp):
    """Chat with agents and watch their traces grow, side by side."""

    TITLE = "Lumos Studio"
    # Screen classes the stylesheet narrows and shortens the layout by (see studio.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 (App: not a ClassVar)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # noqa: RUF012 (App: not a ClassVar)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "rerun", "Re-run last"),
        Binding("ctrl+x", "cancel_run", "Cancel run"),
        Binding("f2", "focus('agents')", "Agents"),
        Binding("f6", "toggle_maximize", "Maximize pane"),
        Binding("f3", "toggle_pane('sessions')", "Agents & chat", show=False),
        Binding("f4", "toggle_pane('state')", "Memory & logs", show=False),
        Binding("f5", "toggle_pane('detail')", "Span detail", show=False),
        Binding("f7", "toggle_pane('traces')", "Trace list", show=False),
        Binding("ctrl+g", "toggle_graph", "Graph", show=False),
        Binding("alt+right,alt+down", "resize_pane(1)", "Grow pane", show=False),
        Binding("alt+left,alt+up", "resize_pane(-1)", "Shrink pane", show=False),
        Binding("a", "focus('agents')", "Agents", show=False),
        Binding("l", "focus('traces')", "Traces", show=False),
        Binding("t", "focus('tree')", "Tree", show=False),
        Binding("d", "focus('detail')", "Detail", show=False),
        Binding("i", "focus('chat-input')", "Chat", show=False),
        Binding("f8", "focus('log-lines')", "Logs", show=False),
        Binding("f9", "focus('memory')", "Memory", show=False),
        Binding("f10", "open_experiments", "Experiments", show=False),
        Binding("ctrl+n", "annotate_span", "Annotate span", show=False),
        Binding("f12", "score_traces", "Score traces", show=False),
    ]

    def __init__(
        self,
        store: Store | ReadOnlyStore,
        session: Session,
        *,
        endpoint: str | None = None,
        layout_path: Path | None = None,
        forwarder: Forwarder | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.session = session
        # --read-only: a reader and no agents; keys that would write say why instead
        self.read_only = isinstance(store, ReadOnlyStore)
        self.endpoint = endpoint
        self.forwarder = forwarder
        self._forward_shown = ""
        self._dropped_told = 0
        self.layout_path = layout_path or store.path.parent / LAYOUT_FILE
        self.layout = Layout.load(self.layout_path)
        if self.read_only:
            self.layout = replace(self.layout, sessions=False)  # no agents, no chat
        self.init_debugger(Breakpoints.load(self.layout_path.parent / BREAKPOINTS_FILE))
        self.agent_name: str | None = session.agents[0].name if session.agents else None
        self.conversations = Conversations()  # what was said with each agent, apart from widgets
        self.turn = 0  # the latest turn: stream pieces of an older one are dropped
        self.last_input: tuple[str, str] | None = None
        self.running = False
        self.session_ready = bool(session.agents)  # a worker session's come after its first load
        self.queued_message: str | None = None
        self.loads = 0  # successful (re)loads of the session's agents
        self.trace_id: str | None = None
        self._follow_new_trace = False
        self._list_cursor_to_trace = False
        self._shown_a_trace = False  # the first list shown opens its newest trace
        self._quit_asked_at = -QUIT_AGAIN_SECONDS  # when quitting during a run was first asked
        self._changed: set[str] = set()
        self._new_logs = False
        self._pending_span: str | None = None  # a span to select once its trace is shown
        self._searches: tuple[str, ...] = ()  # the shown trace's searches (the memory pane's)
        self._trace_logs: Sequence[LogRecord] = ()  # the shown trace's newest log records
        self._part_shown: str | None = None  # a trace whose first part is shown, the rest coming
        self._decoded: DecodedTrace | None = None  # its spans whole, once something asked
        self._logs_written = 0  # commits with log records: the memory events are read again
        self._span_commits = 0  # commits with spans: the metrics strip is read again
        self._metrics_at = -1  # the span commits the metrics strip shows
        self._memory_events: tuple[int, list[LogRecord]] | None = None  # as of a commit count
        self._changed_lock = threading.Lock()
        self._watching: Worker[None] | None = None  # read-only: the commit check under way
        if isinstance(store, ReadOnlyStore):
            self._store_watch: CommitWatch | None = store.watch()
        else:
            self._store_watch = None
            store.writer.subscribe(self._on_store_commit)
        session.listener = self._forward_session_event

    def _forward_session_event(self, event: SessionEvent) -> None:
        """From the session's watcher thread: hand the event to the UI thread."""
        self.post_message(SessionChanged(event))

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="sessions"):
                yield AgentList(id="agents")
                yield LoadErrorPanel(id="load-error")
                yield ChatPane(id="chat")
            with Vertical(id="traces-column"):
                yield MetricsStrip(id="metrics")
                yield TraceBrowser(id="trace-browser")
                yield GraphPane(id="graph")
                with Horizontal(id="inspector"):
                    yield TraceWaterfall(id="tree")
                    yield SpanDetail(id="detail")
                with Horizontal(id="state"):
                    yield MemoryPane(id="memory")
                    yield LogsPane(self.store.target, id="logs")
        yield KeyFooter()

    @property
    def main(self) -> Screen[None]:
        """The studio's own screen, whichever screen (help, compare) is on top of it."""
        return self.screen_stack[0]

    def _screens_gone(self) -> bool:
        """True once the app is shutting down (its screens go next): late messages from workers
        are then dropped instead of querying panes that are being removed."""
        return not self.is_running or not self.screen_stack

    def on_mount(self) -> None:
        receiving = f" · OTLP {self.endpoint}" if self.endpoint else ""
        self.sub_title = safe_str(f"{self.session.source} · {self.store.label}{receiving}", None)
        self._plain_sub_title = self.sub_title
        self._storage_shown: StorageProblem | None = None
        if self._store_watch is None:
            self.set_interval(STORAGE_CHECK_INTERVAL, self._show_storage_problem)
        else:
            self.set_interval(STORAGE_CHECK_INTERVAL, self._ask_store_watch)
        if self.forwarder is not None:
            self._show_forwarding()
            self.set_interval(STORAGE_CHECK_INTERVAL, self._show_forwarding)
        self.set_interval(REFRESH_INTERVAL, self._publish_changes)
        self.layout.apply(self.main)
        self.load_trace_list()
        self._show_agents(stale=False)
        self.show_breakpoints()
        self.main.query_one(TraceList if self.read_only else "#chat-input").focus()
        self.call_after_refresh(self.start_session)  # after the first frame, not competing with it

    def _show_storage_problem(self) -> None:
        """Name a full disk or a read-only store in the header (and once in a notification):
        until it is fixed, nothing the studio receives or runs is stored."""
        problem = self.store.writer.storage_error
        if problem == self._storage_shown:
            return
        self._storage_shown = problem
        self._update_sub_title()
        if problem is not None:
            self.notify(problem.message, title="Store", severity="error", timeout=15, markup=False)

    def _ask_store_watch(self) -> None:
        """Once a second; never a second check while one still waits for its answer."""
        if self._watching is None or self._watching.is_finished:
            self._watching = self._watch_store()

    @work(thread=True, group="store-watch")
    def _watch_store(self) -> None:
        """Read-only: asked off the UI thread (on PostgreSQL the check is a query, and a server
        that went away holds a new connection up to its timeout)."""
        assert self._store_watch is not None
        if self._store_watch.changed():
            self.call_from_thread(self._show_others_commit)

    def _show_others_commit(self) -> None:
        """Read-only: what other processes committed shows as a writer's commit would."""
        if not self._screens_gone():
            self._span_commits += 1
            self._logs_written += 1
            self.main.query_one(LogsPane).refresh_logs()
            shown = frozenset({self.trace_id}) if self.trace_id else frozenset()
            self.post_message(TracesChanged(shown))

    async def run_action(self, action: str | ActionParseResult,
                         default_namespace: DOMNode | None = None,
                         namespaces: Any = None) -> bool:
        """Read-only: a key that would write says why in one line, and does nothing else."""
        if self.read_only:
            _target, name, parameters = self._parse_action(
                action, self if default_namespace is None else default_namespace, namespaces)
            why = refusal(name, parameters)
            if why is not None:
                self.notify(why, title="Read-only", severity="warning", timeout=4)
                return True
        return await super().run_action(action, default_namespace, namespaces)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Read-only: no file is written (the palette's "Save screenshot" says why)."""
        if self.read_only:
            self.notify("Not available: a read-only studio saves no files.", title="Read-only",
                        severity="warning", timeout=4)
            return None
        return super().deliver_screenshot(filename, path, time_format)

    def _check_action_state(self, action: str, default_namespace: DOMNode) -> bool | None:
        """Read-only: the footer leaves out the keys that would write."""
        if self.read_only:
            _target, name, parameters = self._parse_action(action, default_namespace)
            if refusal(name, parameters) is not None:
                return False
        return super()._check_action_state(action, default_namespace)

    def _show_forwarding(self) -> None:
        """Where --forward sends, in the header; a target that fails or drops says so there,
        and once in a notification when records are dropped."""
        if self.forwarder is None:
            return
        statuses = self.forwarder.statuses()
        shown = " ".join(status.brief() for status in statuses)
        if shown != self._forward_shown:
            self._forward_shown = shown
            self._update_sub_title()
        dropped = sum(status.dropped_records for status in statuses)
        if dropped > self._dropped_told:
            self._dropped_told = dropped
            self.notify(f"{dropped:,} records were not forwarded: a --forward target's queue is "
                        "full (raise --forward-queue-mb)", title="Forwarding",
                        severity="warning", timeout=10)

    def _update_sub_title(self) -> None:
        problem = self._storage_shown
        warning = f" · ⚠ {problem.short}, nothing is stored" if problem is not None else ""
        forwarding = f" · {self._forward_shown}" if self._forward_shown else ""
        self.sub_title = self._plain_sub_title + safe_str(forwarding, VALUE_LIMIT) + warning

    def on_unmount(self) -> None:
        self.end_pauses()
        self.session.stop()

    # --- the session: agents, reloads, load problems, worker output ---

    @work(thread=True, group="session")
    def start_session(self) -> None:
        self.session.start()

    def on_session_changed(self, message: SessionChanged) -> None:
        if self._screens_gone():
            return
        event = message.event
        if event.agents is not None:
            self._show_agents(event.stale)
        if event.problem is not None or event.reloaded_in is not None:
            self.main.query_one(LoadErrorPanel).show_problem(event.problem, event.stale)
        if event.reloaded_in is not None and event.problem is None:
            self.loads += 1
            self.notify(f"reloaded in {event.reloaded_in * 1000:.0f} ms", title="Agents")
        if event.notice:
            self.notify(event.notice)
        if event.agents is not None or event.problem is not None:
            self.session_ready = True
            self.send_queued_message()
        if event.output:
            self.store.writer.submit(
                LogRecord(time.time_ns(), event.output, 9, "INFO", scope_name="worker.output")
            )

    def _show_agents(self, stale: bool) -> None:
        agents = self.session.agents
        names = [a.name for a in agents]
        if self.agent_name not in names:
            self.agent_name = names[0] if names else None
        self.main.query_one(AgentList).set_agents(agents, self.agent_name, stale)
        chat = self.main.query_one(ChatPane)
        if self.agent_name and chat.agent_name != self.agent_name:
            self._open_chat(self.agent_name)
        self.load_suspended_runs([a for a in agents if a.kind == "workflow"])

    # --- live updates: writer thread → coalesced message on the UI thread ---

    def _on_store_commit(self, change: StoreChange) -> None:
        with self._changed_lock:
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
        if new_logs and not self._screens_gone():
            self.main.query_one(LogsPane).refresh_logs()
        if changed:
            self.post_message(TracesChanged(changed))

    def on_traces_changed(self, message: TracesChanged) -> None:
        if self._screens_gone():
            return
        self.load_trace_list()
        if self.trace_id in message.trace_ids:
            self.load_trace(self.trace_id)

    # --- workers: queries and runs off the UI thread, results back as messages ---

    def load_trace_list(self) -> None:
        """Refresh the trace list with its current query (and the metrics strip)."""
        if not self._screens_gone():
            self._load_trace_list(self.main.query_one(TraceBrowser).query_state)

    @work(thread=True, exclusive=True, group="trace-list")
    def _load_trace_list(self, query: TraceQuery) -> None:
        reader = self.store.reader
        page = reader.find_traces(query)
        self.post_message(TraceListLoaded(page.summaries, page, reader.newest_trace()))
        if not page.counted:  # a word in most texts: the page first, its total a moment later
            total = reader.count_matches(query)
            if not get_current_worker().is_cancelled:  # not if another query was asked since
                self.post_message(TraceCountLoaded(query, total))
        # The strip sums the newest runs whatever the list shows (~170 ms at 1M spans): read
        # again only when spans were stored since, not for every key typed in the search.
        commits = self._span_commits
        if commits != self._metrics_at:
            self._metrics_at = commits
            self.post_message(MetricsLoaded(reader.metrics()))

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
        elif first_load and message.spans:
            tree.select_span(message.spans[0].span_id)
        elif chosen is not None and not first_load:
            if not completing:  # (the first part had it loaded)
                self.load_span(message.trace_id, chosen.span_id, logs)  # it may have ended
        else:
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
            self.load_trace(trace_id, opening=True)

    def _load_trace_if_shown(self, trace_id: str) -> None:
        if trace_id == self.trace_id and not self._screens_gone():  # not replaced meanwhile
            self.load_trace(trace_id, opening=True)

    # --- pane messages ---

    def on_trace_list_chosen(self, message: TraceList.Chosen) -> None:
        if self._screens_gone():  # a pane's late message while the app closes
            return
        self._follow_new_trace = False
        self.show_trace(message.trace_id)
        self.main.query_one(TraceWaterfall).focus()

    def on_trace_browser_query_changed(self, message: TraceBrowser.QueryChanged) -> None:
        self.load_trace_list()

    def on_trace_browser_pin_requested(self, message: TraceBrowser.PinRequested) -> None:
        self.pin_traces(message.trace_ids, message.pinned)

    @work(thread=True, group="store-edit")
    def pin_traces(self, trace_ids: list[str], pinned: bool) -> None:
        """Through the writer; its commit refreshes the list like any other change."""
        if not self.store.writer.pin_traces(trace_ids, pinned):
            self.call_from_thread(self.notify, "could not pin", severity="error")

    def on_trace_browser_delete_requested(self, message: TraceBrowser.DeleteRequested) -> None:
        self.delete_traces(message.trace_ids)

    @work(thread=True, group="store-edit")
    def delete_traces(self, trace_ids: list[str]) -> None:
        self.post_message(TracesDeleted(trace_ids, self.store.writer.delete_traces(trace_ids)))

    def on_traces_deleted(self, message: TracesDeleted) -> None:
        if self._screens_gone():
            return
        if not message.ok:
            self.notify("could not delete (see the log)", severity="error")
            return
        deleted = frozenset(message.trace_ids)
        self.main.query_one(TraceBrowser).forget(deleted)
        if self.trace_id in deleted:  # the open trace is gone: empty the panes that showed it
            self.main.query_one(TraceWaterfall).show(self.trace_id, [])
            for pane in (self.main.query_one(SpanDetail), self.main.query_one(MemoryPane)):
                pane.refresh(recompose=True)  # back to their "select something" text
            self.main.query_one(SpanDetail).span = None
            self.main.query_one(LogsPane).show_span(None, None)
            self.trace_id = None
        count = len(deleted)
        self.notify(f"deleted {count} trace{'s' * (count != 1)}", title="Traces")
        self.load_trace_list()

    def on_trace_list_save_requested(self, message: TraceList.SaveRequested) -> None:
        if self._screens_gone():  # a pane's late message while the app closes
            return
        from lumos_studio.replay.save import trace_file

        ids = message.trace_ids
        agents = {t.trace_id: t.agent_name for t in self.main.query_one(TraceList).summaries}
        stamp = time.strftime("%Y%m%d-%H%M%S")
        label = agents.get(ids[0]) or "trace" if len(ids) == 1 else f"{len(ids)}-traces"
        self.save_to_file(ids, trace_file(SAVE_DIR, label, stamp))

    @work(thread=True, group="save")
    def save_to_file(self, trace_ids: list[str], path: Path) -> None:
        from lumos_studio.replay.save import save_traces

        try:
            saved = save_traces(self.store.reader, trace_ids, path)
        except OSError as exc:
            self.call_from_thread(self.notify, f"could not save: {exc}", severity="error")
            return
        self.call_from_thread(
            self.notify,
            f"saved {saved.traces} trace(s), {saved.spans} spans, {saved.logs} logs to "
            f"{saved.path}",
            title="Saved",
        )

    def on_trace_list_compare_requested(self, message: TraceList.CompareRequested) -> None:
        self.open_comparison(message.before, message.after)

    @work(thread=True, group="compare")
    def open_comparison(self, before: str, after: str) -> None:
        from lumos_studio.ui.screens.compare import CompareScreen

        reader = self.store.reader
        left, right = reader.trace_spans(before), reader.trace_spans(after)
        left_logs = reader.logs(trace_id=before, limit=TRACE_LOGS)
        right_logs = reader.logs(trace_id=after, limit=TRACE_LOGS)

        async def show() -> None:
            await self.push_screen(
                CompareScreen(left, right, left_title=before[:12], right_title=after[:12],
                              left_logs=left_logs, right_logs=right_logs)
            )

        # mypy solves Textual's ``Callable[..., T | Awaitable[T]]`` to Never for a coroutine.
        self.call_from_thread(show)  # type: ignore[arg-type]

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

    # --- actions ---

    async def action_quit(self) -> None:
        """Quit; while a run is going, only when asked twice (a stray ``q`` loses the run)."""
        now = time.monotonic()
        if not self.running or now - self._quit_asked_at < QUIT_AGAIN_SECONDS:
            self.exit()
            return
        self._quit_asked_at = now
        self.notify("A run is going: press q again to quit (ctrl+x cancels the run).",
                    title="Quit?", severity="warning", timeout=QUIT_AGAIN_SECONDS)

    def action_toggle_maximize(self) -> None:
        """Give the focused pane the whole screen, or put it back."""
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
        elif self.focused is not None:
            pane = next((w for w in self.focused.ancestors_with_self
                         if isinstance(w, Widget) and w.id in PANE_IDS), self.focused)
            screen.maximize(pane, container=False)
