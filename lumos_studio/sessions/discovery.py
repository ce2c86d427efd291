"""Finding the agents a user's file defines, with errors a person can act on."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from lumos_core import Agent

DEMO_MODULE = "lumos_studio.demo.agents"


class AgentFileError(Exception):
    """The agent file could not be loaded; carries the file, the line and the source around it."""

    def __init__(self, message: str, path: Path, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line

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


@dataclass(frozen=True)
class AgentCatalog:
    """The agents found in one module, by name."""

    source: str
    agents: dict[str, Agent]

    def get(self, name: str) -> Agent:
        try:
            return self.agents[name]
        except KeyError:
            known = ", ".join(sorted(self.agents)) or "none"
            raise LookupError(
                f"no agent named {name!r} in {self.source} (found: {known})"
            ) from None


def agents_in(module: ModuleType) -> dict[str, Agent]:
    """Module-level ``Agent`` instances, keyed by their ``name`` (not their variable name)."""
    found: dict[str, Agent] = {}
    for value in vars(module).values():
        if isinstance(value, Agent):
            found.setdefault(value.name, value)
    return found


def load_demo() -> AgentCatalog:
    module = importlib.import_module(DEMO_MODULE)
    return AgentCatalog("the bundled demo", agents_in(module))


def load_file(path: Path) -> AgentCatalog:
    """Import ``path`` as a fresh module and list its agents; problems become ``AgentFileError``."""
    path = path.resolve()
    if not path.is_file():
        raise AgentFileError(f"{path}: no such file", path)
    module_name = f"lumos_user_{abs(hash(path)):x}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise AgentFileError(f"{path}: not a Python file", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise AgentFileError(
            f"{path}:{exc.lineno}: syntax error: {exc.msg}", path, exc.lineno
        ) from exc
    except Exception as exc:
        line = _line_in(path, exc)
        where = f"{path}:{line}" if line else str(path)
        raise AgentFileError(
            f"{where}: {type(exc).__name__} while importing: {exc}", path, line
        ) from exc
    finally:
        sys.path.remove(str(path.parent))
    return AgentCatalog(str(path), agents_in(module))


def _line_in(path: Path, exc: BaseException) -> int | None:
    """The deepest line of ``path`` in the exception's traceback."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path:
            line = frame.lineno
    return line
