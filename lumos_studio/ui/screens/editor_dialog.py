"""What the dialogs built around an editor share: the studio's dialog frame (a title line, an
error line under the editor, a line of keys) nearly filling the screen, and a labelled one-line
field above the editor (the playground's model, the dataset's file). Each says what it asks."""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label

from lumos_studio.ui.screens.dialog import StudioDialog

ResultType = TypeVar("ResultType")


class EditorDialog(StudioDialog[ResultType]):
    """A dialog (``StudioDialog``'s frame and lines) nearly as wide and tall as the studio,
    its editor taking the height its other lines leave."""

    DEFAULT_CSS = """
    EditorDialog > Vertical { width: 96%; height: 1fr; }
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
