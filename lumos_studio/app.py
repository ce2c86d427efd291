"""The Textual app: wiring between the store, the session's agents and the panes.

Layout lives in ``ui/studio.tcss``; each pane is its own widget. What the app does is in its
mixins: ``ui/trace_loading.py``, ``ui/trace_list_actions.py``, ``ui/store_status.py``,
``ui/chat_turns.py`` and the other ``ui/*_actions.py``.
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
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import Header
from textual.worker import Worker

from lumos_studio.display import safe_str
from lumos_studio.process_settings import quick_handoffs, settle_start_up, usual_handoffs
from lumos_studio.records import LogRecord
from lumos_studio.sessions.base import Session, SessionEvent
from lumos_studio.store import Store
from lumos_studio.store.storage_error import StorageProblem
from lumos_studio.ui.base_app import ConsoleApp
from lumos_studio.ui.breakpoints import BREAKPOINTS_FILE, Breakpoints
from lumos_studio.ui.chat_turns import ChatTurns
from lumos_studio.ui.conversations import Conversations
from lumos_studio.ui.debugger_actions import DebuggerActions
from lumos_studio.ui.decoded_trace import DecodedTrace
from lumos_studio.ui.graph_actions import GraphActions
from lumos_studio.ui.layout import Layout
from lumos_studio.ui.layout_actions import LayoutActions
from lumos_studio.ui.messages import SessionChanged
from lumos_studio.ui.playground_actions import PlaygroundActions
from lumos_studio.ui.read_only import CommitWatch, ReadOnlyStore, refusal
from lumos_studio.ui.screens.experiments_app import ExperimentActions
from lumos_studio.ui.store_status import StoreStatus
from lumos_studio.ui.trace_list_actions import TraceListActions
from lumos_studio.ui.trace_loading import TraceLoading
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
from lumos_studio.ui.widgets.trace_pane import TracePane
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

if TYPE_CHECKING:
    from lumos_studio.forward import Forwarder
    from lumos_studio.store.writer import StoreWriter

REFRESH_INTERVAL = 0.1  # live updates at most ~10 per second
STORAGE_CHECK_INTERVAL = 1.0  # how soon the header says the store cannot take writes
# The session starts once the trace list is drawn, or this long after the mount at the latest.
SESSION_START_AT_LATEST = 1.0
LAYOUT_FILE = "layout.json"  # beside the store: each project keeps its own
QUIT_AGAIN_SECONDS = 3.0  # a second q within this quits while a run is going
PANE_IDS = {"agents", "chat", "trace-browser", "trace-pane", "detail", "memory", "logs"}


class StudioApp(TraceLoading, TraceListActions, StoreStatus, ChatTurns, DebuggerActions,
                GraphActions, LayoutActions, ExperimentActions, PlaygroundActions, ConsoleApp):
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
        Binding("P", "open_playground", "Playground", key_display="P", show=False),
    ]
    # A run is going: the footer shows ctrl+x (Cancel run) only then (``check_action``).
    running: var[bool] = var(False, bindings=True)

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
        self._session_started = False  # ``start_session_once``
        self.queued_message: str | None = None
        self.loads = 0  # successful (re)loads of the session's agents
        self.trace_id: str | None = None
        self._follow_new_trace = False
        self._list_cursor_to_trace = False
        self._shown_a_trace = False  # the first list shown opens its newest trace
        self._quit_asked_at = -QUIT_AGAIN_SECONDS  # when quitting during a run was first asked
        self._changed: set[str] = set()
        self._new_logs = False
        self._others_committed = False  # another process committed (``StoreChange.others``)
        self._pending_span: str | None = None  # a span to select once its trace is shown
        self._searches: tuple[str, ...] = ()  # the shown trace's searches (the memory pane's)
        self._trace_logs: Sequence[LogRecord] = ()  # the shown trace's newest log records
        self._part_shown: str | None = None  # a trace whose first part is shown, the rest coming
        self._paced_reads()  # the shown trace, the list and the metrics, after commits
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

    def playground_writer(self) -> StoreWriter | None:
        """The playground's tries go to the store, unless this studio only reads."""
        return None if isinstance(self.store, ReadOnlyStore) else self.store.writer

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
                    yield TracePane(TraceWaterfall(id="tree"), id="trace-pane",
                                    words=self.store.reader.spans_with_words)
                    yield SpanDetail(id="detail")
                with Horizontal(id="state"):
                    yield MemoryPane(id="memory")
                    yield LogsPane(self.store.target, id="logs")
        yield KeyFooter()

    def on_mount(self) -> None:
        # The endpoint before the store: what an exporter is pointed at stays in view when a
        # narrow header cuts its end (at 80 columns it read "OTLP htt…").
        receiving = f" · OTLP {self.endpoint}" if self.endpoint else ""
        self.sub_title = safe_str(f"{self.session.source}{receiving} · {self.store.label}", None)
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
        self.main.query_one(AgentList).set_loading(not self.session_ready and not self.read_only)
        self._show_agents(stale=False)
        self.show_breakpoints()
        self.main.query_one(TraceList if self.read_only else "#chat-input").focus()
        self.call_after_refresh(settle_start_up)  # collections resume, start-up's objects frozen
        # The session once the trace list is drawn (``on_trace_list_loaded``), or a moment after
        # the first frame if the list is slow: its imports compete with the list's read.
        self.set_timer(SESSION_START_AT_LATEST, self.start_session_once)
        quick_handoffs()  # until then too: the list's read waits less for the GIL

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":  # nothing to cancel: the footer leaves the key out
            return self.running
        return super().check_action(action, parameters)

    def _check_action_state(self, action: str, default_namespace: DOMNode) -> bool | None:
        """Read-only: the footer leaves out the keys that would write."""
        if self.read_only:
            _target, name, parameters = self._parse_action(action, default_namespace)
            if refusal(name, parameters) is not None:
                return False
        return super()._check_action_state(action, default_namespace)

    def on_unmount(self) -> None:
        usual_handoffs()
        self.end_pauses()
        self.session.stop()

    # --- the session: agents, reloads, load problems, worker output ---

    def start_session_once(self) -> None:
        """Start the session (its agents' imports, ~200 ms of the GIL) once, after the first
        frame and the trace list: beside them, the list's read waited for the GIL after each
        SQLite step (a 1.1M-span store's list drawn 0.9–1.0 s after Enter)."""
        if not self._session_started:
            self._session_started = True
            usual_handoffs()
            self.start_session()

    @work(thread=True, group="session")
    def start_session(self) -> None:
        self.session.start()

    def on_session_changed(self, message: SessionChanged) -> None:
        if self._screens_gone():
            return
        event = message.event
        if event.agents is not None or event.problem is not None:
            self.main.query_one(AgentList).set_loading(False)
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
