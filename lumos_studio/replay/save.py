"""Saving traces from a store as OTLP JSON lines: spans, then the log records tied to them.

The file is what ``load_trace`` (and any OTel tool reading the Collector's file format) opens; it
is written beside the target and renamed, so a failed save never leaves half a file.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lumos_studio.otlp import encode_lines, encode_log_lines
from lumos_studio.store import StoreReader

_ALL_LOGS = 2**62


@dataclass(frozen=True, slots=True)
class Saved:
    """What a save wrote."""

    path: Path
    traces: int
    spans: int
    logs: int


def save_traces(reader: StoreReader, trace_ids: Iterable[str], path: str | Path) -> Saved:
    """Write ``trace_ids`` (spans and their logs) to ``path``; ``.gz`` compresses.

    Raises ``OSError`` when the file cannot be written.
    """
    path = Path(path)
    ids = list(dict.fromkeys(trace_ids))
    spans = [span for trace_id in ids for span in reader.trace_spans(trace_id)]
    logs = [log for trace_id in ids for log in reader.logs(trace_id=trace_id, limit=_ALL_LOGS)]
    partial = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(partial, "wt", encoding="utf-8", newline="\n") as out:  # type: ignore[operator]
            out.writelines(encode_lines(spans))
            out.writelines(encode_log_lines(logs))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return Saved(path, len(ids), len(spans), len(logs))
