"""The graph pane: the selected workflow's steps (or an agent's loop) as boxes and arrows, each
coloured by its state in the shown run, with its timing. The drawing is ``ui.graph_layout``'s.

Public face, for the app and the debugger UI:

- ``show_graph(info)`` draws a listed workflow or agent (``None``: nothing selected);
  ``show_runs(spans, views)`` takes the states from a trace's spans (ignored unless the trace is a
  run of what is drawn); ``step_update(update)`` takes a live ``StreamUpdate`` of the running
  turn; ``reset_live()`` forgets those when a new run starts.
- ``breakpoints``: the node ids with a breakpoint (a set; assign to redraw), each drawn as ``●``
  in the node's gutter. ``paused``: the node id a run is paused at (drawn paused), or None.
- Messages: ``NodeChosen(node_id, span_id)`` when the cursor lands on a node (the app selects
  its span in the waterfall); ``BreakpointToggled(node_id, on)`` on ``b``, after ``breakpoints``
  changed (what the node is: ``GraphPane.node(node_id).kind``).

Node ids are step names for a workflow; for an agent its name, ``model``, ``tool:<name>`` and
``agent:<name>`` (``ui.graph_model``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from lumos_studio.display import safe_str
from lumos_studio.records import SpanRecord
from lumos_studio.semantics import SpanView
from lumos_studio.sessions.base import AgentInfo, StreamUpdate
from lumos_studio.ui.graph_layout import Canvas, Look, layout_graph
from lumos_studio.ui.graph_model import (
    GraphNode,
    NodeRun,
    NodeState,
    apply_update,
    graph_of,
    merged,
    runs_from_spans,
)

TICK_SECONDS = 0.25  # running nodes' timers
EMPTY = "Select a workflow or an agent in the agents list to see its graph."
# Fixed colours (not the theme's): a state reads the same in every theme and snapshot.
STYLES: dict[str, Style] = {
    "edge": Style(color="#7f848e"),
    "frame": Style(color="#61afef"),
    "cond": Style(color="#c678dd", italic=True),
    "muted": Style(dim=True),
    "breakpoint": Style(color="#e06c75", bold=True),
    "state.pending": Style(color="#7f848e"),
    "state.running": Style(color="#e5c07b", bold=True),
    "state.paused": Style(color="#c678dd", bold=True, underline=True),
    "state.done": Style(color="#98c379"),
    "state.failed": Style(color="#e06c75", bold=True),
    "state.suspended": Style(color="#56b6c2", bold=True),
}
SELECTED = {True: Style(reverse=True, bold=True), False: Style(underline=True, bold=True)}


class GraphPane(ScrollView, can_focus=True):
    """A workflow's or an agent's graph, live with the selected run."""

    BORDER_TITLE = "Graph"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,left", "cursor(-1)", "Previous node", show=False),
        Binding("down,right", "cursor(1)", "Next node", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter,space", "choose", "Select span / fold"),
        Binding("b", "toggle_breakpoint", "Breakpoint"),
    ]

    class NodeChosen(Message):
        """The cursor landed on a node; ``span_id`` is its span in the shown run (or None)."""

        def __init__(self, node_id: str, span_id: str | None) -> None:
            super().__init__()
            self.node_id = node_id
            self.span_id = span_id

    class BreakpointToggled(Message):
        """``b`` on a node: its breakpoint is now ``on`` (``GraphPane.breakpoints`` says so)."""

        def __init__(self, node_id: str, on: bool) -> None:
            super().__init__()
            self.node_id = node_id
            self.on = on

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        super().__init__(id=id, classes=classes)
        self.clock = clock  # injectable so tests draw running timers the same every time
        self.root: GraphNode | None = None
        self.selected: str | None = None
        self._breakpoints: set[str] = set()
        self._paused: str | None = None
        self._collapsed: set[str] = set()
        self._span_runs: dict[str, NodeRun] = {}
        self._live: dict[str, NodeRun] = {}
        self._graph_nodes: dict[str, GraphNode] = {}
        self._canvas: Canvas | None = None
        self._offset = 0  # columns left of the drawing when the pane is wider than it

    def on_mount(self) -> None:
        self.set_interval(TICK_SECONDS, self._tick)

    # --- the public interface ---

    def show_graph(self, info: AgentInfo | None) -> None:
        """Draw ``info``'s graph (a new one starts with no states and its first node selected)."""
        root = graph_of(info) if info is not None else None
        if root == self.root:
            return
        self.root = root
        self._graph_nodes = {n.id: n for n in root.walk()} if root is not None else {}
        self._span_runs, self._live, self._paused = {}, {}, None
        self._collapsed = set()
        # A Text, not a str: a str title is read as markup, and the name is outside text.
        self.border_title = Text(f"Graph · {safe_str(info.name)}" if info is not None else "Graph")
        self._relayout()
        order = self.order
        self.selected = order[0] if order else None
        self.scroll_to(0, 0, animate=False)
        self._relayout()

    def show_runs(self, spans: Iterable[SpanRecord],
                  views: Mapping[str, SpanView] | None = None) -> None:
        """The states of the nodes in a trace's run; a trace of something else clears them."""
        if self.root is None:
            return
        runs = runs_from_spans(self.root, spans, views)
        if runs != self._span_runs:
            self._span_runs = runs
            self._relayout()

    def step_update(self, update: StreamUpdate) -> None:
        """A live step update of the running turn (for the drawn workflow)."""
        if update.step in self._graph_nodes and apply_update(self._live, update, self.clock()):
            self._relayout()

    def reset_live(self) -> None:
        """A new run starts: every node pending until its spans or updates say otherwise."""
        self._live, self._span_runs, self._paused = {}, {}, None
        self._relayout()

    @property
    def breakpoints(self) -> set[str]:
        """Node ids with a breakpoint; assign a new set to redraw (mutating it does not)."""
        return set(self._breakpoints)

    @breakpoints.setter
    def breakpoints(self, node_ids: set[str]) -> None:
        self._breakpoints = set(node_ids)
        self._relayout()

    @property
    def paused(self) -> str | None:
        return self._paused

    @paused.setter
    def paused(self, node_id: str | None) -> None:
        self._paused = node_id
        self._relayout()

    @property
    def runs(self) -> dict[str, NodeRun]:
        """Each node's state as drawn."""
        return merged(self._span_runs, self._live, self._paused)

    def node(self, node_id: str) -> GraphNode | None:
        return self._graph_nodes.get(node_id)

    @property
    def order(self) -> list[str]:
        """The drawn nodes, top to bottom, left to right: the cursor's path."""
        canvas = self._canvas
        if canvas is None:
            return []
        return sorted(canvas.boxes, key=lambda n: (canvas.boxes[n].y, canvas.boxes[n].x))

    @property
    def text(self) -> str:
        """The drawing as plain text (tests)."""
        return self._canvas.text() if self._canvas is not None else ""

    def select_node(self, node_id: str) -> None:
        """Put the cursor on ``node_id`` and say so (``NodeChosen``)."""
        if self._canvas is None or node_id not in self._canvas.boxes:
            return
        self.selected = node_id
        self._relayout()
        self._scroll_to_selected()
        run = self.runs.get(node_id)
        self.post_message(self.NodeChosen(node_id, run.span_id if run else None))

    # --- actions ---

    def action_cursor(self, delta: int) -> None:
        order = self.order
        if not order:
            return
        index = order.index(self.selected) if self.selected in order else -1
        self.select_node(order[max(0, min(index + delta, len(order) - 1))])

    def action_first(self) -> None:
        if self.order:
            self.select_node(self.order[0])

    def action_last(self) -> None:
        if self.order:
            self.select_node(self.order[-1])

    def action_choose(self) -> None:
        """Fold or unfold a nested workflow; on any other node, select its span again."""
        node = self._graph_nodes.get(self.selected or "")
        if node is None:
            return
        if node.kind == "workflow":
            self._collapsed.symmetric_difference_update({node.id})
            self._relayout()
        self.select_node(node.id)

    def action_toggle_breakpoint(self) -> None:
        node_id = self.selected
        if node_id is None or node_id not in self._graph_nodes:
            return
        on = node_id not in self._breakpoints
        self._breakpoints.symmetric_difference_update({node_id})
        self._relayout()
        self.post_message(self.BreakpointToggled(node_id, on))

    # --- drawing ---

    def _relayout(self) -> None:
        if self.root is None:
            self._canvas = None
            self.virtual_size = Size(0, 0)
        else:
            look = Look(self.runs, self.selected, self._breakpoints, self._collapsed,
                        self.clock())
            self._canvas = layout_graph(self.root, look)
            self.virtual_size = Size(self._canvas.width, self._canvas.height)
        self.border_subtitle = self._summary()
        self.refresh()

    def _summary(self) -> str:
        runs = self.runs
        counts = {state: 0 for state in NodeState}
        for node_id in self.order:
            counts[runs.get(node_id, NodeRun()).state] += 1
        said = [f"{n} {state.value}" for state, n in counts.items()
                if n and state is not NodeState.PENDING]
        return " · ".join(said)

    def _tick(self) -> None:
        if self.display and any(run.state is NodeState.RUNNING for run in self.runs.values()):
            self._relayout()

    def _scroll_to_selected(self) -> None:
        canvas = self._canvas
        if canvas is None or self.selected not in canvas.boxes:
            return
        box = canvas.boxes[self.selected]
        self.scroll_to_region(Region(box.x, box.y, box.width, max(box.height, 1)),
                              animate=False, immediate=True)

    def on_resize(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        """A click on a node selects it, like the cursor keys."""
        canvas = self._canvas
        if canvas is None:
            return
        offset = event.get_content_offset(self)
        if offset is None:
            return
        width = self.scrollable_content_region.width
        x = offset.x + round(self.scroll_x) - max(0, (width - canvas.width) // 2)
        y = offset.y + round(self.scroll_y)
        hits = [node for node, box in canvas.boxes.items()
                if box.x <= x < box.x + box.width and box.y <= y < box.y + box.height]
        if hits:  # the innermost: a frame's node is drawn before what it holds
            self.select_node(min(hits, key=lambda n: canvas.boxes[n].width))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        canvas = self._canvas
        if canvas is None:
            text = EMPTY if y == 0 else ""
            return Strip([Segment(text[:width].ljust(width), Style(dim=True))], width)
        row = y + round(self.scroll_y)
        if row >= canvas.height:
            return Strip.blank(width)
        offset = max(0, (width - canvas.width) // 2)
        selected = SELECTED[self.has_focus]
        segments = [Segment(" " * offset)] if offset else []
        chars, tags = canvas.chars[row], canvas.tags[row]
        run_start = 0
        for x in range(1, canvas.width + 1):
            if x == canvas.width or tags[x] != tags[run_start]:
                tag = tags[run_start]
                style = selected if tag == "selected" else STYLES.get(tag, Style())
                segments.append(Segment("".join(chars[run_start:x]), style))
                run_start = x
        strip = Strip(segments).crop(round(self.scroll_x), round(self.scroll_x) + width)
        return strip.extend_cell_length(width)
