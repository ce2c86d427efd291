"""Forwarding what the receiver accepts to other OTLP/HTTP endpoints, unchanged.

The receiver calls ``begin`` with each request's body as it starts storing its records: the body
is written to each target's queue on disk (``spool``) on the forwarder's own threads while the
store commits, and the receiver ``confirm``s it once the records are stored, before acknowledging
(or ``discard``s it when they were not). So an acknowledged request reaches every target
eventually, even across a restart, and the file write adds almost nothing to the answer: it ran
beside the commit instead of after it. Each target is sent to on a thread of its own (``sender``).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from lumos_studio.forward.sender import TargetSender
from lumos_studio.forward.spool import DEFAULT_SPOOL_BYTES, Spool, Staged
from lumos_studio.forward.target import ForwardTarget


@dataclass(frozen=True, slots=True)
class ForwardStatus:
    """One target's state, for status lines and the studio's header."""

    label: str
    queued_records: int
    queued_bytes: int
    sent_records: int
    dropped_records: int  # the queue was full
    refused_records: int  # the target refused them for good
    problem: str | None

    def brief(self) -> str:
        """For the studio's header: where it goes, and what is wrong if anything is."""
        text = f"→ {self.label}"
        if self.problem and self.queued_records:
            text += f" ⚠ {self.queued_records:,} waiting: {self.problem}"
        if self.dropped_records:
            text += f" ⚠ {self.dropped_records:,} dropped (queue full)"
        return text

    def line(self) -> str:
        text = f"→ {self.label}: {self.sent_records:,} sent"
        if self.queued_records:
            text += f", {self.queued_records:,} queued ({_megabytes(self.queued_bytes)})"
        if self.dropped_records:
            text += f", {self.dropped_records:,} dropped (queue full)"
        if self.refused_records:
            text += f", {self.refused_records:,} refused"
        if self.problem:
            text += f" · {self.problem}"
        return text


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"


def spool_dir_beside(db: Path) -> Path:
    """Where the queues of a studio using ``db`` live: beside it, one file per target."""
    return db.parent / f"{db.name}-forward"


class PendingRequest:
    """One request's body being written to every target's queue while its records are stored."""

    def __init__(self, writes: list[tuple[Spool, Future[Staged]]]) -> None:
        self._writes = writes

    def confirm(self, records: int) -> None:
        """The records are stored: queue the body for every target (waits for its writes).
        Raises ``OSError`` when a target's queue could not be written."""
        failure: OSError | None = None
        for spool, write in self._writes:
            try:
                spool.confirm(write.result(), records)
            except OSError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def discard(self) -> None:
        """The records were not stored: nothing is forwarded."""
        for spool, write in self._writes:
            with suppress(OSError):  # its write failed: nothing was written
                spool.discard(write.result())


class Forwarder:
    """Queues and sends every accepted request to each target."""

    def __init__(self, targets: Sequence[ForwardTarget], spool_dir: Path, *,
                 limit_bytes: int = DEFAULT_SPOOL_BYTES) -> None:
        self.senders = [
            TargetSender(target, Spool(spool_dir / target.spool_name, limit_bytes=limit_bytes))
            for target in targets
        ]
        # Writes bodies to the queues beside the receiver's commits; a write waits in the
        # kernel (the GIL released), so two threads keep up with any number of receivers.
        self._writers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lumos-forward-spool")

    def start(self) -> Forwarder:
        for sender in self.senders:
            sender.start()
        return self

    def stop(self) -> None:
        self._writers.shutdown(wait=True)
        for sender in self.senders:
            sender.stop()

    def begin(self, signal: str, media: str, body: bytes) -> PendingRequest:
        """Start writing a request's body to every target's queue; ``confirm`` it once its
        records are stored, or ``discard`` it."""
        return PendingRequest([
            (sender.spool, self._writers.submit(sender.spool.stage, signal, media, body))
            for sender in self.senders
        ])

    def accept(self, signal: str, media: str, body: bytes, records: int) -> None:
        """Queue one request the receiver stored (``records`` spans or logs in it)."""
        self.begin(signal, media, body).confirm(records)

    def statuses(self) -> list[ForwardStatus]:
        return [
            ForwardStatus(
                sender.target.label, sender.spool.queued_records, sender.spool.queued_bytes,
                sender.sent_records, sender.spool.dropped_records, sender.refused_records,
                sender.problem,
            )
            for sender in self.senders
        ]

    def status_line(self) -> str:
        return " · ".join(status.line() for status in self.statuses())

    def drained(self) -> bool:
        return all(sender.drained() for sender in self.senders)
