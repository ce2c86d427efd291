"""Loading a user's agent file (or package) and finding its agents and workflows, with errors a
person can act on.

Used by the worker process (``lumos_core.runner``) and by ``lumos-studio run``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from lumos_core.agent import Agent
from lumos_core.workflows import Workflow


class AgentFileError(Exception):
    """The agent file could not be loaded; carries the file, the line and the source around it."""

    def __init__(
        self, message: str, path: Path, line: int | None = None, details: str = ""
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.details = details  # the traceback, when there is one worth reading

    def code_frame(self, context: int = 2) -> str:
        """The offending lines with line numbers, the bad one marked with ``>``."""
        if self.line is None:
            return ""
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        first = max(self.line - context, 1)
        last = min(self.line + context, len(lines))
        return "\n".join(
            f"{'>' if n == self.line else ' '} {n:4} | {lines[n - 1]}"
            for n in range(first, last + 1)
        )


def agents_in(module: ModuleType) -> dict[str, Agent]:
    """Module-level ``Agent`` instances, keyed by their ``name``, in definition order."""
    found: dict[str, Agent] = {}
    for value in vars(module).values():
        if isinstance(value, Agent):
            found.setdefault(value.name, value)
    return found


def workflows_in(module: ModuleType) -> dict[str, Workflow]:
    """Module-level ``Workflow`` instances, keyed by their ``name``, in definition order."""
    found: dict[str, Workflow] = {}
    for value in vars(module).values():
        if isinstance(value, Workflow):
            found.setdefault(value.name, value)
    return found


@dataclass(frozen=True)
class Definitions:
    """What one module defines at its top level: agents and workflows, each by name."""

    agents: dict[str, Agent]
    workflows: dict[str, Workflow]


def definitions_in(module: ModuleType) -> Definitions:
    """The module's agents and workflows, found in one pass over an imported module."""
    return Definitions(agents_in(module), workflows_in(module))


def load_module(path: Path) -> ModuleType:
    """Import ``path`` (a ``.py`` file or a package directory) afresh.

    Syntax errors, import errors and exceptions at import time become ``AgentFileError`` with the
    user's file and line (the deepest frame in their code), never a bare traceback.
    """
    path = path.resolve()
    if path.is_dir():
        init = path / "__init__.py"
        if not init.is_file():
            raise AgentFileError(f"{path}: a directory without __init__.py is not a package", path)
        module_name, search_root, source = path.name, path.parent, init
    elif path.is_file():
        module_name, search_root, source = path.stem, path.parent, path
    else:
        raise AgentFileError(f"{path}: no such file or directory", path)
    for name in [m for m in sys.modules if m == module_name or m.startswith(module_name + ".")]:
        del sys.modules[name]
    sys.path.insert(0, str(search_root))
    try:
        if path.is_dir():
            return importlib.import_module(module_name)
        spec = importlib.util.spec_from_file_location(module_name, source)
        if spec is None or spec.loader is None:
            raise AgentFileError(f"{path}: not a Python file", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module
    except AgentFileError:
        raise
    except SyntaxError as exc:
        where = Path(exc.filename).resolve() if exc.filename else source
        raise AgentFileError(
            f"{where}:{exc.lineno}: syntax error: {exc.msg}", where, exc.lineno
        ) from exc
    except Exception as exc:
        where, line = _user_frame(search_root, exc) or (source, None)
        location = f"{where}:{line}" if line else str(where)
        raise AgentFileError(
            f"{location}: {type(exc).__name__} while importing: {exc}",
            where,
            line,
            "".join(traceback.format_exception(exc)),
        ) from exc
    finally:
        sys.path.remove(str(search_root))


def load_agents(path: Path) -> dict[str, Agent]:
    return agents_in(load_module(path))


def load_workflows(path: Path) -> dict[str, Workflow]:
    return workflows_in(load_module(path))


def load_definitions(path: Path) -> Definitions:
    """Import ``path`` once and find both its agents and its workflows."""
    return definitions_in(load_module(path))


def _user_frame(root: Path, exc: BaseException) -> tuple[Path, int | None] | None:
    """The deepest traceback frame in a file under ``root`` (the user's code, not a library)."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        filename = Path(frame.filename)
        if (
            filename.is_absolute()
            and filename.resolve().is_relative_to(root)
            and (".venv" not in filename.parts and "site-packages" not in filename.parts)
        ):
            found = (filename.resolve(), frame.lineno)
    return found
