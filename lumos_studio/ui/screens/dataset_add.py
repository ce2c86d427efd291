"""``D`` in the trace list: the highlighted run (or the marked ones) as cases of a dataset file,
one JSON line each, editable (put ``expected`` right for a run that went wrong), appended to the
file named above them (``datasets/<agent>.jsonl`` unless changed). ``dataset_cases`` makes and
checks the lines; nothing is written until all of them are cases and no id is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static, TextArea

from lumos_core.evals import DatasetError
from lumos_studio.counts import counted
from lumos_studio.dataset_cases import (
    LeftOut,
    RunCase,
    append_cases,
    dataset_path,
    left_out_counts,
    parse_cases,
)
from lumos_studio.display import editor_json, safe_str, safe_text
from lumos_studio.ui.screens.editor_dialog import EditorDialog, FieldRow


@dataclass(frozen=True, slots=True)
class CasesAdded:
    """What was appended: how many cases, to which file, which then holds ``total``."""

    path: Path
    added: int
    total: int
    name: str  # the first run's agent, for the command that runs the dataset


class DatasetAddScreen(EditorDialog[CasesAdded | None]):
    """ctrl+s appends the lines to the file; escape closes, writing nothing."""

    DEFAULT_CSS = """
    DatasetAddScreen > Vertical { max-width: 130; height: 80%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "add", "Add"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, runs: tuple[RunCase, ...], left_out: tuple[LeftOut, ...] = ()) -> None:
        super().__init__()
        self.runs = runs
        self.left_out = left_out

    def compose(self) -> ComposeResult:
        runs = self.runs
        with Vertical():
            title = Text.assemble(("Add ", "bold"), (counted(len(runs), "run"), "bold"),
                                  (" to a dataset", "bold"),
                                  " · one case a line: input, expected, metadata")
            if self.left_out:
                title.append(f" · {left_out_counts(self.left_out)} left out", style="dim")
            yield Static(title, id="dataset-title", classes="dialog-title")
            yield FieldRow("file", str(dataset_path(runs[0].name)), field_id="dataset-path",
                           placeholder="datasets/NAME.jsonl")
            lines = "\n".join(editor_json(run.case, indent=None) for run in runs)
            editor = TextArea(lines, id="dataset-cases", soft_wrap=True)
            editor.border_title = ("the cases, one JSON object a line (edit expected for a run "
                                   "that went wrong)")
            yield editor
            yield Static("", id="dataset-error", classes="dialog-error")
            yield Static("ctrl+s appends them to the file · escape cancels",
                         classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the file's field adds, as ctrl+s does."""
        event.stop()
        self.action_add()

    def action_add(self) -> None:
        error = self.query_one("#dataset-error", Static)
        where = self.query_one("#dataset-path", Input).value.strip()
        if not where:
            error.update("Type the dataset file to add the cases to (datasets/NAME.jsonl).")
            return
        cases = parse_cases(self.query_one(TextArea).text)
        if isinstance(cases, str):
            error.update(safe_text(cases, limit=None))
            return
        path = Path(where).expanduser()
        try:
            total = append_cases(path, cases)
        except DatasetError as exc:
            error.update(safe_text(f"{exc} (nothing was written)", limit=None))
            return
        except OSError as exc:
            error.update(safe_text(f"cannot write {safe_str(where)}: {exc.strerror or exc}",
                                   limit=None))
            return
        self.dismiss(CasesAdded(path, len(cases), total, self.runs[0].name))

    def action_cancel(self) -> None:
        self.dismiss(None)

