"""Saved telemetry files: OTLP/JSON lines, the OpenTelemetry Collector's file exporter format.

One ``ExportTraceServiceRequest`` or ``ExportLogsServiceRequest`` per line, gzip-compressed or not,
so any OTel tool can read what we write and vice versa. A line is dispatched on its top-level key
(``_SIGNAL_KEYS``); a file may mix signals, and metrics or profiles lines are skipped silently.
``lumos.span.started`` events read back as running spans, as they do through the receiver.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, cast

import orjson

from lumos_studio.otlp._common import OtlpDecodeError
from lumos_studio.otlp.json_codec import decode_trace_request
from lumos_studio.otlp.json_encode import encode_trace_request
from lumos_studio.otlp.logs_codec import decode_logs_request
from lumos_studio.records import LogRecord, SpanRecord

__all__ = [
    "MAX_LINE_BYTES",
    "DecodedLine",
    "FileLines",
    "FileRecords",
    "LineProblem",
    "TraceLines",
    "encode_lines",
    "file_lines",
    "open_lines",
    "read_file",
    "read_lines",
    "read_records",
    "write_file",
]

DEFAULT_BATCH_SIZE = 1000
# The longest line read: a line is one export request, and the receiver's default body limit is
# 32 MiB. A longer one (or a stream with no newline at all, /dev/zero) stops the reading there
# instead of growing memory without bound.
MAX_LINE_BYTES = 64 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"

# ---------------------------------------------------------------------------------------- write


def encode_lines(
    records: Iterable[SpanRecord], batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[str]:
    """Yield one compact JSON line (ending in ``\\n``) per ``batch_size`` records.

    The newline is included so ``file.writelines(encode_lines(...))`` writes a valid file.
    """
    for batch in _batches(records, batch_size):
        yield _dump_line(batch).decode()


def write_file(
    path: str | os.PathLike[str],
    records: Iterable[SpanRecord],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    compress: bool | None = None,
) -> int:
    """Write records as OTLP JSON lines and return how many were written.

    ``compress=None`` gzips when the name ends in ``.gz``; ``read_file`` reads either way.
    """
    if compress is None:
        compress = os.fspath(path).endswith(".gz")
    count = 0
    with gzip.open(path, "wb") if compress else open(path, "wb") as out:
        for batch in _batches(records, batch_size):
            out.write(_dump_line(batch))
            count += len(batch)
    return count


def _batches(records: Iterable[Any], batch_size: int) -> Iterator[list[Any]]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    batch: list[Any] = []
    for record in records:
        batch.append(record)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _dump_line(batch: list[SpanRecord]) -> bytes:
    return orjson.dumps(encode_trace_request(batch), option=orjson.OPT_APPEND_NEWLINE)


# ----------------------------------------------------------------------------------------- read


class LineProblem(NamedTuple):
    """A line that could not be read; callers report it as ``file X line N: message``."""

    line_number: int
    message: str


class DecodedLine(NamedTuple):
    """The records one line held: spans (started-span events included) or log records."""

    line_number: int
    spans: list[SpanRecord]
    logs: list[LogRecord]


# Top-level keys of OTLP export requests. Signals this reader does not decode map to None and
# are skipped without a problem, because one file may hold several signals.
_SIGNAL_KEYS: dict[str, str | None] = {
    "resourceSpans": "spans",
    "resource_spans": "spans",
    "resourceLogs": "logs",
    "resource_logs": "logs",
    "resourceMetrics": None,
    "resource_metrics": None,
    "resourceProfiles": None,
    "resource_profiles": None,
}


class _Readable(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


class TraceLines:
    """Iterate an OTLP JSON lines stream, one ``DecodedLine`` per line with spans or logs.

    Corrupt lines do not stop the stream: they are collected in ``problems`` so a caller can load
    what is valid and report the rest once iteration ends. ``lines_read`` counts lines consumed.
    A line longer than ``max_line`` bytes (characters for ``str`` lines) does stop it: a file
    object is read line by line with a bounded ``readline``, never a whole line of any length,
    and ``stopped`` then holds the problem naming that line (also in ``problems``).
    """

    def __init__(self, lines: Iterable[str | bytes], max_line: int = MAX_LINE_BYTES) -> None:
        self._lines = lines
        self.max_line = max_line
        self.problems: list[LineProblem] = []
        self.lines_read = 0
        self.stopped: LineProblem | None = None

    def _reads_a_file(self) -> bool:
        """Read from a file object, whose lines end in a newline but for the last."""
        return hasattr(self._lines, "readline")

    def _bounded(self) -> Iterator[str | bytes]:
        """The lines, read with ``readline(max_line + 1)`` from a file object."""
        if not self._reads_a_file():
            yield from self._lines
            return
        stream = cast(_Readable, self._lines)
        while line := stream.readline(self.max_line + 1):
            yield line

    def __iter__(self) -> Iterator[DecodedLine]:
        for line_number, line in enumerate(self._bounded(), 1):
            self.lines_read = line_number
            if len(line) > self.max_line:
                self.stopped = LineProblem(
                    line_number,
                    f"line {line_number} is longer than {_size(self.max_line)}; "
                    "reading stopped there",
                )
                self.problems.append(self.stopped)
                return
            if line_number == 1:
                line = _strip_bom(line)
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                if self._reads_a_file() and not _ended(line):
                    # The last line, unended and unreadable: the file was cut short (a copy
                    # stopped, a disk full), not a bad line among good ones.
                    self.stopped = LineProblem(
                        line_number, f"line {line_number} is cut short (the file ends inside it)")
                    self.problems.append(self.stopped)
                    return
                self.problems.append(LineProblem(line_number, f"invalid JSON: {exc}"))
                continue
            try:
                spans, logs = _decode_line(obj)
            except OtlpDecodeError as exc:
                self.problems.append(LineProblem(line_number, str(exc)))
                continue
            if spans or logs:
                yield DecodedLine(line_number, spans, logs)


def _ended(line: str | bytes) -> bool:
    return line.endswith(b"\n") if isinstance(line, bytes) else line.endswith("\n")


def read_lines(lines: Iterable[str | bytes], max_line: int = MAX_LINE_BYTES) -> TraceLines:
    """Read OTLP JSON lines lazily; see ``TraceLines`` for how problems are collected."""
    return TraceLines(lines, max_line)


def _size(count: int) -> str:
    whole_mib = count >= 1 << 20 and not count % (1 << 20)
    return f"{count >> 20} MiB" if whole_mib else f"{count:,} bytes"


@contextlib.contextmanager
def open_lines(path: str | os.PathLike[str], max_line: int = MAX_LINE_BYTES
               ) -> Iterator[FileLines]:
    """``FileLines`` over a file, gzip-compressed or not (told by its magic bytes, not its
    name). A gzip stream that breaks off is reported as a problem on the line where it broke,
    and ends the iteration as an oversized line does (``stopped``)."""
    with open(path, "rb") as raw:
        yield file_lines(raw, max_line)


def file_lines(raw: io.BufferedReader, max_line: int = MAX_LINE_BYTES) -> FileLines:
    """``FileLines`` over a file opened in binary mode, for a reader that keeps it open
    between reads (``replay.line_load``); gzip or not, told by its magic bytes."""
    compressed = raw.peek(2)[:2] == _GZIP_MAGIC  # a peek: pipes cannot seek back
    return FileLines(gzip.GzipFile(fileobj=raw) if compressed else raw, max_line, raw)


class _Tells(Protocol):
    def tell(self) -> int: ...


class FileLines(TraceLines):
    """``TraceLines`` that turns a broken stream into a problem, not an exception, and tells
    how far into the file (compressed or not) it has read."""

    def __init__(self, stream: Iterable[bytes], max_line: int, raw: _Tells) -> None:
        super().__init__(stream, max_line)
        self._raw = raw

    def bytes_read(self) -> int:
        """The file's bytes read so far (a pipe: 0)."""
        try:
            return self._raw.tell()
        except OSError:
            return 0

    def __iter__(self) -> Iterator[DecodedLine]:
        try:
            yield from super().__iter__()
        except (OSError, EOFError, zlib.error) as exc:
            self.stopped = LineProblem(self.lines_read + 1, broken_stream(exc))
            self.problems.append(self.stopped)


def broken_stream(exc: BaseException) -> str:
    """What to say when a file stops being readable partway (a gzip stream cut short, a
    damaged one, a read error)."""
    if isinstance(exc, EOFError):  # gzip's: no end-of-stream marker
        return "the file is cut short: its gzip stream ends early (a copy or download stopped?)"
    return f"cannot read further ({type(exc).__name__}: {exc})"


@dataclass(slots=True)
class FileRecords:
    """Everything valid in one file, and what was not."""

    spans: list[SpanRecord] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)


def read_records(path: str | os.PathLike[str]) -> FileRecords:
    """Load every valid span and log record of a ``.jsonl`` file, gzip-compressed or not.

    Compression is told by the magic bytes, not the name. A gzip stream that breaks off is
    reported as a problem on the line where it broke.
    """
    result = FileRecords()
    with open_lines(path) as reader:
        for decoded in reader:
            result.spans.extend(decoded.spans)
            result.logs.extend(decoded.logs)
    result.problems = reader.problems
    return result


def read_file(path: str | os.PathLike[str]) -> tuple[list[SpanRecord], list[LineProblem]]:
    """The spans of a file and its problems, for callers that want only spans."""
    records = read_records(path)
    return records.spans, records.problems


def _decode_line(obj: Any) -> tuple[list[SpanRecord], list[LogRecord]]:
    if not isinstance(obj, dict):
        raise OtlpDecodeError(f"expected a JSON object, got {type(obj).__name__}")
    signals = {_SIGNAL_KEYS[key] for key in obj if key in _SIGNAL_KEYS}
    if not signals and obj:
        keys = ", ".join(sorted(obj)[:5])
        raise OtlpDecodeError(f"not an OTLP export request (no resourceSpans/Logs; keys: {keys})")
    spans = decode_trace_request(obj) if "spans" in signals else []
    logs = decode_logs_request(obj) if "logs" in signals else []
    if logs:
        # Imported here: the ingest package pulls in the OTel SDK, which plain readers skip.
        from lumos_studio.ingest.live_spans import split_started

        started, logs = split_started(logs)
        spans.extend(started)
    return spans, logs  # "{}" is a valid, empty request


def _strip_bom(line: str | bytes) -> str | bytes:
    return line.removeprefix(_UTF8_BOM) if isinstance(line, bytes) else line.removeprefix("\ufeff")
