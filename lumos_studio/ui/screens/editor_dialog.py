"""What the dialogs built around an editor share: a title line, an error line under the editor,
a line of keys, and a labelled one-line field above it (the playground's model, the dataset's
file). Their look is here once; each dialog says what it asks."""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Input, Label

ResultType = TypeVar("ResultType")


class EditorDialog(ModalScreen[ResultType]):
    """A modal centred over the studio; children with the classes ``dialog-title``,
    ``dialog-error`` and ``dialog-keys`` get their lines' look."""

    DEFAULT_CSS = """
    EditorDialog { align: center middle; }
    EditorDialog > Vertical {
        width: 96%; padding: 0 1; border: round $accent; background: $surface;
    }
    EditorDialog .dialog-title, EditorDialog .dialog-error, EditorDialog .dialog-keys {
        height: auto;
    }
    EditorDialog .dialog-error { color: $error; }
    EditorDialog .dialog-keys { color: $foreground-muted; }
    EditorDialog TextArea { height: 1fr; }
    """


class FieldRow(Horizontal):
    """A label and a one-line field beside it."""

    DEFAULT_CSS = """
    FieldRow { height: 1; }
    FieldRow > Label { width: auto; padding-right: 1; }
    FieldRow > Input { border: none; height: 1; padding: 0 1; width: 1fr; background: $boost; }
    FieldRow > Input:focus { border: none; background: $block-cursor-blurred-background; }
    """

    def __init__(self, label: str, value: str, *, field_id: str, placeholder: str) -> None:
        super().__init__()
        self.label = label
        self.value = value
        self.field_id = field_id
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Label(self.label)
        yield Input(self.value, id=self.field_id, placeholder=self.placeholder)
