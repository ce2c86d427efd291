"""Opening a saved trace for replay, without ever touching the user's own store.

OTLP JSON lines (ours or the OpenTelemetry Collector's file exporter output, gzip or not) are
loaded into a fresh temporary store through the one writer, in transactions of
``CHUNK_RECORDS`` records whose rows are made on the loading thread: fewer, larger transactions,
their rows made beside the writer (a 100,000-span trace of 446 MB: ~18 s against ~20 s through
the writer's own batches; 2.4 against 4.8 s for a smaller one before the writer held a huge
trace's refreshes, ``store.trace_refresh``); a studio ``.db`` of the current schema
is read in place, read-only (an older one is copied and migrated). The kind of file is told by
its first bytes, not its name. Valid records load even when some lines are corrupt: each bad line
becomes a ``LoadProblem`` naming the file and line. Progress is reported as records loaded and
bytes read so the UI can draw a bar for big files; call ``load_trace`` from a worker thread.
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lumos_studio.otlp import read_lines
from lumos_studio.otlp.files import broken_stream
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.store import Store, StoreError, StoreReader, StoreUnusable
from lumos_studio.store.connection import connect_read_only
from lumos_studio.store.pending import PendingRows
from lumos_studio.store.schema import SCHEMA_VERSION, check_store

_GZIP_MAGIC = b"\x1f\x8b"
_SQLITE_MAGIC = b"SQLite format 3\x00"
FLUSH_TIMEOUT = 300.0  # seconds; a very large file can keep the writer busy for a while
CHUNK_RECORDS = 5_000  # records a transaction, their rows made on the loading thread


class ReplayError(Exception):
    """The file cannot be opened at all (missing, unreadable, a store from a newer studio)."""


class UnusableStoreFile(ReplayError, StoreUnusable):
    """A ``.db`` (or SQLite) file that is not a store this studio can read."""


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """Something in the file that was skipped: ``file:line: message``."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """How far loading is: records queued so far and bytes read of the file's size."""

    records: int
    bytes_read: int
    total_bytes: int
    done: bool = False

    @property
    def fraction(self) -> float:
        if self.done or not self.total_bytes:
            return 1.0
        return min(self.bytes_read / self.total_bytes, 1.0)


ProgressCallback = Callable[[LoadProgress], None]


class LoadedTrace:
    """A saved trace opened for reading: query it through ``reader``, then ``close()`` it.

    ``store`` is the temporary store a file was loaded into (None for a ``.db`` read in place).
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
        problem_count: int | None = None,
    ) -> None:
        self.path = path
        self.reader = reader
        self.store = store
        self.spans = spans
        self.logs = logs
        self.problems = list(problems)
        self.problem_count = len(self.problems) if problem_count is None else problem_count
        self._temp_dir = temp_dir

    @property
    def read_only(self) -> bool:
        return self.store is None

    @property
    def trace_ids(self) -> list[str]:
        """The traces in the file, oldest first."""
        return self.reader.trace_ids()

    def close(self) -> None:
        """Close the store and delete the temporary copy (the user's files are left alone)."""
        if self.store is not None:
            self.store.close()
        else:
            self.reader.close()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def __enter__(self) -> LoadedTrace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def load_trace(
    path: str | Path,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_interval: float = 0.1,
    max_problems: int = 200,
) -> LoadedTrace:
    """Open ``path`` (``.jsonl``, ``.json``, ``.jsonl.gz`` or a studio ``.db``) for replay.

    ``on_progress`` is called from this thread at most every ``progress_interval`` seconds and
    once more when done; ``should_stop`` lets a cancelled worker stop early. Raises
    ``ReplayError`` only when nothing can be read; everything else becomes ``problems`` (the
    first ``max_problems`` are kept, ``problem_count`` counts them all).
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
    return _load_lines(path, total, on_progress, should_stop, progress_interval, max_problems)


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
    total: int,
    on_progress: ProgressCallback | None,
    should_stop: Callable[[], bool] | None,
    progress_interval: float,
    max_problems: int,
) -> LoadedTrace:
    temp_dir = Path(tempfile.mkdtemp(prefix="lumos-replay-"))
    try:
        store = Store(temp_dir / "replay.db")
    except Exception:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    problems: list[LoadProblem] = []
    last_report = time.monotonic()
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            stream: Iterable[bytes] = gzip.GzipFile(fileobj=raw) if compressed else raw
            reader = read_lines(stream)
            chunk = _Chunk(store)
            try:
                for decoded in reader:
                    chunk.add(decoded.spans, decoded.logs)
                    if chunk.full and not chunk.commit():
                        problems.append(LoadProblem(path, reader.lines_read, chunk.failure))
                        break
                    if on_progress is not None and (
                        time.monotonic() - last_report >= progress_interval
                    ):
                        last_report = time.monotonic()
                        read = chunk.spans + chunk.logs + chunk.waiting
                        on_progress(LoadProgress(read, raw.tell(), total))
                    if should_stop is not None and should_stop():
                        problems.append(LoadProblem(path, None, "loading was stopped"))
                        break
            except (OSError, EOFError, zlib.error) as exc:
                problems.append(LoadProblem(path, reader.lines_read + 1, broken_stream(exc)))
            if not chunk.commit():
                problems.append(LoadProblem(path, reader.lines_read, chunk.failure))
            spans, logs = chunk.spans, chunk.logs
            line_problems = [LoadProblem(path, n, m) for n, m in reader.problems]
        store.writer.flush(FLUSH_TIMEOUT)
    except OSError as exc:
        store.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise ReplayError(f"cannot read {path}: {exc.strerror or exc}") from exc
    problems = sorted(line_problems + problems, key=lambda p: p.line or 0)
    if not spans and not logs:
        problems.append(LoadProblem(path, None, _nothing_found(reader.lines_read, problems)))
    if on_progress is not None:
        on_progress(LoadProgress(spans + logs, total, total, done=True))
    return LoadedTrace(path, store.reader, store=store, temp_dir=temp_dir, spans=spans,
                       logs=logs, problems=problems[:max_problems], problem_count=len(problems))


class _Chunk:
    """Records read and not committed yet; ``spans`` and ``logs`` count those committed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.span_records: list[SpanRecord] = []
        self.log_records: list[LogRecord] = []
        self.spans = self.logs = 0
        self.failure = ""

    def add(self, spans: Sequence[SpanRecord], logs: Sequence[LogRecord]) -> None:
        self.span_records.extend(spans)
        self.log_records.extend(logs)

    @property
    def waiting(self) -> int:
        """Records read since the last commit."""
        return len(self.span_records) + len(self.log_records)

    @property
    def full(self) -> bool:
        return self.waiting >= CHUNK_RECORDS

    def commit(self) -> bool:
        """Store the records read since the last commit, their rows made here and their text
        made from them in the transaction (``keep``); False, ``failure`` saying why, when the
        store did not take them."""
        if not self.waiting:
            return True
        rows = PendingRows()
        rows.add([*self.span_records, *self.log_records], keep=True)
        committed = self.store.writer.commit_rows(rows, FLUSH_TIMEOUT)
        if committed:
            self.spans += len(self.span_records)
            self.logs += len(self.log_records)
        else:
            self.failure = (f"the temporary store did not take {self.waiting:,} records read "
                            "before this line; the replay shows those before them")
        self.span_records, self.log_records = [], []
        return committed


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
