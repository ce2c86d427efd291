"""Sending one target's queue: oldest first, retried the way OTLP asks, never lost on the way.

OTLP/HTTP's rules (specification, "Failures"): 429, 502, 503 and 504 are retryable, honouring a
``Retry-After`` in seconds; any other refusal is final (the data is bad for that target, and
sending it again cannot help), so it is dropped and counted. A target that cannot be reached is
retried with exponential backoff and jitter, for as long as it takes: the queue on disk holds
what arrives meanwhile.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from enum import Enum

from lumos_studio.forward.spool import Batch, Spool
from lumos_studio.forward.target import ForwardTarget
from lumos_studio.forward.transport import Reply, Transport, Unreachable, transport_for

log = logging.getLogger(__name__)

RETRYABLE = frozenset({429, 502, 503, 504})
FIRST_DELAY, MAX_DELAY = 0.5, 30.0
_IDLE_POLL = 0.5


class Outcome(Enum):
    SENT = "sent"
    REFUSED = "refused"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt came to, and how long to wait before the next one (for ``RETRY``)."""

    outcome: Outcome
    problem: str | None = None
    retry_after: float | None = None


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before retry number ``attempt`` (1, 2, …): the target's ``Retry-After`` when it
    gave one (capped), else doubling from ``FIRST_DELAY`` with ±20 % jitter."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_DELAY)
    delay: float = min(FIRST_DELAY * 2 ** (attempt - 1), MAX_DELAY)
    return delay * random.uniform(0.8, 1.2)


def _retry_after(reply: Reply) -> float | None:
    value = reply.retry_after.strip()
    try:
        return float(value) if value else None
    except ValueError:  # an HTTP date: rare from collectors; back off as usual
        return None


def answer_of(reply: Reply) -> Answer:
    """How the target's answer classifies under OTLP's rules."""
    status = reply.status
    if 200 <= status < 300:
        return Answer(Outcome.SENT)
    reason = f"HTTP {status}"
    if status in RETRYABLE:
        return Answer(Outcome.RETRY, reason, _retry_after(reply))
    return Answer(Outcome.REFUSED, f"{reason}: {reply.text}")


class TargetSender:
    """Drains one ``Spool`` into one ``ForwardTarget`` on a thread of its own."""

    def __init__(self, target: ForwardTarget, spool: Spool, *,
                 transport: Transport | None = None) -> None:
        self.target = target
        self.spool = spool
        self._transport = transport or transport_for(target.base_url)
        self.sent_records = 0
        self.refused_records = 0
        self.problem: str | None = None  # the last failure, until a send succeeds
        self.retrying_since: float | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> TargetSender:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"lumos-forward-{self.target.label}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the request in flight; what is still queued stays on disk for next time."""
        self._stopping.set()
        self.spool.has_work.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._transport.close()

    def drained(self) -> bool:
        """Nothing waits to be sent."""
        return self.spool.queued_records == 0

    def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            batch = self.spool.take()
            if batch is None:
                self.spool.has_work.wait(_IDLE_POLL)
                continue
            answer = self._send(batch)
            if answer.outcome is Outcome.RETRY:
                attempt += 1
                self.problem = answer.problem
                if self.retrying_since is None:
                    self.retrying_since = time.monotonic()
                self._stopping.wait(backoff(attempt, answer.retry_after))
                continue
            attempt, self.retrying_since = 0, None
            self.spool.done(batch)
            if answer.outcome is Outcome.SENT:
                self.sent_records += batch.records
                self.problem = None
            else:
                self.refused_records += batch.records
                self.problem = answer.problem
                log.warning("%s refused %d forwarded %s (%s); they were dropped",
                            self.target.label, batch.records, batch.signal, answer.problem)

    def _send(self, batch: Batch) -> Answer:
        headers = {**self.target.headers.get(batch.signal, {}), "Content-Type": batch.media}
        try:
            reply = self._transport.post(self.target.url(batch.signal), headers, batch)
        except Unreachable as exc:
            return Answer(Outcome.RETRY, str(exc))
        except FileNotFoundError:  # removed from the queue by hand: nothing left to send
            return Answer(Outcome.REFUSED, "its queued file was gone from disk")
        except OSError as exc:  # a queued file that cannot be read: it never will be
            return Answer(Outcome.REFUSED, f"its queued file could not be read ({exc.strerror})")
        return answer_of(reply)
