"""The Textual app: wiring between the store, the agents and the panes. Layout lives in the tcss."""

from __future__ import annotations

import threading
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header

from lumos_core import Message
from lumos_studio.ingest import studio_tracer_provider
from lumos_studio.sessions.discovery import AgentCatalog
from lumos_studio.store import Store, StoreChange
from lumos_studio.ui.messages import (
    AgentFailed,
    AgentReplied,
    TraceListLoaded,
    TraceLoaded,
    TracesChanged,
)
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.chat import ChatPane
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.trace_tree import TraceTree

REFRESH_INTERVAL = 0.1  # live updates at most ~10 per second


class StudioApp(App[None]):
    """Chat with agents and watch their traces grow, side by side."""

    TITLE = "Lumos Studio"
    CSS_PATH = "ui/studio.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("q", "quit", "Quit", show=False),
        Binding("f1", "toggle_help", "Keys"),
        Binding("question_mark", "toggle_help", "Keys", key_display="?", show=False),
        Binding("a", "focus('agents')", "Agents"),
        Binding("l", "focus('traces')", "Traces"),
        Binding("t", "focus('tree')", "Tree"),
        Binding("d", "focus('detail')", "Detail"),
        Binding("i", "focus('chat-input')", "Chat"),
    ]

    def __init__(self, store: Store, catalog: AgentCatalog) -> None:
        super().__init__()
        self.store = store
        self.catalog = catalog
        self.tracer_provider = studio_tracer_provider(store.writer)
        self.agent_name: str | None = next(iter(catalog.agents), None)
        self.transcripts: dict[str, list[tuple[str, str]]] = {}
        self.histories: dict[str, tuple[Message, ...]] = {}
        self.trace_id: str | None = None
        self._follow_new_trace = False
        self._changed: set[str] = set()
        self._changed_lock = threading.Lock()
        store.writer.subscribe(self._on_store_commit)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="sessions"):
                yield AgentList(self.catalog.agents, id="agents")
                yield ChatPane(id="chat")
            with Vertical(id="traces-column"):
                yield TraceList(id="traces")
                with Horizontal(id="inspector"):
                    yield TraceTree(id="tree")
                    yield SpanDetail(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.catalog.source} · {self.store.path}"
        self.set_interval(REFRESH_INTERVAL, self._publish_changes)
        self.load_trace_list()
        if self.agent_name:
            self.query_one(ChatPane).set_agent(
                self.agent_name, self.transcripts.get(self.agent_name, [])
            )
        self.query_one("#chat-input").focus()

    # --- live updates: writer thread → coalesced message on the UI thread ---

    def _on_store_commit(self, change: StoreChange) -> None:
        with self._changed_lock:
            self._changed.update(change.trace_ids)

    def _publish_changes(self) -> None:
        with self._changed_lock:
            if not self._changed:
                return
            changed, self._changed = frozenset(self._changed), set()
        self.post_message(TracesChanged(changed))

    def on_traces_changed(self, message: TracesChanged) -> None:
        self.load_trace_list()
        if self.trace_id in message.trace_ids:
            self.load_trace(self.trace_id)

    # --- workers: queries off the UI thread, results back as messages ---

    @work(thread=True, exclusive=True, group="trace-list")
    def load_trace_list(self) -> None:
        self.post_message(TraceListLoaded(self.store.reader.list_traces()))

    @work(thread=True, exclusive=True, group="trace")
    def load_trace(self, trace_id: str) -> None:
        self.post_message(TraceLoaded(trace_id, self.store.reader.trace_spans(trace_id)))

    @work(thread=True, group="agent-run")
    def run_agent(self, agent_name: str, text: str, history: tuple[Message, ...]) -> None:
        agent = self.catalog.agents[agent_name]
        try:
            result = agent.run_sync(
                text, message_history=history, tracer_provider=self.tracer_provider
            )
        except Exception as exc:  # user code failed: show it, keep the studio up
            self.post_message(AgentFailed(agent_name, f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(AgentReplied(agent_name, result))

    def on_trace_list_loaded(self, message: TraceListLoaded) -> None:
        summaries = message.summaries
        if self._follow_new_trace and summaries and summaries[0].trace_id != self.trace_id:
            newest = summaries[0]
            if newest.agent_name == self.agent_name:
                self._follow_new_trace = False
                self.show_trace(newest.trace_id)
        self.query_one(TraceList).show(summaries, self.trace_id)

    def on_trace_loaded(self, message: TraceLoaded) -> None:
        if message.trace_id != self.trace_id:
            return
        tree = self.query_one(TraceTree)
        first_load = tree.trace_id != message.trace_id
        tree.show(message.trace_id, message.spans)
        detail = self.query_one(SpanDetail)
        if detail.span is not None and detail.span.span_id in tree.spans:
            detail.show(tree.spans[detail.span.span_id])
        elif first_load and message.spans:
            tree.select_span(message.spans[0].span_id)

    def show_trace(self, trace_id: str) -> None:
        self.trace_id = trace_id
        self.load_trace(trace_id)

    # --- pane messages ---

    def on_agent_list_chosen(self, message: AgentList.Chosen) -> None:
        if message.agent_name != self.agent_name:
            self.agent_name = message.agent_name
            self.query_one(ChatPane).set_agent(
                message.agent_name, self.transcripts.get(message.agent_name, [])
            )

    def on_trace_list_chosen(self, message: TraceList.Chosen) -> None:
        self._follow_new_trace = False
        self.show_trace(message.trace_id)
        self.query_one(TraceTree).focus()

    def on_trace_tree_span_chosen(self, message: TraceTree.SpanChosen) -> None:
        self.query_one(SpanDetail).show(message.span)

    def on_chat_pane_submitted(self, message: ChatPane.Submitted) -> None:
        name = self.agent_name
        if name is None:
            self.notify("No agent to chat with.", severity="error")
            return
        self._record_turn(name, "you", message.text)
        self.query_one(ChatPane).set_busy(True)
        self._follow_new_trace = True
        self.run_agent(name, message.text, self.histories.get(name, ()))

    def on_agent_replied(self, message: AgentReplied) -> None:
        self.histories[message.agent_name] = message.result.messages
        self._record_turn(message.agent_name, message.agent_name, message.result.output)
        self.query_one(ChatPane).set_busy(False)
        if message.result.trace_id and message.result.trace_id != self.trace_id:
            self._follow_new_trace = False
            self.show_trace(message.result.trace_id)

    def on_agent_failed(self, message: AgentFailed) -> None:
        self._record_turn(message.agent_name, "error", message.error)
        self.query_one(ChatPane).set_busy(False)

    def _record_turn(self, agent_name: str, role: str, text: str) -> None:
        self.transcripts.setdefault(agent_name, []).append((role, text))
        if agent_name == self.agent_name:
            self.query_one(ChatPane).add_turn(role, text)

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()
