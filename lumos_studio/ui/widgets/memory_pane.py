"""The memory of the selected run's thread, as it was at the selected span (time travel)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from lumos_studio.display import BODY_LIMIT, safe_str, safe_text
from lumos_studio.memory_view import MemoryView
from lumos_studio.present import format_time, more_line
from lumos_studio.ui.widgets.folding_pane import FoldingPane

MESSAGES_SHOWN = 8
MESSAGE_CHARS = 299  # of each message shown, the ellipsis included
HIT_CHARS = 159
# Laid out of a working memory (Markdown) and of what a step changed in it, unless ``m``: a
# 50 KB working memory took ~56 ms to lay out and a 2,000-line change ~41, at every span
# selected and every instant a replay plays.
WORKING_MEMORY_LINES = 100
CHANGED_LINES = 40
_M_SHOWS_ALL = " · m (in this pane) shows them"
_ROLE_STYLES = {"user": "bold green", "assistant": "bold cyan", "tool": "bold yellow"}


class MemoryPane(FoldingPane):
    """Renders a ``MemoryView``: working memory (with what changed), the thread, recalls."""

    BORDER_TITLE = "Memory"
    ALLOW_MAXIMIZE = True  # F6 fills the screen with the whole pane, not a part of it
    BINDINGS: ClassVar[list[BindingType]] = [Binding("m", "toggle_whole", "All memory")]
    FOLD_ACTION = "toggle_whole"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view: MemoryView | None = None
        self.whole = False  # every line of the working memory and of its change

    def compose(self) -> ComposeResult:
        yield Static(Text("Select a run to see its memory.", style="dim"), id="memory-body")

    def show(self, view: MemoryView) -> None:
        """Show ``view``; one that differs from the shown one only in its instant (a replay
        playing on) changes the subtitle alone, not the laid-out memory."""
        shown, self.view = self.view, view
        when = "live" if view.at_ns is None else f"at {format_time(view.at_ns)}"
        thread = view.thread_id
        self.border_subtitle = Text(f"{safe_str(thread)} · {when}") if thread else ""
        if shown is not None and replace(shown, at_ns=None) == replace(view, at_ns=None):
            return
        self._show_memory()

    def _show_memory(self) -> None:
        assert self.view is not None
        self.query_one("#memory-body", Static).update(render_memory(self.view, self.whole))
        self.set_folds(folds_lines(self.view))  # ``m``: a memory longer than laid out

    def action_toggle_whole(self) -> None:
        self.whole = not self.whole
        if self.view is not None:
            self._show_memory()


def folds_lines(view: MemoryView) -> bool:
    """Whether ``view`` has more lines than ``render_memory`` lays out unless asked."""
    memory = view.working_memory or ""
    return (memory.count("\n") >= WORKING_MEMORY_LINES
            or len(view.working_memory_diff) > CHANGED_LINES)


def render_memory(view: MemoryView, whole: bool = False) -> RenderableType:
    """``view`` for reading; its working memory's first ``WORKING_MEMORY_LINES`` and its
    change's first ``CHANGED_LINES`` unless ``whole``."""
    if view.thread_id is None:
        return Group(_notes(view), *_searches(view))
    parts: list[RenderableType] = [Text("Working memory", style="bold underline")]
    if view.working_memory:
        from rich.markdown import Markdown  # markdown-it loads with the first working memory

        memory = safe_str(view.working_memory, BODY_LIMIT, multiline=True)
        left_out = 0
        if not whole:
            lines = memory.split("\n", WORKING_MEMORY_LINES)
            if len(lines) > WORKING_MEMORY_LINES:
                left_out = lines.pop().count("\n") + 1
                memory = "\n".join(lines)
        parts.append(Markdown(memory))
        if left_out:
            parts.append(more_line(left_out, "more line", _M_SHOWS_ALL))
    else:
        parts.append(Text("(empty)", style="dim"))
    if view.working_memory_diff:
        parts.append(Text("changed in this step:", style="bold yellow"))
        changes = view.working_memory_diff
        shown = changes if whole else changes[:CHANGED_LINES]
        for change in shown:
            style = ("green" if change.startswith("+") else "red" if change.startswith("-")
                     else "dim")
            parts.append(safe_text(change, limit=BODY_LIMIT, style=style))
        if len(shown) < len(changes):
            parts.append(more_line(len(changes) - len(shown), "more changed line",
                                   _M_SHOWS_ALL))
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
