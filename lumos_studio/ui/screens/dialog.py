"""The frame every studio dialog shares: a modal centred over the studio, its one column
(a ``Vertical``) in a rounded border, and the look of its title, error and key lines. Each
dialog says only its size and what it asks; a tone class colours the border by what the dialog
is about (``-warning``: a paused run or its breakpoints; ``-danger``: a question before
deleting)."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class StudioDialog(ModalScreen[ResultType]):
    """A modal whose first child is a ``Vertical``; children with the classes ``dialog-title``,
    ``dialog-error`` and ``dialog-keys`` get their lines' look."""

    DEFAULT_CSS = """
    StudioDialog { align: center middle; }
    StudioDialog > Vertical {
        width: 80; max-width: 100%; height: auto; max-height: 100%; padding: 0 1;
        border: round $accent; background: $surface;
    }
    StudioDialog.-warning > Vertical { border: round $warning; }
    StudioDialog.-danger > Vertical { border: round $error; }
    StudioDialog .dialog-title, StudioDialog .dialog-error, StudioDialog .dialog-keys {
        height: auto;
    }
    StudioDialog .dialog-error { color: $error; }
    StudioDialog .dialog-keys { color: $foreground-muted; }
    /* An unfocused field's name is drawn in its blank border: readable, not border-dark. */
    StudioDialog Input { border-title-color: $foreground-muted; }
    StudioDialog Input:focus { border-title-color: $border; }
    """
