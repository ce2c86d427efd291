"""The memory of the selected run's thread, as it was at the selected span (time travel)."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from lumos_studio.display import BODY_LIMIT, safe_str, safe_text
from lumos_studio.memory_view import MemoryView
from lumos_studio.present import format_time

MESSAGES_SHOWN = 8
MESSAGE_CHARS = 299  # of each message shown, the ellipsis included
HIT_CHARS = 159
_ROLE_STYLES = {"user": "bold green", "assistant": "bold cyan", "tool": "bold yellow"}


class MemoryPane(VerticalScroll):
    """Renders a ``MemoryView``: working memory (with what changed), the thread, recalls."""

    BORDER_TITLE = "Memory"
    ALLOW_MAXIMIZE = True  # F6 fills the screen with the whole pane, not a part of it

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view: MemoryView | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("Select a run to see its memory.", style="dim"), id="memory-body")

    def show(self, view: MemoryView) -> None:
        self.view = view
        when = "live" if view.at_ns is None else f"at {format_time(view.at_ns)}"
        thread = view.thread_id
        self.border_subtitle = Text(f"{safe_str(thread)} · {when}") if thread else ""
        self.query_one("#memory-body", Static).update(render_memory(view))


def render_memory(view: MemoryView) -> RenderableType:
    if view.thread_id is None:
        return Group(_notes(view), *_searches(view))
    parts: list[RenderableType] = [Text("Working memory", style="bold underline")]
    if view.working_memory:
        from rich.markdown import Markdown  # markdown-it loads with the first working memory

        parts.append(Markdown(safe_str(view.working_memory, BODY_LIMIT, multiline=True)))
    else:
        parts.append(Text("(empty)", style="dim"))
    if view.working_memory_diff:
        parts.append(Text("changed in this step:", style="bold yellow"))
        for change in view.working_memory_diff:
            style = ("green" if change.startswith("+") else "red" if change.startswith("-")
                     else "dim")
            parts.append(safe_text(change, limit=BODY_LIMIT, style=style))
    count = len(view.messages)
    heading = f"Thread ({count} message{'s' * (count != 1)}"
    heading += f", +{view.new_messages} in this step)" if view.new_messages else ")"
    parts += [Text(""), Text(heading, style="bold underline")]
    for role, text in view.messages[-MESSAGES_SHOWN:]:
        line = Text(f"{safe_str(role)} › ", style=_ROLE_STYLES.get(role, "bold"))
        line.append(safe_str(text, MESSAGE_CHARS, multiline=True))
        parts.append(line)
    if view.notes:
        parts += [Text(""), _notes(view)]
    return Group(*parts, *_searches(view))


def _notes(view: MemoryView) -> Text:
    return Text("\n".join(safe_str(note, BODY_LIMIT) for note in view.notes), style="dim")


def _searches(view: MemoryView) -> list[RenderableType]:
    """The last recalls / retrievals of the run, with their scores; the messages recalled
    around a hit (no score of their own) hang under it."""
    parts: list[RenderableType] = []
    for search in view.searches:
        heading = f"{safe_str(search.span_name)}: {safe_str(search.query, BODY_LIMIT)}"
        parts += [Text(""), Text(heading, style="bold underline")]
        for content, score in search.hits:
            if isinstance(score, int | float):
                line = Text(f"{score:.3f} ", style="magenta")
                line.append(safe_str(content, HIT_CHARS, multiline=True))
            else:  # no score: a message recalled for context around the hit above it
                line = Text("  ↳   ", style="dim magenta")
                line.append(safe_str(content, HIT_CHARS, multiline=True), style="dim")
            parts.append(line)
    return parts
