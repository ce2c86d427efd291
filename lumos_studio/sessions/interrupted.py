"""Spans a studio left running when it stopped: ended ERROR when a store is opened again.

The rule: a running span is the studio's own when its resource carries ``lumos.studio.pid`` (the
worker's environment puts it there, see ``sessions.worker``). It is closed when that process is
gone (and is not this one): no one can end it any more. Spans of other programs (exported over
OTLP, no such attribute) are left alone: they may still be running. A pid taken again by another
process keeps its spans running until the next open; the kernel hands pids out in order, so this
is rare. The demo's in-process spans carry no pid and are not closed.
"""

from __future__ import annotations

import os
from dataclasses import replace

from lumos_core.telemetry.semconv import LUMOS_STUDIO_PID
from lumos_studio.records import STATUS_ERROR, SpanRecord
from lumos_studio.store import StoreReader, StoreWriter

INTERRUPTED = "interrupted (the studio stopped)"


def interrupted_spans(reader: StoreReader) -> list[SpanRecord]:
    """The running spans whose studio is gone, ended ERROR ``INTERRUPTED`` at the last time
    their trace knows of (when the studio stopped is not known)."""
    closed = []
    for span, trace_end_ns in reader.running_spans():
        pid = _pid(span.resource.get(LUMOS_STUDIO_PID))
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        closed.append(replace(
            span, end_ns=max(span.start_ns, trace_end_ns), status_code=STATUS_ERROR,
            status_message=INTERRUPTED,
        ))
    return closed


def close_interrupted(reader: StoreReader, writer: StoreWriter) -> int:
    """Store ``interrupted_spans`` as ended; how many were."""
    spans = interrupted_spans(reader)
    if spans:
        writer.submit_many(spans, timeout=5.0)
        writer.flush()
    return len(spans)


def _pid(value: object) -> int | None:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None  # 0 or less would name process groups


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
