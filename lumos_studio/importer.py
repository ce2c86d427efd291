"""``lumos-studio import``: OTLP JSON lines files into the store, told as they are.

A file is read line by line (``otlp.open_lines``: bounded lines, so ``/dev/zero`` stops at the
first one) and committed in chunks through the writer's ``commit_rows``, which answers only once
the transaction holding a chunk committed or failed: what is reported stored was stored. Before
each chunk, one read of the store tells which of its spans and log records are already there,
so a re-import says "0 new" instead of claiming the file again.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

from lumos_studio.counts import counted
from lumos_studio.otlp.files import LineProblem, open_lines
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.store import PostgresUrl, Store
from lumos_studio.store.connection import WRITER_BUSY_TIMEOUT_MS, open_reader_connection
from lumos_studio.store.pending import PendingRows

# Records per transaction: large enough that a 200,000-line file is a few hundred commits.
CHUNK_RECORDS = 5_000
# How long a chunk may wait for its commit: past the writer's own wait for the write lock, so a
# failure is reported with SQLite's reason rather than as a timeout.
COMMIT_TIMEOUT = 2 * WRITER_BUSY_TIMEOUT_MS / 1000 + 30
_KEYS_PER_QUERY = 400  # (trace, span) pairs: 800 parameters, under any SQLite's limit


class ImportFailed(Exception):
    """A chunk was not stored; the message says from which line of which file, and why, and
    ``hint`` what to do."""

    def __init__(self, message: str,
                 hint: str = "retry once nothing else holds the store (or the disk has room)"
                 ) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(slots=True)
class FileImport:
    """What importing one file did."""

    path: Path
    new_spans: int = 0
    present_spans: int = 0  # already in the store before (a re-import)
    new_logs: int = 0
    present_logs: int = 0
    traces: set[str] = field(default_factory=set)
    problems: list[LineProblem] = field(default_factory=list)
    stopped: LineProblem | None = None  # reading ended early (an oversized line, a broken gzip)

    @property
    def records(self) -> int:
        return self.new_spans + self.present_spans + self.new_logs + self.present_logs

    def summary(self) -> str:
        """``imported 30 new spans (36 already in the store) in 3 traces … from PATH``."""
        text = f"imported {counted(self.new_spans, 'new span')}" + _present(self.present_spans)
        text += f" in {counted(len(self.traces), 'trace')}"
        if self.new_logs or self.present_logs:
            text += f" and {counted(self.new_logs, 'new log record')}"
            text += _present(self.present_logs)
        return f"{text} from {self.path}"



def _present(count: int) -> str:
    return f" ({count:,} already in the store)" if count else ""


def not_otlp_reason(problem: LineProblem) -> str:
    """A file's first problem as the reason it is not OTLP JSON lines."""
    line, message = problem
    if message.startswith("invalid JSON"):
        return f"line {line} is not JSON ({message.removeprefix('invalid JSON: ')})"
    if message.startswith("line "):
        return message
    return f"line {line}: {message}"


def import_file(store: Store, path: Path,
                on_progress: Callable[[int], None] | None = None) -> FileImport:
    """Read ``path`` into ``store``, chunk by committed chunk; ``on_progress`` hears the
    file's bytes read after each chunk.

    Raises ``OSError`` when the file cannot be opened and ``ImportFailed`` when a chunk is not
    stored (then nothing from its first line on is; the chunks before it are).
    """
    result = FileImport(path)
    lookup = _open_lookup(store)
    try:
        with open_lines(path) as reader, _writer_failures() as reasons:
            records: list[SpanRecord | LogRecord] = []
            first_line = 0
            for decoded in reader:
                first_line = first_line or decoded.line_number
                records.extend(decoded.spans)
                records.extend(decoded.logs)
                if len(records) >= CHUNK_RECORDS:
                    _commit(store, lookup, records, result, first_line, reasons)
                    records, first_line = [], 0
                    if on_progress is not None:
                        on_progress(reader.bytes_read())
            if records:
                _commit(store, lookup, records, result, first_line, reasons)
        result.problems, result.stopped = reader.problems, reader.stopped
    finally:
        lookup.close()
    return result


def _commit(
    store: Store,
    lookup: sqlite3.Connection,
    records: list[SpanRecord | LogRecord],
    result: FileImport,
    first_line: int,
    reasons: list[str],
) -> None:
    rows = PendingRows.of(records)
    spans = list(rows.spans)
    fingerprints = list(dict.fromkeys(row[0] for row in rows.logs))
    present_spans = _present_spans(lookup, spans)
    present_logs = _present_logs(lookup, fingerprints)
    if not store.writer.commit_rows(rows, COMMIT_TIMEOUT):
        stored = result.new_spans + result.new_logs
        before = f" ({stored:,} new records before them were)" if stored else ""
        problem = store.writer.storage_error  # a read-only store, a full disk: named as such
        if problem is not None:
            raise ImportFailed(f"{problem.what}; the records of {result.path} from line "
                               f"{first_line} on were not stored{before}", problem.remedy)
        reason = reasons[-1] if reasons else f"no answer within {COMMIT_TIMEOUT:.0f} s"
        raise ImportFailed(
            f"could not write to {store.path} ({reason}): the records of {result.path} from "
            f"line {first_line} on were not stored{before}"
        )
    result.present_spans += len(present_spans)
    result.new_spans += len(spans) - len(present_spans)
    result.present_logs += len(present_logs)
    result.new_logs += len(fingerprints) - len(present_logs)
    result.traces.update(trace_id for trace_id, _ in spans)


def _open_lookup(store: Store) -> sqlite3.Connection:
    """A read connection to ask which records the store holds already: SQLite's, or a
    PostgreSQL one taking the same ``?`` statements (``store.postgres.rows``)."""
    if isinstance(store.target, PostgresUrl):
        from lumos_studio.store.postgres.rows import QmarkConnection

        return cast(sqlite3.Connection, QmarkConnection(store.target))
    return open_reader_connection(store.path)


def _present_spans(lookup: sqlite3.Connection, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(keys, _KEYS_PER_QUERY):
        # A join, not "(trace_id, span_id) IN (VALUES …)": SQLite scans the whole index for
        # that (32 ms a chunk in a store of 200,000 spans), and looks each key up for this.
        values = ", ".join(["(?, ?)"] * len(chunk))
        found.update(
            (row[0], row[1]) for row in lookup.execute(
                f"WITH k(trace_id, span_id) AS (VALUES {values}) SELECT s.trace_id, s.span_id "
                "FROM k JOIN spans s ON s.trace_id = k.trace_id AND s.span_id = k.span_id",
                [value for key in chunk for value in key],
            )
        )
    return found


def _present_logs(lookup: sqlite3.Connection, fingerprints: list[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(fingerprints, 2 * _KEYS_PER_QUERY):
        marks = ", ".join("?" * len(chunk))
        found.update(row[0] for row in lookup.execute(
            f"SELECT fingerprint FROM logs WHERE fingerprint IN ({marks})", chunk))
    return found


_T = TypeVar("_T")


def _chunks(items: list[_T], size: int) -> Iterable[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Reasons(logging.Handler):
    """Keeps why the writer's transactions failed (its log), for the import's one message."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        self.reasons.append(str(error) if error else record.getMessage())


@contextlib.contextmanager
def _writer_failures() -> Iterator[list[str]]:
    """The writer's failures while importing, said once by the import, not as tracebacks."""
    logger = logging.getLogger("lumos_studio.store.writer")
    handler = _Reasons()
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield handler.reasons
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
