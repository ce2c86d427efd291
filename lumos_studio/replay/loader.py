"""Opening a saved trace for replay, without ever touching the user's own store.

OTLP JSON lines (ours or the OpenTelemetry Collector's file exporter output, gzip or not) are
loaded into a fresh temporary store (``line_load``), whole or first only their start
(``first``: the rest is read by ``LoadedTrace.finish``); a studio ``.db`` of the current schema
is read in place, read-only (an older one is copied and migrated). The kind of file is told by
its first bytes, not its name. Valid records load even when some lines are corrupt: each bad line
becomes a ``LoadProblem`` naming the file and line. Progress is reported as records loaded and
bytes read so the UI can draw a bar for big files; call ``load_trace`` from a worker thread.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterable
from pathlib import Path

from lumos_studio.replay.line_load import (
    FIRST_RECORDS,
    LineLoad,
    LoadProblem,
    LoadProgress,
    ProgressCallback,
)
from lumos_studio.store import Store, StoreError, StoreReader, StoreUnusable
from lumos_studio.store.connection import connect_read_only
from lumos_studio.store.schema import SCHEMA_VERSION, check_store

__all__ = [
    "FIRST_RECORDS",
    "LoadProblem",
    "LoadProgress",
    "LoadedTrace",
    "ReplayError",
    "UnusableStoreFile",
    "is_store_file",
    "load_trace",
]

_SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_PROBLEMS = 200  # kept to show; ``problem_count`` counts them all


class ReplayError(Exception):
    """The file cannot be opened at all (missing, unreadable, a store from a newer studio)."""


class UnusableStoreFile(ReplayError, StoreUnusable):
    """A ``.db`` (or SQLite) file that is not a store this studio can read."""


class LoadedTrace:
    """A saved trace opened for reading: query it through ``reader``, then ``close()`` it.

    ``store`` is the temporary store a file was loaded into (None for a ``.db`` read in place).
    ``loading``: only the file's start is in it yet, ``finish`` reads the rest; ``spans``,
    ``logs`` and ``problems`` then cover the whole file.
    """

    def __init__(
        self,
        path: Path,
        reader: StoreReader,
        *,
        store: Store | None = None,
        temp_dir: Path | None = None,
        spans: int = 0,
        logs: int = 0,
        problems: Iterable[LoadProblem] = (),
        lines: LineLoad | None = None,
    ) -> None:
        self.path = path
        self.reader = reader
        self.store = store
        self.spans = spans
        self.logs = logs
        self.problems: list[LoadProblem] = []
        self.problem_count = 0
        self._set_problems(list(problems))
        self._temp_dir = temp_dir
        self._lines = lines
        if lines is not None:  # what it read so far: its start, or the whole file
            self._counted(lines)

    @property
    def read_only(self) -> bool:
        return self.store is None

    @property
    def of_lines(self) -> bool:
        """Read from a file of lines (not a store file): its store holds what was read so far,
        the file's start while it is ``loading``."""
        return self._lines is not None

    @property
    def loading(self) -> bool:
        """Part of the file is still to be read (``finish``)."""
        return self._lines is not None and not self._lines.done

    @property
    def trace_ids(self) -> list[str]:
        """The traces in the file, oldest first."""
        return self.reader.trace_ids()

    def finish(
        self, on_progress: ProgressCallback | None = None, progress_interval: float = 0.1
    ) -> None:
        """Read the rest of the file (from a worker thread: a big file takes seconds);
        ``on_progress`` as for ``load_trace``. ``close`` from another thread stops it."""
        if self._lines is None:
            return
        self._lines.read(on_progress=on_progress, progress_interval=progress_interval)
        self._counted(self._lines)

    def close(self) -> None:
        """Close the store and delete the temporary copy (the user's files are left alone); a
        ``finish`` still reading stops at its next line."""
        if self._lines is not None:
            self._lines.close()
        if self.store is not None:
            self.store.close()
        else:
            self.reader.close()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def _counted(self, lines: LineLoad) -> None:
        """The counts and problems of what ``lines`` read so far."""
        self.spans, self.logs = lines.spans, lines.logs
        problems = lines.problems()
        if lines.done and not self.spans and not self.logs:
            problems.append(LoadProblem(self.path, None, _nothing_found(lines.lines_read,
                                                                          problems)))
        self._set_problems(problems)

    def _set_problems(self, problems: list[LoadProblem]) -> None:
        self.problems, self.problem_count = problems[:MAX_PROBLEMS], len(problems)

    def __enter__(self) -> LoadedTrace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def load_trace(
    path: str | Path,
    *,
    first: int | None = None,
    on_progress: ProgressCallback | None = None,
    progress_interval: float = 0.1,
) -> LoadedTrace:
    """Open ``path`` (``.jsonl``, ``.json``, ``.jsonl.gz`` or a studio ``.db``) for replay.

    ``first``: read only about that many records of a lines file, the rest later
    (``LoadedTrace.finish``); None reads it whole. ``on_progress`` is called from this thread
    at most every ``progress_interval`` seconds and once more when the file is read. Raises
    ``ReplayError`` only when nothing can be read; everything else becomes ``problems`` (the
    first ``MAX_PROBLEMS`` are kept, ``problem_count`` counts them all).
    """
    path = Path(path)
    try:
        with open(path, "rb") as probe:
            head = probe.read(len(_SQLITE_MAGIC))
        total = path.stat().st_size
    except OSError as exc:
        raise ReplayError(f"cannot open {path}: {exc.strerror or exc}") from exc
    if _names_a_store(path, head):
        loaded = _open_database(path)
        if on_progress is not None:
            on_progress(LoadProgress(loaded.spans, total, total, done=True))
        return loaded
    return _load_lines(path, first, on_progress, progress_interval)


def is_store_file(path: Path) -> bool:
    """Whether ``path`` is read as a studio store (SQLite, by its first bytes, or a ``.db``)
    rather than as OTLP JSON lines; False for a file that cannot be read."""
    try:
        with open(path, "rb") as probe:
            return _names_a_store(path, probe.read(len(_SQLITE_MAGIC)))
    except OSError:
        return False


def _names_a_store(path: Path, head: bytes) -> bool:
    return head == _SQLITE_MAGIC or path.suffix == ".db"


def _load_lines(
    path: Path,
    first: int | None,
    on_progress: ProgressCallback | None,
    progress_interval: float,
) -> LoadedTrace:
    temp_dir = Path(tempfile.mkdtemp(prefix="lumos-replay-"))
    store: Store | None = None
    try:
        store = Store(temp_dir / "replay.db")
        lines = LineLoad(path, store)
        lines.read(first, on_progress, progress_interval)
    except BaseException as exc:  # nothing of it is left behind
        if store is not None:
            store.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
        if isinstance(exc, OSError):
            raise ReplayError(f"cannot read {path}: {exc.strerror or exc}") from exc
        raise
    return LoadedTrace(path, store.reader, store=store, temp_dir=temp_dir, lines=lines)


def _nothing_found(lines: int, problems: list[LoadProblem]) -> str:
    if not lines:
        return "nothing could be read before that" if problems else "the file is empty"
    if problems:
        return "no valid span or log record: is this an OTLP JSON lines file?"
    return "no spans or log records in the file"


def _open_database(path: Path) -> LoadedTrace:
    """A studio store: read in place when its schema is current, else copied and migrated.

    Raises ``UnusableStoreFile`` for a file that is not a store this studio can read."""
    try:
        check_store(path)
    except StoreUnusable as exc:
        raise UnusableStoreFile(str(exc)) from exc
    except StoreError as exc:
        raise ReplayError(str(exc)) from exc
    try:
        connection = connect_read_only(path)
    except sqlite3.Error as exc:
        raise ReplayError(f"cannot open the store {path}: {exc}") from exc
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        if not tables:  # a new store, or an empty file
            raise ReplayError(f"{path} holds no runs: nothing to replay")
        if "spans" not in tables:
            raise ReplayError(f"{path} is an SQLite file but not a Lumos Studio store")
        if version > SCHEMA_VERSION:
            raise ReplayError(
                f"{path} was written by a newer Lumos Studio (schema {version} > "
                f"{SCHEMA_VERSION}); upgrade lumos-studio to replay it"
            )
        spans = connection.execute("SELECT count(*) FROM spans").fetchone()[0]
        logs = connection.execute("SELECT count(*) FROM logs").fetchone()[0] if (
            "logs" in tables) else 0
        if version == SCHEMA_VERSION:
            return LoadedTrace(path, StoreReader(path), spans=spans, logs=logs)
        temp_dir = Path(tempfile.mkdtemp(prefix="lumos-replay-"))
        copy = temp_dir / "replay.db"
        with sqlite3.connect(copy) as target:
            connection.backup(target)
        target.close()
        store = Store(copy)  # migrates the copy to the current schema
        return LoadedTrace(path, store.reader, store=store, temp_dir=temp_dir, spans=spans,
                           logs=logs)
    except sqlite3.Error as exc:
        raise ReplayError(f"cannot read the store {path}: {exc}") from exc
    finally:
        connection.close()
