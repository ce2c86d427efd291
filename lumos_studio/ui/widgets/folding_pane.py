"""A scrolling pane that lays out long content in part, and offers the key that shows the rest
only while there is a rest to show."""

from __future__ import annotations

from typing import ClassVar

from textual.containers import VerticalScroll


class FoldingPane(VerticalScroll):
    """Subclasses name their fold key's action (``FOLD_ACTION``) and call ``set_folds`` after
    laying out what they show."""

    FOLD_ACTION: ClassVar[str]

    _folds = False  # what is shown now has more than is laid out at first

    def set_folds(self, folds: bool) -> None:
        """Whether what is shown now folds: the footer offers the key then (a rebuild of the
        footer: only when it changes)."""
        if folds != self._folds:
            self._folds = folds
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The fold key only where it does something."""
        if action == self.FOLD_ACTION:
            return self._folds
        return True
