"""A file of the user's imported into this process (``score --file``'s scorers, ``eval``'s agents
and datasets): whatever its import does, one sentence and exit 2, never a silent exit.

``run`` and the studio load agents in a worker process instead; these two commands run what the
file defines here, so they import it here.
"""

from __future__ import annotations

import contextlib
import os
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from lumos_studio.cli_support import fail


def load_user_module(path: Path, kind: str) -> ModuleType:
    """Import ``path`` (``kind`` names it: "scorers", "agents"); a file that raises, has a
    syntax error or calls ``sys.exit`` or ``os._exit`` at import ends the command with where
    and why."""
    from lumos_core.loader import AgentFileError, load_module

    try:
        with _os_exit_raises():
            return load_module(path)
    except AgentFileError as exc:
        fail(str(exc), exc.code_frame() or None, code=2)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # sys.exit() at import: it would end this process silently
        fail(*_import_ended(path, exc, kind), code=2)


class _ExitAtImport(BaseException):
    """``os._exit`` called while the file was imported, on the importing thread."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@contextlib.contextmanager
def _os_exit_raises() -> Iterator[None]:
    """While the file is imported, its ``os._exit`` raises ``_ExitAtImport`` instead of ending
    the process without a word; from a process it forked or another thread, it exits as ever."""
    real = os._exit
    pid, thread = os.getpid(), threading.get_ident()

    def exit_at_import(status: int) -> NoReturn:
        if os.getpid() == pid and threading.get_ident() == thread:
            raise _ExitAtImport(status)
        real(status)

    os._exit = exit_at_import
    try:
        yield
    finally:
        os._exit = real


def _import_ended(path: Path, exc: BaseException, kind: str) -> tuple[str, str]:
    """What to say of a file whose import raised what ``load_module`` lets through:
    ``SystemExit`` (``sys.exit``, ``argparse``), ``os._exit`` (``_os_exit_raises``) or another
    ``BaseException``. (A crash at import cannot be caught in the process.)"""
    from lumos_core.loader import AgentFileError

    root = path.resolve().parent
    where, line = path, None
    for frame in traceback.extract_tb(exc.__traceback__):  # the deepest one in the user's code
        file = Path(frame.filename)
        if (file.is_absolute() and file.resolve().is_relative_to(root)
                and ".venv" not in file.parts and "site-packages" not in file.parts):
            where, line = file.resolve(), frame.lineno
    location = f"{where}:{line}" if line else str(where)
    advice = f"the {kind} are imported into this process: "
    if isinstance(exc, SystemExit | _ExitAtImport):
        code = "" if exc.code is None else repr(exc.code)
        call = "os._exit" if isinstance(exc, _ExitAtImport) else "sys.exit"
        what = f"{location}: {call}({code}) while importing the {kind} file"
        advice += "keep what exits under if __name__ == \"__main__\":"
    else:
        what = f"{location}: {type(exc).__name__} while importing: {exc}"
        advice += "the file must import without raising it"
    frame_text = AgentFileError(what, where, line).code_frame()
    return what, f"{frame_text}\n{advice}" if frame_text else advice
