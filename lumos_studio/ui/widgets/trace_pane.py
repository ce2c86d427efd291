"""The trace pane: the waterfall, and a find bar over it that finds spans by name or span id.

``/`` opens the bar; each key typed moves the cursor to the first match at or after it (the
waterfall marks every match), Enter or down goes to the next, up to the one before, Escape ends
the find and gives the tree the focus back, its cursor on the match. The border, its title and
the span count are the pane's, so the bar sits inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, Label

from lumos_studio.ui.trace_find import MIN_ID_DIGITS, Found
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

# A live trace growing under a find has its count said again at most this often: counting
# matches goes over every span (~90 ms at 100,000), and the trace is sent again ~10 times a second.
RECOUNT_EVERY = 0.5

_PLACEHOLDER = f"find a span: part of its name, or {MIN_ID_DIGITS}+ digits of its id"


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
    ]

    def __init__(self, tree: TraceWaterfall, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tree = tree
        self._recount: Timer | None = None  # the find's count to say again, the trace changed

    def compose(self) -> ComposeResult:
        with Horizontal(id="trace-find-bar"):
            yield Label("find", id="trace-find-label")
            yield Input(placeholder=_PLACEHOLDER, compact=True, id="trace-find")
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
        if action == "end_find":  # without a find, Escape goes on (F6's restore) unlisted
            return self.finding
        return True

    def action_find(self) -> None:
        self.query_one("#trace-find-bar").add_class("-active")
        self.find_input.focus()

    def action_find_step(self, direction: int) -> None:
        if self._tree.finding:
            self._in_tree(lambda tree: tree.find_step(direction))

    def action_end_find(self) -> None:
        """Escape: no find, the bar hidden, the tree focused with its cursor where it is."""
        self.query_one("#trace-find-bar").remove_class("-active")
        self.find_input.value = ""
        self._tree.end_find()
        self._tree.focus()

    @on(Input.Changed, "#trace-find")
    def _find_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._in_tree(lambda tree: tree.find(event.value))

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
        if self._tree.finding:
            self._say(self._tree.find_status())

    def _in_tree(self, move: Callable[[TraceWaterfall], Found]) -> None:
        """Run ``move`` in the tree's own turn: a message is sent by whoever handles one when it
        is made, and a ``SpanChosen`` sent by this pane (the tree's parent) would end here
        instead of reaching the detail (Textual ends its way up at the widget that sent it)."""
        self._tree.call_later(lambda: self._say(move(self._tree)))

    def _say(self, found: Found) -> None:
        status = self.query_one("#trace-find-status", Label)
        if not self._tree.finding:
            text = ""
        elif not found.total:
            text = "no span matches"
        elif found.number:
            text = f"{found.number:,} of {found.total:,}"
        else:
            text = f"{found.total:,} {'match' if found.total == 1 else 'matches'}"
        status.update(text)
        status.set_class(bool(self._tree.finding) and not found.total, "-none")
