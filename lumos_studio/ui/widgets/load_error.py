"""The panel that says why the agent file did not load: file, line, the code, the message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual.widgets import Static

from lumos_studio.display import BODY_LIMIT, VALUE_LIMIT, safe_str, safe_text
from lumos_studio.sessions.base import LoadProblem

CONTEXT_LINES = 3


class LoadErrorPanel(Static):
    """Hidden until a load fails; cleared by the next good load."""

    DEFAULT_CSS = """
    LoadErrorPanel {
        display: none;
        height: auto;
        max-height: 20;
        border: round $error;
        padding: 0 1;
        overflow-y: auto;
    }
    LoadErrorPanel.-shown {
        display: block;
    }
    """
    BORDER_TITLE = "Load error"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.problem: LoadProblem | None = None

    def show_problem(self, problem: LoadProblem | None, stale: bool) -> None:
        self.problem = problem
        self.set_class(problem is not None, "-shown")
        if problem is not None:
            self.border_subtitle = "agents below: last good version" if stale else ""
            self.update(render_problem(problem))


def render_problem(problem: LoadProblem) -> RenderableType:
    parts: list[RenderableType] = [
        safe_text(problem.message, limit=VALUE_LIMIT, style="bold red", multiline=True)
    ]
    source = _source(problem)
    if source is not None:
        parts.append(source)
    if problem.details:
        last_lines = problem.details.strip().splitlines()[-6:]
        parts.append(safe_text("\n".join(last_lines), limit=BODY_LIMIT, style="dim",
                               multiline=True))
    parts.append(Text("Fix the file and save: the studio reloads by itself.", style="italic"))
    return Group(*parts)


def _source(problem: LoadProblem) -> RenderableType | None:
    if problem.line is None:
        return None
    try:
        code = Path(problem.path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return safe_text(problem.frame, limit=BODY_LIMIT, multiline=True) if problem.frame else None
    from rich.syntax import Syntax  # pygments loads with the first problem shown

    first = max(problem.line - CONTEXT_LINES, 1)
    return Syntax(
        safe_str(code, limit=None, multiline=True),  # the user's file may hold escapes too
        "python",
        line_numbers=True,
        line_range=(first, problem.line + CONTEXT_LINES),
        highlight_lines={problem.line},
        theme="ansi_dark",
        word_wrap=True,
    )
