"""How spans and traces read to a person: durations, labels, the tree. Rich only, no Textual.

Shared by the terminal commands (``show``) and the app's panes so both say the same thing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from rich.text import Text
from rich.tree import Tree

from lumos_studio.display import NAME_LIMIT, safe_text
from lumos_studio.records import STATUS_ERROR, SpanRecord
from lumos_studio.semantics import OperationKind, SpanView, read_span

#: A span's colour by what it does, whatever dialect said so.
KIND_STYLES: dict[OperationKind, str] = {
    OperationKind.AGENT: "bold magenta",
    OperationKind.LLM: "cyan",
    OperationKind.EMBEDDING: "cyan",
    OperationKind.TOOL: "yellow",
    OperationKind.RETRIEVAL: "green",
    OperationKind.RERANKER: "green",
    OperationKind.MEMORY: "green",
    OperationKind.WORKFLOW: "blue",
    OperationKind.GUARDRAIL: "bright_red",
    OperationKind.EVALUATOR: "bright_blue",
}


def format_duration(ns: int | None) -> str:
    """``850µs``, ``12.3ms``, ``1.25s``, ``2m05s``."""
    if ns is None:
        return "…"
    if ns < 1_000_000:
        return f"{ns / 1_000:.0f}µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f}ms"
    seconds = ns / 1_000_000_000
    if seconds < 60:
        return f"{seconds:.2f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def format_time(ns: int, pattern: str = "%H:%M:%S") -> str:
    """Local wall-clock time of a span or trace start; ``?`` for one no clock can show (a sender
    may send any number)."""
    try:
        return datetime.fromtimestamp(ns / 1e9).strftime(pattern)
    except (OverflowError, ValueError, OSError):
        return "?"


STATUS_STYLES = {
    "ERROR": "bold red", "RUNNING": "yellow", "SUSPENDED": "bold yellow", "OK": "green",
    "UNSET": "green",
}


def status_text(status: str) -> Text:
    """A span's or trace's status, coloured; one this version does not know is shown as is."""
    shown = "OK" if status == "UNSET" else status
    return safe_text(shown, limit=NAME_LIMIT, style=STATUS_STYLES.get(status, ""))


def span_label(span: SpanRecord, now_ns: int | None = None, view: SpanView | None = None
               ) -> Text:
    """``invoke_agent weather  303.1ms``, coloured by what the span does (its ``view``, read here
    when not given); errors red, running spans tick."""
    if view is None:
        view = read_span(span)
    style = "bold red" if span.status_code == STATUS_ERROR else KIND_STYLES.get(view.kind, "")
    label = safe_text(span.name, style=style)
    if span.running:
        elapsed = format_duration(now_ns - span.start_ns) if now_ns else "…"
        label.append(f"  ⏵ {elapsed}", style="yellow")
    else:
        label.append(f"  {format_duration(span.duration_ns)}", style="dim")
    if span.status_code == STATUS_ERROR:
        label.append("  ERROR", style="bold red")
    return label


def children_by_parent(spans: Iterable[SpanRecord]) -> dict[str | None, list[SpanRecord]]:
    """Children of each span id; spans whose parent is missing hang off the root (None)."""
    spans = list(spans)
    known = {s.span_id for s in spans}
    children: dict[str | None, list[SpanRecord]] = defaultdict(list)
    for span in spans:
        parent = span.parent_span_id if span.parent_span_id in known else None
        children[parent].append(span)
    for siblings in children.values():
        siblings.sort(key=lambda s: (s.start_ns, s.span_id))
    return children


def rich_tree(trace_id: str, spans: Iterable[SpanRecord],
              views: dict[str, SpanView] | None = None) -> Tree:
    """The whole trace as a rich ``Tree`` for the terminal (``views`` by span id, from
    ``read_trace``; each span is read here when not given)."""
    spans = list(spans)
    views = views or {}
    children = children_by_parent(spans)
    root = Tree(Text.assemble("trace ", safe_text(trace_id), style="bold"))

    def add(node: Tree, parent: str | None) -> None:
        for span in children.get(parent, []):
            add(node.add(span_label(span, view=views.get(span.span_id))), span.span_id)

    add(root, None)
    return root
