"""The trace pane: the waterfall, and a find bar over it that finds spans by name, span id,
the words of their messages and what they do (``is:model``; ``trace_find``).

``/`` opens the bar; each key typed moves the cursor to the first match at or after it (the
waterfall marks every match), Enter or down goes to the next, up to the one before, Escape ends
the find and gives the tree the focus back, its cursor on the match; ctrl+o shows the matches
and their ancestors alone (again: every span). Names and ids are matched
at once, in memory; the words of the messages are the store's full-text index's to find (a
worker asks it, ``words``), and their spans join the matches when it answers. The border, its
title and the span count are the pane's, so the bar sits inside it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label

from lumos_studio.ui.trace_find import MIN_ID_DIGITS, Found, SpanFinder
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

log = logging.getLogger(__name__)

# Words looked up in a trace's messages: what the store's reader answers (``spans_with_words``).
FindWords = Callable[[str, str], set[str]]
MAX_FIND_CHARS = 200

# A live trace growing under a find has its count said again at most this often: counting
# matches goes over every span (~90 ms at 100,000), and the trace is sent again ~10 times a second.
RECOUNT_EVERY = 0.5

_PLACEHOLDER = (f"find spans: a part of their name, words of their messages, "
                f"{MIN_ID_DIGITS}+ digits of an id; is:model is:tool is:error …")


class TracePane(Vertical):
    """``TraceWaterfall`` (``id="tree"``) under a find bar shown while a find is under way."""

    BORDER_TITLE = "Trace"
    ALLOW_MAXIMIZE = True  # F6 on the tree gives the screen to the pane, its find bar with it
    DEFAULT_CSS = """
    TracePane {
        border: round $primary 50%;
        background: $surface;
        & > TraceWaterfall, & > TraceWaterfall:focus { border: none; }
        & > #trace-find-bar { height: 1; display: none; }
        & > #trace-find-bar.-active { display: block; }
        & > #trace-find-bar > Input { width: 1fr; }
        & > #trace-find-bar > #trace-find-label { width: auto; padding: 0 1; color: $text-muted; }
        & > #trace-find-bar > #trace-find-status { width: auto; padding: 0 1; color: $text-muted; }
        & > #trace-find-bar > #trace-find-status.-none { color: $text-warning; }
        &:focus-within { border: round $accent; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "find", "Find", key_display="/"),
        # The input's own up and down (scrolling, which it cannot) give way to these.
        Binding("down", "find_step(1)", "Next match", show=False),
        Binding("up", "find_step(-1)", "Previous match", show=False),
        Binding("escape", "end_find", "End find"),
        Binding("ctrl+o", "only_matches", "Only matches"),
    ]

    @dataclass
    class WordsFound(Message):
        """The store's answer: the spans of ``trace_id`` whose messages hold ``text``'s words."""

        trace_id: str
        text: str
        span_ids: frozenset[str]
        go: bool  # the first answer for what was typed: the cursor may go to a match

    def __init__(self, tree: TraceWaterfall, *, words: FindWords | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tree = tree
        self._words = words
        self._asking: str | None = None  # the text whose words the store is asked for
        self._recount: Timer | None = None  # the find's count to say again, the trace changed

    def compose(self) -> ComposeResult:
        with Horizontal(id="trace-find-bar"):
            yield Label("find", id="trace-find-label")
            yield Input(placeholder=_PLACEHOLDER, compact=True, max_length=MAX_FIND_CHARS,
                        id="trace-find")
            yield Label("", id="trace-find-status")
        yield self._tree

    @property
    def find_input(self) -> Input:
        return self.query_one("#trace-find", Input)

    @property
    def finding(self) -> bool:
        return self.query_one("#trace-find-bar").has_class("-active")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "find_step":  # the tree's own up and down stay the tree's
            return self.find_input.has_focus
        if action == "find":  # in the box, ``/`` is typed (and the footer shows what is not)
            return not self.find_input.has_focus
        if action in ("end_find", "only_matches"):
            # Without a find, neither is listed, and Escape goes on (F6's restore).
            return self.finding
        return True

    def action_find(self) -> None:
        self.query_one("#trace-find-bar").add_class("-active")
        self.find_input.focus()

    def action_find_step(self, direction: int) -> None:
        if self._tree.finding:
            self._in_tree(lambda tree: tree.find_step(direction))

    def action_only_matches(self) -> None:
        """The matches and their ancestors alone, or every span again."""
        self._in_tree(lambda tree: tree.show_only_matches(not tree.only_matches))

    def action_end_find(self) -> None:
        """Escape: no find, the bar hidden, the tree focused with its cursor where it is."""
        self.query_one("#trace-find-bar").remove_class("-active")
        self.find_input.value = ""
        self._asking = None
        self._tree.end_find()
        self._tree.focus()

    @on(Input.Changed, "#trace-find")
    def _find_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._in_tree(lambda tree: tree.find(event.value))
        self._ask_words(event.value, go=True)

    @on(Input.Submitted, "#trace-find")
    def _find_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_find_step(1)

    @on(TraceWaterfall.SpansCounted)
    def _counted(self, event: TraceWaterfall.SpansCounted) -> None:
        event.stop()
        self.border_subtitle = event.summary
        if self._tree.finding and self._recount is None:  # the find's count changes with it
            self._recount = self.set_timer(RECOUNT_EVERY, self._count_again)

    def _count_again(self) -> None:
        self._recount = None
        text = self._tree.finding
        if text:
            self._say(self._tree.find_status())
            self._ask_words(text, go=False)  # the new spans' messages may hold them too

    # --- the words of the messages: the store's to find ---

    def _ask_words(self, text: str, *, go: bool) -> None:
        trace_id = self._tree.trace_id
        words = SpanFinder(text).words  # not the ``is:`` filters
        if self._words is None or trace_id is None or not words:
            if go:
                self._asking = None
            return
        if go:  # "searching the messages…" until it answers (a recount's answer is quiet)
            self._asking = text
        self._read_words(trace_id, text, words, go)

    @work(thread=True, exclusive=True, group="trace-find-words")
    def _read_words(self, trace_id: str, text: str, words: str, go: bool) -> None:
        assert self._words is not None
        try:
            found = frozenset(self._words(trace_id, words))
        except Exception:  # a store gone bad, a server gone: the names still find
            log.exception("could not look up the find's words in the trace's messages")
            found = frozenset()
        self.post_message(self.WordsFound(trace_id, text, found, go))

    @on(WordsFound)
    def _words_found(self, event: WordsFound) -> None:
        event.stop()
        if event.text == self._asking:
            self._asking = None
        if event.trace_id == self._tree.trace_id:
            self._in_tree(lambda tree: tree.found_in_messages(event.text, event.span_ids,
                                                              go=event.go))

    def _in_tree(self, move: Callable[[TraceWaterfall], Found | None]) -> None:
        """Run ``move`` in the tree's own turn: a message is sent by whoever handles one when it
        is made, and a ``SpanChosen`` sent by this pane (the tree's parent) would end here
        instead of reaching the detail (Textual ends its way up at the widget that sent it)."""
        self._tree.call_later(lambda: self._say(move(self._tree)))

    def _say(self, found: Found | None) -> None:
        if found is None:  # an answer for a find since changed: the newer one says
            return
        status = self.query_one("#trace-find-status", Label)
        finding = self._tree.finding
        problem = SpanFinder(self.find_input.value).problem  # ``is:`` with what it cannot read
        if problem:
            text = problem
        elif not finding:
            text = ""
        elif not found.total and self._asking == self._tree.finding:
            text = "searching the messages…"
        elif not found.total:
            text = "no span matches"
        elif found.number:
            text = f"{found.number:,} of {found.total:,}"
        else:
            text = f"{found.total:,} {'match' if found.total == 1 else 'matches'}"
        if text and found.total and self._tree.only_matches:
            text += " · only these"
        status.update(text)
        status.set_class(text == "no span matches" or text == problem, "-none")
