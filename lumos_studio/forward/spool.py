"""A bounded queue on disk of what waits to be forwarded, so a collector that is down loses
nothing and a restarted studio sends what was left.

One directory per target, one file per request body, named so that listing the directory gives
the queue back in order with what each file holds (``000000000042.traces.500.pb``). A body is
``stage``d under a temporary name while the store commits its records, then ``confirm``ed by a
rename once they are committed (or ``discard``ed when they were not): a studio killed before the
rename leaves a temporary file, deleted on the next start, for a request that was never
acknowledged. Nothing is fsynced: like the store's own commits (WAL, ``synchronous=NORMAL``),
what was renamed survives the process being killed, not a power cut (the OS may lose its last
seconds of writes). Files, not rows of a SQLite table: a 1.6 MB body took ~26 ms to insert
and ~30 ms to read back and delete through SQLite's overflow pages and WAL on this machine,
against 0.5–8 ms to write a file, which the receiver overlaps with its commit
(``bench/forward.py``).

The bound is in bytes of bodies: past it, a new request is dropped and its records counted,
never an older one (what was accepted first is sent first). Consecutive protobuf bodies of one
signal are joined into one request when sent: an OTLP export request is a single repeated field,
so concatenated messages parse as one holding them all.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
DEFAULT_SPOOL_BYTES = 256 << 20
DEFAULT_BATCH_BYTES = 4 << 20
_SUFFIX = {PROTOBUF: "pb", JSON: "json"}
_MEDIA = {suffix: media for media, suffix in _SUFFIX.items()}


@dataclass(frozen=True, slots=True)
class Waiting:
    """One queued request body's file, and what its name says of it."""

    path: Path
    signal: str
    media: str
    records: int
    size: int


@dataclass(frozen=True, slots=True)
class Batch:
    """What one request sends: the bodies of ``files``, one signal and media, joined (read
    from the files as they are sent: ``transport``)."""

    signal: str
    media: str
    records: int
    files: tuple[Waiting, ...]

    def read_body(self) -> bytes:
        """The joined bodies, read into memory; raises ``FileNotFoundError`` for a file
        removed from the queue's directory by hand."""
        return b"".join(waiting.path.read_bytes() for waiting in self.files)


@dataclass(frozen=True, slots=True)
class Staged:
    """A body written under its temporary name, not in the queue until ``confirm``."""

    number: int
    signal: str
    media: str
    size: int
    temporary: Path | None  # None: past the bound, nothing written


def _parse(path: Path) -> Waiting | None:
    """A queued file from its name, or None for anything else (a temporary file, a stranger)."""
    parts = path.name.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    media = _MEDIA.get(parts[3])
    if media is None or parts[1] not in ("traces", "logs"):
        return None
    try:
        size = path.stat().st_size
    except OSError as exc:  # a dangling link, say: left where it is, and said
        log.warning("the forwarding queue's %s cannot be read (%s); it is not sent",
                    path, exc.strerror)
        return None
    return Waiting(path, parts[1], media, int(parts[2]), size)


class Spool:
    """The queue of one target. Thread-safe: receiver threads ``put``, the sender ``take``s."""

    def __init__(self, directory: Path, *, limit_bytes: int = DEFAULT_SPOOL_BYTES) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.limit_bytes = limit_bytes
        self._lock = threading.Lock()
        for leftover in directory.glob("*.tmp"):  # a write cut short: never acknowledged
            leftover.unlink(missing_ok=True)
        found = sorted(
            (w for w in map(_parse, directory.iterdir()) if w is not None),
            key=lambda w: w.path.name,
        )
        self._waiting: deque[Waiting] = deque(found)
        last = int(found[-1].path.name.split(".")[0]) if found else 0
        self._numbers = itertools.count(last + 1)
        self.queued_bytes = sum(w.size for w in found)
        self.queued_records = sum(w.records for w in found)
        self.dropped_records = 0
        self.has_work = threading.Event()
        if found:
            self.has_work.set()

    def put(self, signal: str, media: str, body: bytes, records: int) -> bool:
        """Queue one request's body; False (and counted as dropped) when it would pass the bound."""
        return self.confirm(self.stage(signal, media, body), records)

    def stage(self, signal: str, media: str, body: bytes) -> Staged:
        """Write a body under a temporary name, its bytes held against the bound; raises
        ``OSError`` (nothing held) when it cannot be written."""
        with self._lock:
            if self.queued_bytes + len(body) > self.limit_bytes:
                return Staged(0, signal, media, len(body), None)
            self.queued_bytes += len(body)  # held before writing, so parallel puts keep the bound
            number = next(self._numbers)
        temporary = self.directory / f"{number:012d}.{signal}.{_SUFFIX.get(media, 'json')}.tmp"
        try:
            temporary.write_bytes(body)
        except OSError:
            with self._lock:
                self.queued_bytes -= len(body)
            temporary.unlink(missing_ok=True)
            raise
        return Staged(number, signal, media, len(body), temporary)

    def confirm(self, staged: Staged, records: int) -> bool:
        """Queue a staged body of ``records`` records (stored and about to be acknowledged);
        False (and counted as dropped) when it was past the bound."""
        if staged.temporary is None:
            with self._lock:
                self.dropped_records += records
            return False
        name = f"{staged.number:012d}.{staged.signal}.{records}.{_SUFFIX.get(staged.media, 'json')}"
        path = self.directory / name
        try:
            os.replace(staged.temporary, path)
        except OSError:
            self.discard(staged)
            with self._lock:
                self.dropped_records += records
            raise
        with self._lock:
            self._insert(Waiting(path, staged.signal, staged.media, records, staged.size))
            self.queued_records += records
        self.has_work.set()
        return True

    def discard(self, staged: Staged) -> None:
        """Forget a staged body whose records were not stored (the request is refused)."""
        if staged.temporary is None:
            return
        staged.temporary.unlink(missing_ok=True)
        with self._lock:
            self.queued_bytes -= staged.size

    def _insert(self, waiting: Waiting) -> None:
        """In number order: parallel puts may finish writing out of order."""
        if not self._waiting or self._waiting[-1].path.name < waiting.path.name:
            self._waiting.append(waiting)
            return
        index = len(self._waiting)
        while index and self._waiting[index - 1].path.name > waiting.path.name:
            index -= 1
        self._waiting.insert(index, waiting)

    def take(self, max_bytes: int = DEFAULT_BATCH_BYTES) -> Batch | None:
        """The oldest waiting request, joined with the protobuf ones after it of the same signal
        up to ``max_bytes``; None when nothing waits. Nothing leaves the queue until ``done``."""
        with self._lock:
            if not self._waiting:
                self.has_work.clear()
                return None
            first = self._waiting[0]
            files, size = [first], first.size
            if first.media == PROTOBUF:
                for waiting in itertools.islice(self._waiting, 1, None):
                    same = (waiting.signal, waiting.media) == (first.signal, first.media)
                    if not same or size + waiting.size > max_bytes:
                        break
                    files.append(waiting)
                    size += waiting.size
        return Batch(first.signal, first.media, sum(w.records for w in files), tuple(files))

    def done(self, batch: Batch) -> None:
        """Remove a batch the target took (or refused for good)."""
        with self._lock:
            for waiting in batch.files:
                self._waiting.remove(waiting)
                self.queued_bytes -= waiting.size
                self.queued_records -= waiting.records
        for waiting in batch.files:
            waiting.path.unlink(missing_ok=True)
