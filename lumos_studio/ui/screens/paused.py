"""A run paused at a breakpoint: what is about to happen, and what to do about it.

Shows the step's input, the request about to go to the model (instructions, messages, tools,
settings), the tool call's arguments, or the model's answer; then continue, step to the next
pause point, edit the value (a JSON editor; the run's core validates it, and a refused edit comes
back as the same pause with the reason), skip with a stubbed result, or abort. Dismisses with a
``lumos_core.debug`` decision. Every value is outside text: shown through ``display``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import orjson
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, TextArea

from lumos_core.debug import Abort, Continue, Decision, Edit, Skip, StepNext
from lumos_core.worker_protocol import Paused
from lumos_studio.display import fit_cells, safe_text
from lumos_studio.ui.screens.dialog import StudioDialog
from lumos_studio.ui.screens.paused_render import MODEL_SECTIONS, messages_text, shown

EditorMode = Literal["edit", "skip"]

_HEADINGS: dict[str, tuple[str, str]] = {  # point → (what is about to happen, what is shown)
    "before_step": ("before step", "its input"),
    "after_step": ("after step", "its output"),
    "before_model": ("before the model call of", "the request"),
    "after_model": ("after the model answered", "the answer"),
    "before_tool": ("before tool call", "its arguments"),
    "after_tool": ("after tool call", "its result"),
}
# Points where a skip stands a stub in for what would run (after the fact there is nothing).
_SKIPPABLE = frozenset({"before_step", "before_model", "before_tool"})
# Points whose edit may be plain text (a result, an answer; a stub of a model or a tool).
_TEXT_EDITS = frozenset({"after_tool", "after_model"})
_TEXT_STUBS = frozenset({"before_model", "before_tool"})


def title(paused: Paused) -> Text:
    """``PAUSED before tool call get_weather · agent pair``."""
    words, _ = _HEADINGS.get(paused.point, (paused.point.replace("_", " "), "value"))
    text = Text.assemble((" PAUSED ", "bold reverse"), " ", (words, "bold"), " ")
    text.append_text(safe_text(paused.target, style="bold"))
    for label, value in (("agent", paused.agent), ("workflow", paused.workflow)):
        if value and value != paused.target:
            text.append(f" · {label} ")
            text.append_text(safe_text(value))
    return text


def editable_value(paused: Paused) -> Any:
    """What the editor starts with: the request's messages for a model call (what an edit
    replaces), else the value itself."""
    value = paused.value
    if paused.point == "before_model" and isinstance(value, dict):
        return value.get("messages", [])
    return value


def editor_text(value: Any) -> str:
    """A value as the editor shows it: always JSON, so a control character in outside text is
    an escape (``\u001b``), never raw in the terminal."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


# An edit's or a stub's value in the chat's note of it: enough to recognise, not a message list.
NOTE_VALUE_CELLS = 60


def _one_line(value: Any) -> str:
    """JSON on one line (a string as its text), cut with …: escapes stay escapes."""
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return fit_cells(" ".join(text.split()), NOTE_VALUE_CELLS)


def read_edit(point: str, mode: EditorMode, text: str) -> Any:
    """The editor's text as the value to send; ``ValueError`` when it must be JSON and is not."""
    plain_ok = point in _TEXT_EDITS if mode == "edit" else point in _TEXT_STUBS
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if plain_ok:
            return text
        raise ValueError(f"not JSON: {exc}") from None


class PausedScreen(StudioDialog[Decision]):
    """One pause of a run; ``draft`` (the editor's mode and text) refills the editor after a
    refused edit or stub."""

    DEFAULT_CSS = """
    PausedScreen > Vertical { width: 96%; max-width: 140; max-height: 90%; }
    PausedScreen #paused-refused { display: none; }
    PausedScreen #paused-refused.-shown { display: block; }
    PausedScreen #paused-value { height: auto; max-height: 70vh; }
    PausedScreen.-editing #paused-value { max-height: 30vh; }
    PausedScreen .paused-heading { color: $foreground-muted; text-style: bold; margin-top: 1; }
    PausedScreen #paused-editor { height: 40vh; display: none; }
    PausedScreen.-editing #paused-editor { display: block; }
    PausedScreen #paused-keys { margin-top: 1; }
    """
    DEFAULT_CLASSES = "-warning"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "decide('continue')", "Continue"),
        Binding("s", "decide('step')", "Step"),
        Binding("e", "open_editor('edit')", "Edit"),
        Binding("k", "open_editor('skip')", "Skip"),
        Binding("x", "decide('abort')", "Abort"),
        Binding("ctrl+s", "apply", "Apply edit"),
        Binding("escape", "close_editor", "Close editor"),
        Binding("ctrl+x", "app.cancel_run", "Cancel run", show=False),
    ]

    def __init__(self, paused: Paused, draft: tuple[EditorMode, str] | None = None) -> None:
        super().__init__()
        self.paused = paused
        self.draft = draft
        self.mode: EditorMode | None = None
        self.run_ended = False  # nothing is left to decide: it leaves when next on top

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(title(self.paused), id="paused-title", classes="dialog-title")
            refused = Static(id="paused-refused", classes="dialog-error")
            if self.paused.refused:
                refused.update(Text.assemble(
                    ("Edit refused: ", "bold"), safe_text(self.paused.refused, limit=400)))
                refused.add_class("-shown")
            yield refused
            with VerticalScroll(id="paused-value"):
                yield from self._sections()
            yield TextArea(id="paused-editor", language=None, soft_wrap=True)
            yield Static(self._keys(), id="paused-keys", classes="dialog-keys")

    def _sections(self) -> ComposeResult:
        value, point = self.paused.value, self.paused.point
        if point == "before_model" and isinstance(value, dict):
            for key, render in MODEL_SECTIONS.items():
                part = value.get(key)
                if part in (None, "", [], {}):
                    continue
                yield Static(key, classes="paused-heading")
                yield Static(render(part))
            return
        _, what = _HEADINGS.get(point, ("", "the value"))
        yield Static(what, classes="paused-heading")
        answer = point == "after_model" and isinstance(value, dict)
        yield Static(messages_text([value]) if answer else shown(value))

    def _keys(self) -> Text:
        if self.mode is not None:
            doing = "edit" if self.mode == "edit" else "stub result"
            return Text(f"ctrl+s send the {doing} · escape close the editor")
        keys = "c continue · s step · e edit"
        if self.paused.point in _SKIPPABLE:
            keys += " · k skip"
        return Text(keys + " · x abort")

    def on_mount(self) -> None:
        if self.draft is not None:
            self.action_open_editor(*self.draft)

    def close(self) -> None:
        """Its run ended: leave without a decision, now if on top, else once it is again (the
        command palette, or another paused view of the run, may be above it)."""
        self.run_ended = True
        if self.is_active:
            self.app.pop_screen()

    def on_screen_resume(self) -> None:
        if self.run_ended and self.is_active:
            self.app.pop_screen()

    def action_decide(self, action: str) -> None:
        if self.mode is not None:
            return
        decisions: dict[str, Decision] = {
            "continue": Continue(), "step": StepNext(), "abort": Abort()
        }
        self.dismiss(decisions[action])

    def action_open_editor(self, mode: EditorMode, text: str | None = None) -> None:
        if mode == "skip" and self.paused.point not in _SKIPPABLE:
            self.notify("Nothing to skip here: it has run. Edit its result instead (e).")
            return
        editor = self.query_one("#paused-editor", TextArea)
        if text is None:
            text = editor_text(editable_value(self.paused)) if mode == "edit" else '"stub"'
        self.mode = mode
        editor.load_text(text)
        editor.border_title = "edit" if mode == "edit" else "stub result"
        self.add_class("-editing")
        self.query_one("#paused-keys", Static).update(self._keys())
        editor.focus()

    def action_close_editor(self) -> None:
        self.mode = None
        self.remove_class("-editing")
        self.query_one("#paused-keys", Static).update(self._keys())
        self.query_one("#paused-value").focus()

    def action_apply(self) -> None:
        mode = self.mode
        if mode is None:
            return
        text = self.query_one("#paused-editor", TextArea).text
        try:
            value = read_edit(self.paused.point, mode, text)
        except ValueError as exc:
            refused = self.query_one("#paused-refused", Static)
            refused.update(Text.assemble(("Edit refused: ", "bold"), safe_text(exc, limit=400)))
            refused.add_class("-shown")
            return
        self.dismiss(Edit(value) if mode == "edit" else Skip(value))


def describe_decision(decision: Decision) -> str:
    """For the chat's note of what was decided at a pause: an edit or a stub with what it
    sent, on one line and cut to ``NOTE_VALUE_CELLS`` (the editor showed it whole)."""
    match decision:
        case Edit(value=value):
            return f"edited to {_one_line(value)}"
        case Skip(result=result):
            return f"skipped, result {_one_line(result)}"
        case Abort():
            return "aborted"
        case StepNext():
            return "step"
    return "continue"

