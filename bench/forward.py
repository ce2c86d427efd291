"""Forwarding (``serve --forward URL``): what it costs the sender's acknowledgements, how fast the
team's collector gets everything, and that an outage of the collector loses nothing.

"local", a ``lumos-studio serve`` process, receives the load (the ingest bench's GenAI spans, 500
a request, 4 keep-alive clients). For the cost and the throughput it forwards to a sink that
keeps nothing (``bench/otlp_sink.py``, as a collector with a no-op exporter): a second store on
this machine's two cores would bill local for team's work. Rounds with forwarding off and on
alternate; each figure is the median. The outage round forwards to "team", a second ``serve``
with its own store, kills it (SIGKILL) once a third of the load is acknowledged and starts it
again on the same port at two thirds; every span must reach team's store.

"after the commit" isolates what forwarding itself adds to an answer, which the end-to-end figure
mixes with the sender's and the sink's CPU on a shared machine: in this process, a receiver and
store take one request at a time, and the time from the records' commit to the answer is what
``confirm`` takes (the body was written to the queue beside the commit; only a rename is left).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from bench import check
from bench.ingest import (
    BATCH_SPANS,
    CLIENTS,
    Served,
    encoded_batches,
    send_all,
    start_serve,
    wait_until_queryable,
)
from lumos_studio.forward import Forwarder, parse_target
from lumos_studio.forward.forwarder import PendingRequest

TARGET_FORWARDED_SPANS_PER_SECOND = 30_000  # keeps pace with the durable-ingest target
TARGET_ADDED_ACK_MS = 5.0  # median acknowledgement, forwarding on minus off
TARGET_LOST = 0
TARGET_AFTER_COMMIT_MS = 1.0  # a rename and a wait already over, not a 1.6 MB write
AFTER_COMMIT_REQUESTS = 30
ROUNDS = 3
REQUESTS = 100  # 50,000 spans
SEND_SECONDS = 300.0  # every request is sent: the figures are of the whole load


@dataclass(frozen=True)
class Round:
    ack_ms: float  # median acknowledgement
    ack_rate: float  # spans/s acknowledged by local
    forwarded_rate: float  # spans/s from the first send until all are in team's store
    lag: float  # s from the last acknowledgement until all are in team's store
    lost: int


class Sink:
    """``bench.otlp_sink`` in a process of its own."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bench.otlp_sink"],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.endpoint = self.process.stdout.readline().strip()

    def received(self) -> int:
        return int(httpx.get(f"{self.endpoint}/received", timeout=10).text)

    def wait_for(self, size: int, timeout: float = 120) -> float:
        deadline = time.perf_counter() + timeout
        while self.received() < size and time.perf_counter() < deadline:
            time.sleep(0.005)
        return time.perf_counter()

    def stop(self) -> None:
        self.process.kill()
        self.process.communicate(timeout=30)


def steady_round(tmp: Path, bodies: list[bytes], forwarding: bool, number: int) -> Round:
    os.sync()
    sink = Sink()
    local = start_serve(tmp / f"local-{number}.db",
                        *(["--forward", sink.endpoint] if forwarding else []))
    try:
        load = send_all(local.endpoint, bodies, SEND_SECONDS)
        acked = load.spans
        size = sum(len(body) for body in bodies)
        arrived = sink.wait_for(size) if forwarding else load.last_ack
        lost = (size - sink.received()) // max(len(bodies[0]) // BATCH_SPANS, 1)
    finally:
        local.stop()
        sink.stop()
    return Round(
        statistics.median(load.latencies) * 1e3,
        acked / (load.last_ack - load.first_send),
        acked / (arrived - load.first_send),
        arrived - load.last_ack,
        lost if forwarding else 0,
    )


def outage_round(tmp: Path, bodies: list[bytes]) -> tuple[int, float]:
    """Spans lost when team goes down at a third of the load and comes back at two thirds, and
    the seconds after the last acknowledgement until team has everything."""
    team_db = tmp / "team-outage.db"
    team: list[Served] = [start_serve(team_db)]
    port = int(team[0].endpoint.rsplit(":", 1)[1])
    local = start_serve(tmp / "local-outage.db", "--forward", team[0].endpoint)
    third = len(bodies) // 3

    def on_ack(acked: int) -> None:
        if acked == third:
            team[0].kill()
        elif acked == 2 * third:
            team[0] = start_serve(team_db, port=port)

    try:
        load = send_all(local.endpoint, bodies, SEND_SECONDS, on_ack)
        arrived = wait_until_queryable(team_db, load.spans, timeout=180)
    finally:
        local.stop()
        team[0].stop()
    return len(bodies) * BATCH_SPANS - _count(team_db), arrived - load.last_ack


def _count(db: Path) -> int:
    import sqlite3

    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        count: int = connection.execute("SELECT count(*) FROM spans").fetchone()[0]
        return count
    finally:
        connection.close()


class _TimedForward:
    """The forwarder as the receiver sees it, timing each ``confirm`` (commit → answer)."""

    def __init__(self, forwarder: Forwarder) -> None:
        self.forwarder = forwarder
        self.seconds: list[float] = []

    def begin(self, signal: str, media: str, body: bytes) -> _TimedPending:
        return _TimedPending(self.forwarder.begin(signal, media, body), self.seconds)


class _TimedPending:
    def __init__(self, pending: PendingRequest, seconds: list[float]) -> None:
        self.pending, self.seconds = pending, seconds

    def confirm(self, records: int) -> None:
        start = time.perf_counter()
        self.pending.confirm(records)
        self.seconds.append(time.perf_counter() - start)

    def discard(self) -> None:
        self.pending.discard()


def after_commit_ms(tmp: Path, bodies: list[bytes]) -> float:
    """Median ms forwarding adds between a request's commit and its answer (one at a time)."""
    from lumos_studio.ingest.otlp_http import OtlpReceiver
    from lumos_studio.store import Store

    forwarder = Forwarder([parse_target("http://127.0.0.1:9")], tmp / "after-commit-spool")
    timed = _TimedForward(forwarder)  # the target is never reached: only the queue is timed
    try:
        with Store(tmp / "after-commit.db") as store:
            receiver = OtlpReceiver(store.writer, port=0, forward=timed).start()
            try:
                with httpx.Client(timeout=60) as client:
                    for body in bodies[:AFTER_COMMIT_REQUESTS]:
                        client.post(f"{receiver.endpoint}/v1/traces", content=body,
                                    headers={"Content-Type": "application/x-protobuf"})
            finally:
                receiver.stop()
    finally:
        forwarder.stop()
    return statistics.median(timed.seconds[len(timed.seconds) // 5:]) * 1e3  # warm


def main(console: Console) -> None:
    bodies, bytes_per_span = encoded_batches(REQUESTS)
    console.print(f"load: {REQUESTS} requests × {BATCH_SPANS} spans (~{bytes_per_span:,} B a span)"
                  f" from {CLIENTS} clients into serve, forwarding to a sink (the outage round: "
                  f"to a second serve); {ROUNDS} rounds each")
    with tempfile.TemporaryDirectory(prefix="lumos-bench-forward-") as tmp_name:
        tmp = Path(tmp_name)
        plain, forwarded = [], []
        for number in range(ROUNDS):  # interleaved, so both see the same machine
            plain.append(steady_round(tmp, bodies, False, 2 * number))
            forwarded.append(steady_round(tmp, bodies, True, 2 * number + 1))
        lost, catch_up = outage_round(tmp, bodies)
        after_commit = after_commit_ms(tmp, bodies)

    def median(rounds: list[Round], pick: Callable[[Round], float]) -> float:
        return statistics.median(pick(r) for r in rounds)

    added = median(forwarded, lambda r: r.ack_ms) - median(plain, lambda r: r.ack_ms)
    rate = median(forwarded, lambda r: r.forwarded_rate)
    table = Table(title="serve --forward: the sender's acknowledgements, the collector's intake",
                  title_justify="left", title_style="bold")
    for column in ("figure", "forwarding off", "forwarding on", "target", ""):
        table.add_column(column, justify="left" if column == "figure" else "right")
    table.add_row("acknowledged spans/s", f"{median(plain, lambda r: r.ack_rate):,.0f}",
                  f"{median(forwarded, lambda r: r.ack_rate):,.0f}", "", "")
    table.add_row("median acknowledgement", f"{median(plain, lambda r: r.ack_ms):.1f} ms",
                  f"{median(forwarded, lambda r: r.ack_ms):.1f} ms",
                  f"+≤ {TARGET_ADDED_ACK_MS:g} ms",
                  check("forward: added median ack", added, TARGET_ADDED_ACK_MS))
    table.add_row("  … of which after the store's commit (in process)", "",
                  f"{after_commit:.2f} ms", f"≤ {TARGET_AFTER_COMMIT_MS:g} ms",
                  check("forward: ack time after the commit", after_commit,
                        TARGET_AFTER_COMMIT_MS))
    table.add_row("forwarded to the collector, spans/s", "", f"{rate:,.0f}",
                  f"≥ {TARGET_FORWARDED_SPANS_PER_SECOND:,}",
                  check("forward: spans/s to the collector", rate,
                        TARGET_FORWARDED_SPANS_PER_SECOND, "spans/s", higher_is_better=True))
    table.add_row("  … after the last acknowledgement", "",
                  f"{median(forwarded, lambda r: r.lag):.2f} s", "", "")
    table.add_row("collector down for a third of the load: spans lost", "", f"{lost:,}",
                  f"{TARGET_LOST}", check("forward: spans lost to an outage", lost, TARGET_LOST,
                                          "spans"))
    table.add_row("  … all in the team's store after the last ack", "", f"{catch_up:.2f} s",
                  "", "")
    console.print(table)


if __name__ == "__main__":
    main(Console())
