"""What every ``lumos-studio`` command shares: its consoles, a clean failure, opening the store."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click
from rich.console import Console
from rich.text import Text

from lumos_studio.display import BODY_LIMIT, VALUE_LIMIT, safe_str, safe_text
from lumos_studio.store import (
    PostgresUrl,
    Store,
    StoreError,
    StoreTarget,
    StoreUnusable,
    parse_target,
)

if TYPE_CHECKING:
    from lumos_studio.store import StoreReader

# Piped output (scripts, CI logs) is not squeezed to 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# A file this big or bigger gets a progress bar while it is read (replay, import): a smaller one
# is read before a bar would have shown.
PROGRESS_FROM_BYTES = 5_000_000


@contextlib.contextmanager
def file_progress(verb: str, path: Path, size: int) -> Iterator[Callable[[int], None]]:
    """A transient bar on stderr while ``path`` is read ("loading trace.jsonl"), shown on a
    terminal from ``PROGRESS_FROM_BYTES`` on; yields what to call with the bytes read so far."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    with Progress(TextColumn(f"{verb} {{task.description}}", markup=False), BarColumn(),
                  DownloadColumn(), console=err, transient=True,
                  disable=not err.is_terminal or size < PROGRESS_FROM_BYTES) as progress:
        task = progress.add_task(safe_str(path.name), total=size)
        yield lambda read: progress.update(task, completed=read)


OTLP_PORT_HELP = "Port for the OTLP/HTTP receiver (the next free one if taken; 0: any)."
#: Every ``--otlp-port``: a TCP port, or 0 for any free one; anything else is a usage error.
OTLP_PORT = click.IntRange(0, 65535)


def fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    """Print a one-line error (and what to do) instead of a traceback, then exit.

    Both are plain text (they quote file names, exceptions, user code): never markup.
    """
    error(message)
    if hint:
        note(hint)
    sys.exit(code)


def error(message: str) -> None:
    """One error line on stderr, for a command that goes on (or exits later); plain text."""
    err.print(Text.assemble(
        ("error:", "bold red"), " ", safe_text(message, limit=VALUE_LIMIT, multiline=True)
    ))


def warn(message: str) -> None:
    """One warning line on stderr; ``message`` is plain text, whatever it quotes."""
    err.print(Text.assemble(("warning:", "yellow"), " ", safe_text(message, limit=VALUE_LIMIT)))


def info(message: str) -> None:
    """A plain line on stderr (what a command did); never markup, whatever it quotes."""
    err.print(safe_text(message, limit=BODY_LIMIT, multiline=True))


def note(message: str) -> None:
    """A dim remark on stderr (a hint, where a trace was recorded); plain text, many lines."""
    err.print(safe_text(message, limit=BODY_LIMIT, style="dim", multiline=True))


T = TypeVar("T")


def or_given_to_group(value: T, name: str, group_name: str | None = None) -> T:
    """``value`` of the running command's option ``name``, or the group's option of the same
    meaning when only that one was given: ``lumos-studio --otlp-port 0 serve`` means port 0."""
    context = click.get_current_context(silent=True)
    if context is None or context.parent is None:
        return value
    if context.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT:
        return value
    root = context.find_root()
    group_name = group_name or name
    if root.get_parameter_source(group_name) in (None, click.core.ParameterSource.DEFAULT):
        return value
    given: T = root.params[group_name]
    return given


# The exit code when the --db file is not a store this studio can use (damaged, foreign, newer).
STORE_UNUSABLE = 2
_OTHER_DB = "pass another file with --db PATH"


def store_failure(exc: StoreError, hint: bool = True) -> NoReturn:
    """One line for a store that cannot be used; exit 2 when the file itself is the problem
    (``StoreUnusable``), 1 when it is missing or unreadable for now."""
    message = str(exc)
    if hint and "--db" not in message:
        message += f"; {_OTHER_DB}"
    fail(message, code=STORE_UNUSABLE if isinstance(exc, StoreUnusable) else 1)


def open_store(db: StoreTarget) -> Store:
    try:
        return Store.open(db)
    except StoreError as exc:
        store_failure(exc)


def writable(store: Store) -> None:
    """Fail the command unless ``store`` takes an empty write: a read-only one fails here,
    before an agent runs for nothing (a worker's run on one took ~6 s of refused sends)."""
    if not store.writer.takes_writes():
        problem = store.writer.storage_error
        if problem is not None:
            fail(problem.what, problem.remedy)
        fail(f"could not write to the store {store.label}",
             "retry once nothing else holds the store (or the disk has room)")


def unstored(store: Store) -> tuple[str, str] | None:
    """Wait until what this command gave ``store``'s writer is committed: None once it all is,
    else why some was not, as (what is wrong, what to do) for ``fail``, so that no line says it
    was stored. A read-only store or a full disk is named as such (``StorageProblem``)."""
    writer = store.writer
    writer.flush()
    if not writer.failed_batches:
        return None
    problem = writer.storage_error
    if problem is not None:
        return problem.what, problem.remedy
    return (f"could not write to the store {store.label}: {writer.failed_batches} batch(es) "
            "of records were not stored", "the reason is above; run the command again")


def open_reader(db: StoreTarget) -> StoreReader:
    from lumos_studio.store import StoreReader

    try:
        if isinstance(db, PostgresUrl):
            from lumos_studio.store.postgres.reader import PostgresReader

            return PostgresReader(db)
        return StoreReader(db)
    except StoreError as exc:
        store_failure(exc)


def resolve_trace(reader: StoreReader, prefix: str, code: int = 1) -> str:
    """The id of the one stored trace starting with ``prefix``; none or several fail with exit
    ``code`` (``score`` and ``annotate`` exit 1 when a score fails, 2 for what they were given)."""
    matches = reader.resolve_trace_id(prefix)
    if not matches:
        fail(
            f"no trace starting with {prefix!r} in {getattr(reader, 'target', reader.path)}",
            "list them: lumos-studio traces", code=code,
        )
    if len(matches) > 1:
        fail(f"{prefix!r} matches several traces ({', '.join(matches)}); give more characters",
             code=code)
    return matches[0]


class StoreTargetType(click.ParamType):  # type: ignore[type-arg]
    """``--db``: a SQLite file (as ``click.Path`` checks it) or a ``postgresql://`` URL; an
    empty value or a URL of another scheme is a usage error, not a file to create."""

    name = "PATH|URL"

    def __init__(self) -> None:
        self._file = click.Path(dir_okay=False, path_type=Path)

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> StoreTarget:
        if isinstance(value, Path | PostgresUrl):
            return value
        try:
            target = parse_target(str(value))
        except StoreError as exc:
            self.fail(str(exc), param, ctx)
        if isinstance(target, PostgresUrl):
            return target
        path: Path = self._file.convert(str(value), param, ctx)
        return path
