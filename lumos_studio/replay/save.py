"""Saving traces from a store as OTLP JSON lines: spans, then the log records tied to them.

The file is what ``load_trace`` (and any OTel tool reading the Collector's file format) opens; it
is written beside the target and renamed, so a failed save never leaves half a file (a stream,
such as standard output, is written as it goes).
"""

from __future__ import annotations

import gzip
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lumos_studio.otlp import encode_lines, encode_log_lines
from lumos_studio.otlp.files import DEFAULT_BATCH_SIZE
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.store import StoreReader

_ALL_LOGS = 2**62

# What a saved file's name keeps of an agent's name: the name comes from a span, which any
# program can send, so it is never trusted as a path (no separators, no "..", no NUL).
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")
MAX_LABEL = 64
# Names Windows gives to devices, whatever the extension: "con.jsonl" is not a file there.
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{kind}{n}" for kind in ("com", "lpt") for n in range(1, 10)]
)


def safe_label(name: str | None, fallback: str = "trace") -> str:
    """``name`` as one safe file-name part: ``[A-Za-z0-9._-]`` only, other runs become ``-``,
    dots never doubled, at most ``MAX_LABEL`` characters, never starting or ending with ``.`` or
    ``-``; ``fallback`` if nothing is left or the name is a Windows device name."""
    label = _DOTS.sub(".", _UNSAFE_RUN.sub("-", name or ""))[:MAX_LABEL].strip(".-")
    if not label or label.split(".")[0].lower() in _RESERVED:
        return fallback
    return label


def trace_file(directory: Path, label: str | None, stamp: str) -> Path:
    """Where a save of ``label``'s run goes: ``directory/{label}-{stamp}.jsonl``, always a file
    directly inside ``directory`` whatever ``label`` (an agent's name, from a span) holds."""
    return directory / f"{safe_label(label)}-{safe_label(stamp, 'run')}.jsonl"


@dataclass(frozen=True, slots=True)
class Saved:
    """What a save wrote."""

    path: Path
    traces: int
    spans: int
    logs: int


@dataclass(frozen=True, slots=True)
class SaveProgress:
    """How far a save is: the spans read from the store, then the spans written."""

    writing: bool
    spans: int
    total: int


def save_traces(
    reader: StoreReader,
    trace_ids: Iterable[str],
    path: str | Path,
    *,
    semconv: str = "as-recorded",
    on_progress: Callable[[SaveProgress], None] | None = None,
    stream: BinaryIO | None = None,
) -> Saved:
    """Write ``trace_ids`` (spans and their logs) to ``path``; ``.gz`` compresses.

    ``semconv="latest"`` writes every span's meaning as current OTel GenAI attributes
    (``semantics.latest``); by default the spans are written as they were received.
    ``on_progress`` hears after each trace read and each line written (a 100k-span trace
    takes seconds each way). A symlink ``path`` stays one: the file it names is replaced.
    ``stream``: write into it instead, as it is (standard output, a pipe or a device the caller
    opened; ``path`` only names it). Raises ``OSError`` when the file cannot be written.
    """
    path = Path(path)
    ids = list(dict.fromkeys(trace_ids))
    total = sum(reader.span_count(trace_id) for trace_id in ids) if on_progress else 0
    spans = []
    for trace_id in ids:
        spans.extend(reader.trace_spans(trace_id))
        if on_progress is not None:
            on_progress(SaveProgress(False, len(spans), total))
    logs = [log for trace_id in ids for log in reader.logs(trace_id=trace_id, limit=_ALL_LOGS)]
    if semconv == "latest":
        from lumos_studio.semantics.latest import to_latest_all

        spans = to_latest_all(spans, logs)
    elif semconv != "as-recorded":
        raise ValueError(f"unknown semconv {semconv!r}")
    saved = Saved(path, len(ids), len(spans), len(logs))
    if stream is not None:
        _write(stream, path.name, spans, logs, on_progress)
        stream.flush()
        return saved
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    partial = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(partial, "wb") as raw:
            _write(raw, target.name, spans, logs, on_progress)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return saved


def _write(raw: BinaryIO, name: str, spans: list[SpanRecord], logs: list[LogRecord],
           on_progress: Callable[[SaveProgress], None] | None) -> None:
    """The spans' and logs' lines into ``raw``, which stays open; gzip-compressed when ``name``
    ends in ``.gz``, recording ``name`` without it inside, as gzip(1) does (not the .part's)."""
    binary: BinaryIO | gzip.GzipFile = raw
    if name.endswith(".gz"):
        binary = gzip.GzipFile(filename=name, mode="wb", fileobj=raw)
    text = io.TextIOWrapper(binary, encoding="utf-8", newline="\n")
    try:
        text.writelines(_told(encode_lines(spans), len(spans), on_progress))
        text.writelines(encode_log_lines(logs))
        text.flush()
    finally:
        text.detach()  # closing the wrapper would close ``raw``
    if binary is not raw:
        binary.close()  # the gzip trailer; ``raw`` stays open


def _told(lines: Iterator[str], total: int, on_progress: Callable[[SaveProgress], None] | None
          ) -> Iterator[str]:
    """``lines`` (of ``DEFAULT_BATCH_SIZE`` spans each), telling ``on_progress`` after each."""
    if on_progress is None:
        yield from lines
        return
    for written, line in enumerate(lines, start=1):
        yield line
        on_progress(SaveProgress(True, min(written * DEFAULT_BATCH_SIZE, total), total))
