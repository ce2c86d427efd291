"""Annotating a span by hand: a score or a label, a note, pass or fail; stored by the caller
as a ``gen_ai.evaluation.result`` record (``lumos_studio.scoring``)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from lumos_studio.display import safe_str
from lumos_studio.scoring import HUMAN, Annotation
from lumos_studio.ui.screens.dialog import StudioDialog

_VERDICTS = {"": None, "pass": True, "p": True, "yes": True, "fail": False, "f": False,
             "no": False}


class AnnotateScreen(StudioDialog[Annotation | None]):
    """Asks for an annotation of ``what``; Enter saves, escape cancels (dismisses None)."""

    DEFAULT_CSS = "AnnotateScreen > Vertical { width: 72; }"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text.assemble(("Annotate ", "bold"), safe_str(self.what)))
            for key, value, placeholder in (
                ("name", HUMAN, "what it judges"), ("score", "", "0 to 1 (optional)"),
                ("label", "", "good, wrong-city… (optional)"),
                ("verdict", "", "pass or fail (optional)"), ("note", "", "why (Enter saves)"),
            ):
                field = Input(value, placeholder=placeholder, id=f"annotate-{key}")
                field.border_title = key
                yield field
            yield Static("", id="annotate-error", classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one("#annotate-score", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        values = {i.id: i.value.strip() for i in self.query(Input)}
        try:
            score = float(values["annotate-score"]) if values["annotate-score"] else None
        except ValueError:
            self._error("the score is a number, like 0.5")
            return
        verdict = values["annotate-verdict"].lower()
        if verdict not in _VERDICTS:
            self._error("write pass or fail, or leave it empty")
            return
        try:
            annotation = Annotation(values["annotate-name"] or HUMAN, score,
                                    values["annotate-label"], values["annotate-note"],
                                    _VERDICTS[verdict])
        except ValueError as exc:
            self._error(str(exc))
            return
        self.dismiss(annotation)

    def _error(self, message: str) -> None:
        self.query_one("#annotate-error", Static).update(Text(message))

    def action_cancel(self) -> None:
        self.dismiss(None)
