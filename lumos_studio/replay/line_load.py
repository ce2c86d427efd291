"""An OTLP JSON lines file read into a replay's temporary store, one part at a time.

``replay`` draws a big file's start before the rest is read. The command reads the first part
(``read(FIRST_RECORDS)``), so a file with nothing valid in it still fails in the shell with the
reason. The replay's worker then reads the rest while the run's start is on screen. A
100,000-span file read whole before the first frame kept a person waiting 5.4 s, 3.6 s of it
the reading.

Records go to the store through the one writer, in transactions of ``CHUNK_RECORDS`` records
whose rows are made on the reading thread: fewer, larger transactions, their rows made beside
the writer. Valid records load even when some lines are corrupt: each bad line becomes a
``LoadProblem`` naming the file and line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lumos_studio.otlp.files import DecodedLine, FileLines, file_lines
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.store import Store
from lumos_studio.store.pending import PendingRows

FLUSH_TIMEOUT = 300.0  # seconds; a very large file can keep the writer busy for a while
CHUNK_RECORDS = 5_000  # records a transaction, their rows made on the reading thread
# What ``replay`` reads before its first frame: enough for the run's first instants, which its
# first frame draws (the rest comes as the worker reads it); one line of our export. 2,000
# records took ~100 ms, 1,000 ~70 (a store of its own opened, its first line decoded, stored).
FIRST_RECORDS = 1_000


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
    """How far loading is: records stored so far and bytes read of the file's size."""

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


class LineLoad:
    """The file open at the line ``read`` got to, and the records it stored so far.

    ``read`` runs on one thread at a time (the command's, then the replay's worker); ``stop``
    from any thread ends a ``read`` at its next line, and ``close`` waits for it.
    """

    def __init__(self, path: Path, store: Store) -> None:
        self.path = path
        self.store = store
        self.total_bytes = path.stat().st_size
        self._raw = open(path, "rb")  # noqa: SIM115 (kept open between reads; ``close``)
        try:
            self._lines: FileLines = file_lines(self._raw)
        except BaseException:
            self._raw.close()
            raise
        self._decoded: Iterator[DecodedLine] = iter(self._lines)
        self._chunk = _Chunk(store)
        self._failures: list[LoadProblem] = []  # what stopped the reading, not a line's fault
        self._reading = threading.Lock()
        self._stopped = threading.Event()
        self.done = False

    @property
    def spans(self) -> int:
        return self._chunk.spans

    @property
    def logs(self) -> int:
        return self._chunk.logs

    def read(
        self,
        records: int | None = None,
        on_progress: ProgressCallback | None = None,
        progress_interval: float = 0.1,
    ) -> bool:
        """Store the next ``records`` records or so (whole lines; None: the rest of the file);
        True once the file is read to its end or the reading stopped. ``on_progress`` is called
        at most every ``progress_interval`` seconds, and once more when the file is done."""
        with self._reading:
            if self.done:
                return True
            try:
                if not self._read(records, on_progress, progress_interval):
                    return False
            except Exception as exc:  # the replay keeps what is stored; the rest is a problem
                self._failures.append(LoadProblem(
                    self.path, self._lines.lines_read,
                    f"reading stopped here ({type(exc).__name__}: {exc})"))
            self._finish()
            if on_progress is not None:
                on_progress(self.progress(0, done=True))
            return True

    def _read(
        self, records: int | None, on_progress: ProgressCallback | None, interval: float
    ) -> bool:
        """``read``'s loop: False when it stopped at ``records``, True at the file's end or
        where the reading stopped."""
        wanted = None if records is None else self.spans + self.logs + records
        last_report = time.monotonic()
        chunk = self._chunk
        for decoded in self._decoded:
            chunk.add(decoded.spans, decoded.logs)
            if chunk.full and not self._commit():
                return True
            if on_progress is not None and time.monotonic() - last_report >= interval:
                last_report = time.monotonic()
                on_progress(self.progress(chunk.waiting))
            if self._stopped.is_set():
                self._failures.append(LoadProblem(self.path, None, "loading was stopped"))
                return True
            if wanted is not None and chunk.spans + chunk.logs + chunk.waiting >= wanted:
                return not self._commit()
        self._commit()
        return True

    def progress(self, waiting: int = 0, *, done: bool = False) -> LoadProgress:
        """Records stored (and ``waiting`` read, not stored yet) and the file's bytes read."""
        read = self.total_bytes if done else self._lines.bytes_read()
        return LoadProgress(self.spans + self.logs + waiting, read, self.total_bytes, done)

    def problems(self) -> list[LoadProblem]:
        """The lines skipped and what stopped the reading, in the file's order."""
        lines = [LoadProblem(self.path, n, message) for n, message in self._lines.problems]
        return sorted(lines + self._failures, key=lambda p: p.line or 0)

    @property
    def lines_read(self) -> int:
        return self._lines.lines_read

    def stop(self) -> None:
        """End a ``read`` running on another thread at its next line."""
        self._stopped.set()

    def close(self) -> None:
        """Stop reading and close the file (the store is its owner's to close)."""
        self.stop()
        with self._reading:
            self.done = True
            self._raw.close()

    def _commit(self) -> bool:
        if self._chunk.commit():
            return True
        self._failures.append(LoadProblem(self.path, self._lines.lines_read, self._chunk.failure))
        return False

    def _finish(self) -> None:
        """The file's end (or where reading stopped): everything stored is committed, and
        searchable, before the counts say so."""
        self.done = True
        self._raw.close()
        self.store.writer.flush(FLUSH_TIMEOUT, searchable=not self._stopped.is_set())


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
