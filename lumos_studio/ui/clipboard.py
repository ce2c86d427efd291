"""``y`` in a pane: what it shows goes to the clipboard, and a note says what was copied.

The text is made safe by ``display.clipboard_str`` or ``clipboard_json`` before it gets here.
Textual sends it to the terminal (OSC 52), which puts it on the system clipboard; a terminal that
does not take OSC 52 (macOS Terminal; tmux before ``set -g set-clipboard on``) leaves the
clipboard as it was, and no program can tell: docs/troubleshooting.md says what to set.
"""

from __future__ import annotations

from textual.app import App

from lumos_studio.display import COPY_LIMIT, ELLIPSIS, clipboard_str


def copy_to_clipboard(app: App[object], text: str, what: str) -> None:
    """Copy ``text`` (already safe) and say ``what`` it was ("the span's id") and how long."""
    app.copy_to_clipboard(text)
    size = f"{len(text):,} characters" if len(text) != 1 else "1 character"
    cut = len(text) >= COPY_LIMIT and text.endswith(ELLIPSIS)
    note = f"Copied {what} ({size}{', cut at the end' if cut else ''})"
    app.notify(note, title="Clipboard", timeout=3, markup=False)


def copy_text(app: App[object], text: str | None, what: str, missing: str) -> None:
    """``y`` on outside text: ``text`` made safe and copied, or, when there is none, why not
    (``missing``: "no span is selected")."""
    if text is None:
        nothing_to_copy(app, missing)
    else:
        copy_to_clipboard(app, clipboard_str(text), what)


def nothing_to_copy(app: App[object], what: str) -> None:
    """``y`` where nothing is shown to copy."""
    app.notify(f"Nothing to copy: {what}", title="Clipboard", severity="warning", timeout=3,
               markup=False)
