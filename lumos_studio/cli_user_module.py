"""A file of the user's imported into this process (``score --file``'s scorers, ``eval``'s agents
and datasets): whatever its import does, one sentence and exit 2, never a silent exit.

``run`` and the studio load agents in a worker process instead; these two commands run what the
file defines here, so they import it here.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from types import ModuleType

from lumos_studio.cli_support import fail


def load_user_module(path: Path, kind: str) -> ModuleType:
    """Import ``path`` (``kind`` names it: "scorers", "agents"); a file that raises, has a
    syntax error or calls ``sys.exit`` at import ends the command with where and why."""
    from lumos_core.loader import AgentFileError, load_module

    try:
        return load_module(path)
    except AgentFileError as exc:
        fail(str(exc), exc.code_frame() or None, code=2)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # sys.exit() at import: it would end this process silently
        fail(*_import_ended(path, exc, kind), code=2)


def _import_ended(path: Path, exc: BaseException, kind: str) -> tuple[str, str]:
    """What to say of a file whose import raised what ``load_module`` lets through:
    ``SystemExit`` (``sys.exit``, ``argparse``) or another ``BaseException``. (An ``os._exit``
    or a crash at import cannot be caught in the process.)"""
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
    if isinstance(exc, SystemExit):
        code = "" if exc.code is None else repr(exc.code)
        what = f"{location}: sys.exit({code}) while importing the {kind} file"
        advice += "keep what exits under if __name__ == \"__main__\":"
    else:
        what = f"{location}: {type(exc).__name__} while importing: {exc}"
        advice += "the file must import without raising it"
    frame_text = AgentFileError(what, where, line).code_frame()
    return what, f"{frame_text}\n{advice}" if frame_text else advice
