"""The execution tree of one trace, updated in place while the run is going."""

from __future__ import annotations

import time

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from lumos_studio.present import children_by_parent, span_label
from lumos_studio.records import SpanRecord


class TraceTree(Tree[str]):
    """Spans as nodes (``data`` is the span id); running spans tick."""

    BORDER_TITLE = "Trace"

    class SpanChosen(Message):
        def __init__(self, span: SpanRecord) -> None:
            super().__init__()
            self.span = span

    def __init__(self, **kwargs: object) -> None:
        super().__init__(Text("no trace selected", style="dim"), **kwargs)  # type: ignore[arg-type]
        self.trace_id: str | None = None
        self.spans: dict[str, SpanRecord] = {}
        self._span_nodes: dict[str, TreeNode[str]] = {}
        self.guide_depth = 3

    def on_mount(self) -> None:
        self.set_interval(0.25, self._tick)

    def show(self, trace_id: str, spans: list[SpanRecord]) -> None:
        """Show ``spans``; on the same trace, update labels and add new spans without a rebuild."""
        if trace_id != self.trace_id:
            self.clear()
            self._span_nodes.clear()
            self.trace_id = trace_id
            self.root.set_label(Text(f"trace {trace_id[:16]}…", style="bold"))
            self.root.expand()
        self.spans = {s.span_id: s for s in spans}
        now = time.time_ns()
        children = children_by_parent(spans)
        pending: list[tuple[TreeNode[str], str | None]] = [(self.root, None)]
        while pending:
            parent_node, parent_id = pending.pop()
            for span in children.get(parent_id, []):
                node = self._span_nodes.get(span.span_id)
                if node is None:
                    parent_node.allow_expand = True
                    node = parent_node.add(
                        span_label(span, now), data=span.span_id, expand=True, allow_expand=False
                    )
                    self._span_nodes[span.span_id] = node
                else:
                    node.set_label(span_label(span, now))
                pending.append((node, span.span_id))
        self.border_subtitle = f"{len(spans)} spans"

    def select_span(self, span_id: str) -> None:
        node = self._span_nodes.get(span_id)
        if node is not None:
            # Lines are laid out on the next refresh; the cursor can only land after it.
            self.call_after_refresh(self.move_cursor, node)

    def _tick(self) -> None:
        running = [s for s in self.spans.values() if s.running]
        if running:
            now = time.time_ns()
            for span in running:
                self._span_nodes[span.span_id].set_label(span_label(span, now))

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        event.stop()
        span = self.spans.get(event.node.data) if event.node.data else None
        if span is not None:
            self.post_message(self.SpanChosen(span))
