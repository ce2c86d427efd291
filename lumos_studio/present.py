"""How spans and traces read to a person: durations, labels, the tree. Rich only, no Textual.

Shared by the terminal commands (``show``) and the app's panes so both say the same thing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TypeVar

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from rich.tree import Tree

from lumos_studio.display import NAME_LIMIT, safe_str, safe_text
from lumos_studio.records import STATUS_ERROR, SpanRecord
from lumos_studio.semantics import OperationKind, SpanView, read_span
from lumos_studio.store.span_headers import SpanHeader, SpanLike

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
        if pattern == "%H:%M:%S":  # a list's time column, a row each: a third of the time
            return time.strftime(pattern, time.localtime(ns // 1_000_000_000))
        return datetime.fromtimestamp(ns / 1e9).strftime(pattern)
    except (OverflowError, ValueError, OSError):
        return "?"


STATUS_STYLES = {
    "ERROR": "bold red", "RUNNING": "yellow", "SUSPENDED": "bold yellow", "OK": "green",
    "UNSET": "green",
}


def more_line(count: int, what: str, shown_by: str) -> Text:
    """The dim line under a list cut short: how many ``what`` it leaves out, and how to see
    them."""
    return Text(f"… {count:,} {what}{'s' * (count != 1)}{shown_by}", style="dim")


def status_label(status: str) -> str:
    """A span's or trace's status as shown (unset reads as OK), plain."""
    return safe_str("OK" if status == "UNSET" else status, NAME_LIMIT)


def status_text(status: str) -> Text:
    """A span's or trace's status, coloured; one this version does not know is shown as is."""
    return Text(status_label(status), style=STATUS_STYLES.get(status, ""))


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


S = TypeVar("S", bound=SpanLike)


def children_by_parent(spans: Iterable[S]) -> dict[str | None, list[S]]:
    """Children of each span id; spans whose parent is missing hang off the root (None)."""
    spans = list(spans)
    known = {s.span_id for s in spans}
    children: dict[str | None, list[S]] = defaultdict(list)
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


class TraceTree:
    """A trace's spans from their headers as the tree ``rich_tree`` draws, one line a span.

    ``rich.tree.Tree`` lays out each node as a renderable of its own: 0.8 s for 10,000 spans.
    This yields each line's segments (guides, the name cut to the width, the duration) at once.
    """

    def __init__(self, trace_id: str, spans: Sequence[SpanHeader]) -> None:
        self.trace_id = trace_id
        self.spans = spans

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        width = options.max_width
        yield Segment(f"trace {safe_str(self.trace_id)}", console.get_style("bold"))
        yield Segment.line()
        styles = {kind: console.get_style(style) for kind, style in KIND_STYLES.items()}
        plain, error = Style(), console.get_style("bold red")
        dim, running = console.get_style("dim"), console.get_style("yellow")
        # A console without colour drops the styles anyway, and rich handles each segment on
        # its own: one a line instead of four takes printing a 10,000-span tree into a pipe
        # (``show``'s) from 114–127 to 82–86 ms.
        colourless = console.no_color or console.color_system is None
        children = children_by_parent(self.spans)
        stack = [(span, "", i == 0) for i, span in enumerate(reversed(children.get(None, [])))]
        while stack:
            span, guides, last = stack.pop()
            failed = span.status_code == STATUS_ERROR
            if span.running:
                suffix, suffix_style = "  ⏵ …", running
            else:
                suffix, suffix_style = f"  {format_duration(span.duration_ns)}", dim
            lead = guides + ("└── " if last else "├── ")
            room = max(1, width - len(lead) - len(suffix) - (7 if failed else 0))
            name = safe_str(span.name)
            if (len(name) > room or not name.isascii()) and cell_len(name) > room:
                name = set_cell_size(name, room - 1) + "…"
            if colourless:  # a pipe or NO_COLOR: the line as one segment
                yield Segment(f"{lead}{name}{suffix}  ERROR\n" if failed
                              else f"{lead}{name}{suffix}\n")
            else:
                look = error if failed else styles.get(span.kind, plain)
                yield Segment(lead)
                yield Segment(name, look)
                yield Segment(suffix, look + suffix_style)
                if failed:
                    yield Segment("  ERROR", look + error)
                yield Segment.line()
            kids = children.get(span.span_id)
            if kids:
                below = guides + ("    " if last else "│   ")
                count = len(kids)
                stack.extend((kids[i], below, i == count - 1) for i in range(count - 1, -1, -1))
