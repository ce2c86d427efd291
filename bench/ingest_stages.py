"""The receiver's stages measured alone, one at a time: decoding, writing, and indexing the
message text once the writer is idle (as ``serve`` does: after the load, or between batches).

Under the load, the receiver's decoding and the writer's SQLite work share two virtual CPUs, and
each ran 1.5–2x slower there than alone; how much slower changed from hour to hour. Measured one
at a time in a quiet process, the stages' costs still follow the machine's speed (the header's
Python loop), but far less than the load's figures do: judge a change to a stage by them, next
to the loop's time; the load's figures say what a user gets.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lumos_studio.ingest.proto_rows import decode_trace_rows
from lumos_studio.process_settings import studio_process_settings
from lumos_studio.store import StoreWriter
from lumos_studio.store.pending import PendingRows

STAGE_REQUESTS = 20  # 10,000 spans: long enough to time, short enough to repeat
ROUNDS = 5


@dataclass(frozen=True, slots=True)
class StageCosts:
    """CPU µs per span, the best of the rounds."""

    decode: float  # an OTLP/protobuf request body → store rows (``decode_trace_rows``)
    write: float  # rows → committed in SQLite (``StoreWriter.commit_rows``; all threads)
    index: float  # their message text made searchable (``trace_index.index_pending``'s steps)


def stage_costs(bodies: list[bytes]) -> StageCosts:
    """Each stage alone, under the studio's GC settings, as ``lumos-studio serve`` runs them."""
    sample = bodies[:STAGE_REQUESTS]
    spans = sum(len(decode_trace_rows(body)) for body in sample)
    with studio_process_settings():
        decode = min(_cpu(lambda: [decode_trace_rows(body) for body in sample])
                     for _ in range(ROUNDS))
        write_and_index = [_write_once(sample) for _ in range(ROUNDS)]
    write = min(w for w, _ in write_and_index)
    index = min(i for _, i in write_and_index)
    return StageCosts(decode / spans * 1e6, write / spans * 1e6, index / spans * 1e6)


def _write_once(bodies: list[bytes]) -> tuple[float, float]:
    """CPU seconds to commit the bodies' rows, one request at a time, into a fresh store; then
    to index their text as ``serve``'s writer does (a flush waits until it is searchable)."""
    rows: list[PendingRows] = [decode_trace_rows(body) for body in bodies]
    with tempfile.TemporaryDirectory(prefix="lumos-bench-stages-") as tmp:
        writer = StoreWriter(Path(tmp) / "stages.db")
        writer.idle_before_indexing = 60.0  # nothing indexed until the flush asks
        writer.start()
        try:
            write = _cpu(lambda: [writer.commit_rows(request) for request in rows])
            writer.serve_without_ui()
            index = _cpu(lambda: _indexed(writer))
            return write, index
        finally:
            writer.close()


def _indexed(writer: StoreWriter) -> None:
    if not writer.flush(timeout=120):
        raise RuntimeError("the writer did not index the sample's message text")


def _cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start
