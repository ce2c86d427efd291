"""The graph pane's wiring in the studio: it draws the agent or workflow the agents list selects,
takes its states from the shown trace and from the running turn's step updates, and selects the
chosen node's span in the waterfall.

A mixin of ``StudioApp`` (``app.py`` keeps the wiring); Textual calls each class's handler of a
message, so these run beside ``TraceLoading``'s ``on_trace_loaded`` and ``ChatTurns``'
``on_turn_streamed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lumos_studio.sessions.base import Session
from lumos_studio.ui.breakpoints import Breakpoints, node_breakpoint
from lumos_studio.ui.decoded_trace import DecodedTrace
from lumos_studio.ui.graph_model import MODEL_NODE
from lumos_studio.ui.layout import Layout
from lumos_studio.ui.messages import SessionChanged, TraceLoaded, TurnStreamed
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.graph import GraphPane
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from lumos_core.worker_protocol import Paused

    _AppBase = App[None]
else:
    _AppBase = object


class GraphActions(_AppBase):
    """Keeps ``#graph`` in step with the selected agent, the shown trace and the running turn."""

    # Provided by StudioApp.
    session: Session
    agent_name: str | None
    trace_id: str | None
    turn: int
    layout: Layout
    breakpoints: Breakpoints  # DebuggerActions'
    _graph_turn: int = 0  # the turn whose step updates the graph shows

    if TYPE_CHECKING:
        @property
        def main(self) -> Screen[None]: ...
        def _screens_gone(self) -> bool: ...
        def action_toggle_pane(self, pane: str) -> None: ...
        def show_breakpoints(self) -> None: ...
        def decoded_trace(self) -> DecodedTrace: ...

    @property
    def graph(self) -> GraphPane:
        return self.main.query_one(GraphPane)

    def action_toggle_graph(self) -> None:
        """Show the graph pane and focus it, or hide it."""
        self.action_toggle_pane("graph")
        if self.layout.graph:
            self._show_shown_trace()
            self.graph.focus()

    def _draw_selected(self) -> None:
        info = next((a for a in self.session.agents if a.name == self.agent_name), None)
        graph = self.graph
        before = graph.root
        graph.show_graph(info)
        if graph.root != before:
            self._show_shown_trace()
            self.show_breakpoints()

    def _show_shown_trace(self) -> None:
        """The waterfall's trace's states on the graph (only while it shows: a hidden graph
        does not read every live trace again)."""
        tree = self.main.query_one(TraceWaterfall)
        if self.layout.graph and tree.trace_id is not None and tree.trace_id == self.trace_id:
            decoded = self.decoded_trace()
            self.graph.show_runs(list(decoded.spans.values()), decoded.views)

    def on_mount(self) -> None:
        self._draw_selected()

    def on_session_changed(self, message: SessionChanged) -> None:
        if not self._screens_gone() and message.event.agents is not None:
            self._draw_selected()

    def on_agent_list_chosen(self, message: AgentList.Chosen) -> None:
        if not self._screens_gone():
            self._draw_selected()

    def on_trace_loaded(self, message: TraceLoaded) -> None:
        if not self._screens_gone() and self.layout.graph and message.trace_id == self.trace_id:
            decoded = self.decoded_trace()
            self.graph.show_runs(list(decoded.spans.values()), decoded.views)

    def on_turn_streamed(self, message: TurnStreamed) -> None:
        if self._screens_gone() or message.turn != self.turn:
            return
        graph = self.graph
        if message.turn != self._graph_turn:
            self._graph_turn = message.turn
            graph.reset_live()
        if graph.root is not None and graph.root.id == message.agent_name:
            graph.step_update(message.update)

    def on_graph_pane_node_chosen(self, message: GraphPane.NodeChosen) -> None:
        """Select the node's span in the waterfall (its detail follows)."""
        if self._screens_gone():  # a pane's late message while the app closes
            return
        tree = self.main.query_one(TraceWaterfall)
        if message.span_id is not None and message.span_id in tree.spans:
            tree.select_span(message.span_id)

    # --- breakpoints and pauses on the graph ---

    def on_graph_pane_breakpoint_toggled(self, message: GraphPane.BreakpointToggled) -> None:
        """``b`` on a node sets or removes the breakpoint it stands for (before the step, before
        each model call, before that tool's calls), kept with the others."""
        root = self.graph.root
        if root is None or self._screens_gone():
            return
        workflow = root.kind == "workflow_root"
        self.breakpoints.put(node_breakpoint(root.id, message.node_id, workflow), message.on)
        self.show_breakpoints()

    def show_graph_breakpoints(self) -> None:
        """The graph's gutter: ● on the nodes of its agent or workflow a breakpoint stops at."""
        graph = self.graph
        if graph.root is not None:
            workflow = graph.root.kind == "workflow_root"
            graph.breakpoints = self.breakpoints.node_ids(graph.root.id, workflow)

    def show_pause_on_graph(self, paused: Paused | None) -> None:
        """The node a run waits at, drawn paused (None: the run went on)."""
        graph = self.graph
        if graph.root is None:
            return
        if paused is None:
            graph.paused = None
        elif paused.workflow == graph.root.id and paused.point in ("before_step", "after_step"):
            graph.paused = paused.target
        elif paused.agent == graph.root.id:
            graph.paused = f"tool:{paused.target}" if "tool" in paused.point else MODEL_NODE
