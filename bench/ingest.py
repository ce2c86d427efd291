"""Ingest: realistic GenAI spans over OTLP/HTTP protobuf into ``lumos-studio serve``, and the cost
of the in-process span processor on the agent's thread.

The receiver runs as ``lumos-studio serve`` in a subprocess (its peak RSS is read from /proc);
4 client threads post pre-encoded 500-span ``ExportTraceServiceRequest`` bodies over keep-alive
connections, as the OTel exporter does. The clients share the machine's cores with the receiver,
so the figures are a floor for what a receiver on its own cores would do. "Durable" counts spans
committed and visible to a fresh read-only connection, as any pane would see them.
The load runs three times, each against a fresh ``serve`` after an ``os.sync()``; the table
shows the median round and every round's rate, since this machine's disk and CPU vary.
Then the same load as one live trace of 100,000 spans and as 25 concurrent live runs of 4,000
(``SHAPES``), three rounds each, interleaved, held to the same targets: what
``store/trace_refresh.py`` bounds.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from rich.console import Console
from rich.table import Table

from bench import check, python_loop_ms, usable_cpus
from bench.ingest_after import (
    DiskUse,
    References,
    cpu_until_idle,
    disk_use,
    references,
    wait_until_searchable,
)
from bench.ingest_processor import print_processor_cost
from bench.ingest_stages import stage_costs
from lumos_core.telemetry import semconv as sc
from lumos_studio.otlp.proto_encode import encode_trace_request_proto
from lumos_studio.records import SpanEvent, SpanRecord
from lumos_studio.store import StoreReader

TARGET_DURABLE_SPANS_PER_SECOND = 30_000
TARGET_SEARCHABLE_SECONDS = 1.0  # after the last acknowledgement
TARGET_CPU_MS_PER_1K = 60.0  # the receiver's CPU in all, text indexing included
TARGET_BYTES_PER_SPAN = 2_500  # database + WAL after a checkpoint
TARGET_PEAK_RSS_MB = 150

CLIENTS = 4
BATCH_SPANS = 500
SPANS_PER_TRACE = 20
LIVE_RUNS = 25  # the load spread over this many concurrent live traces, 4,000 spans each
TOTAL_SPANS = 100_000
MAX_SECONDS = 15.0
LOAD_ROUNDS = 3  # the disk and CPU of this machine vary run to run: report the median

_TEXT = (
    "the agent calls a tool to look up the weather in paris then answers the user with a short "
    "summary of the forecast and cites the retrieved documents about rain wind and temperature"
)
_WORDS = _TEXT.split(" ")


# ------------------------------------------------------------------------------- the load


def _text(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


def _messages(rng: random.Random, role: str) -> str:
    """A GenAI messages attribute (JSON, role + parts) of 1.0–1.3 KB."""
    content = _text(rng, rng.randint(1_000, 1_250))
    return orjson.dumps([{"role": role, "parts": [{"type": "text", "content": content}]}]).decode()


def _span(
    rng: random.Random, trace_id: str, number: int, parent: int | None, operation: str, start: int
) -> SpanRecord:
    target = {
        "invoke_workflow": "triage",
        "invoke_agent": "researcher",
        "chat": "gpt-4o-mini",
        "execute_tool": "search_docs",
        "retrieval": "docs-index",
    }[operation]
    attributes: dict[str, object] = {
        sc.OPERATION_NAME: operation,
        sc.PROVIDER_NAME: "openai",
        sc.REQUEST_MODEL: "gpt-4o-mini",
        sc.RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        sc.AGENT_NAME: "researcher",
        sc.CONVERSATION_ID: f"conv-{trace_id[:12]}",
        sc.REQUEST_TEMPERATURE: 0.2,
        sc.REQUEST_MAX_TOKENS: 1_024,
        sc.RESPONSE_ID: f"chatcmpl-{number:08x}",
        sc.RESPONSE_FINISH_REASONS: ["stop"],
        sc.USAGE_INPUT_TOKENS: rng.randint(200, 3_000),
        sc.USAGE_OUTPUT_TOKENS: rng.randint(20, 600),
        sc.SERVER_ADDRESS: "api.openai.com",
        sc.SERVER_PORT: 443,
        sc.INPUT_MESSAGES: _messages(rng, "user"),
        sc.OUTPUT_MESSAGES: _messages(rng, "assistant"),
    }
    if operation == "execute_tool":
        attributes[sc.TOOL_NAME] = target
        attributes[sc.TOOL_CALL_ID] = f"call_{number}"
    for extra in range(rng.randint(0, 7)):  # 16–25 attributes in all
        attributes[f"app.detail.{extra}"] = rng.choice(_WORDS)
    events = tuple(
        SpanEvent(f"gen_ai.step.{n}", start + n * 1_000, {"index": n, "note": _text(rng, 30)})
        for n in range(rng.randint(2, 3))
    )
    return SpanRecord(
        trace_id=trace_id,
        span_id=f"{number + 1:016x}",
        parent_span_id=None if parent is None else f"{parent + 1:016x}",
        name=sc.span_name(operation, target),
        start_ns=start,
        end_ns=start + rng.randint(1, 900) * 1_000_000,
        kind="CLIENT" if operation == "chat" else "INTERNAL",
        status_code="ERROR" if rng.random() < 0.02 else "OK",
        attributes=attributes,
        events=events,
        resource={
            "service.name": "bench-agents",
            "telemetry.sdk.language": "python",
            "service.version": "1.4.2",
            "host.name": "bench",
        },
        scope_name="lumos_core",
        scope_version="0.1.0",
    )


def genai_trace(rng: random.Random, trace_id: str, start: int) -> list[SpanRecord]:
    """A workflow → agents → chats/tools → retrievals tree: depth 4, ``SPANS_PER_TRACE`` spans."""
    spans: list[SpanRecord] = []

    def add(parent: int | None, operation: str) -> int:
        number = len(spans)
        spans.append(_span(rng, trace_id, number, parent, operation, start + number * 1_000_000))
        return number

    root = add(None, "invoke_workflow")
    add(root, "chat")
    for _ in range(2):
        agent = add(root, "invoke_agent")
        for _ in range(4):
            add(agent, "chat")
        for _ in range(2):
            tool = add(agent, "execute_tool")
            add(tool, "retrieval")
    assert len(spans) == SPANS_PER_TRACE
    return spans


def encoded_batches(count: int, seed: int = 7) -> tuple[list[bytes], int]:
    """``count`` request bodies of ``BATCH_SPANS`` spans with fresh trace ids, and bytes/span.

    One template is built from records, then only the trace ids change per batch, so encoding
    100k spans takes a second, not a minute, and nothing is re-sent with the same ids.
    """
    rng = random.Random(seed)
    start = time.time_ns()
    template_spans = [
        span
        for t in range(BATCH_SPANS // SPANS_PER_TRACE)
        for span in genai_trace(rng, f"{t + 1:032x}", start)
    ]
    template = ExportTraceServiceRequest.FromString(encode_trace_request_proto(template_spans))
    spans = template.resource_spans[0].scope_spans[0].spans
    last_chat = max(i for i, span in enumerate(spans) if span.name.startswith("chat"))
    marked = next(a for a in spans[last_chat].attributes if a.key == sc.OUTPUT_MESSAGES)
    bodies = []
    for batch in range(count):
        prefix = rng.getrandbits(64).to_bytes(8, "big") + batch.to_bytes(4, "big")
        for index, span in enumerate(spans):
            span.trace_id = prefix + (index // SPANS_PER_TRACE).to_bytes(4, "big")
        marked.value.string_value = orjson.dumps([{"role": "assistant", "parts": [
            {"type": "text", "content": f"{_TEXT} {batch_word(batch)}"}]}]).decode()
        bodies.append(template.SerializeToString())
    return bodies, len(bodies[0]) // BATCH_SPANS


def one_trace(bodies: list[bytes]) -> list[bytes]:
    """The same requests with every span in one trace: a live run of 100,000 spans (an eval
    loop, a long session), each request adding 500 to it."""
    return live_runs(bodies, 1)


def live_runs(bodies: list[bytes], runs: int) -> list[bytes]:
    """The same requests with their spans in ``runs`` concurrent live traces (an eval of many
    long runs at once), their spans interleaved: each request's traces go to the next of them
    in turn. Span ids get the request's number, so none replaces another; parents follow."""
    moved = []
    for number, body in enumerate(bodies, start=1):
        request = ExportTraceServiceRequest.FromString(body)
        spans = [span for resource in request.resource_spans for scope in resource.scope_spans
                 for span in scope.spans]
        new_ids = {(span.trace_id, span.span_id): number.to_bytes(4, "big") + i.to_bytes(4, "big")
                   for i, span in enumerate(spans)}
        traces = list(dict.fromkeys(span.trace_id for span in spans))
        run_of = {trace_id: ((number - 1) * len(traces) + k) % runs
                  for k, trace_id in enumerate(traces)}
        for span in spans:
            if span.parent_span_id:
                span.parent_span_id = new_ids[(span.trace_id, span.parent_span_id)]
            span.span_id = new_ids[(span.trace_id, span.span_id)]
            span.trace_id = bytes.fromhex("7e" * 12) + run_of[span.trace_id].to_bytes(4, "big")
        moved.append(request.SerializeToString())
    return moved


ONE_TRACE = "one live trace of the whole load"
# The same requests in other shapes, each held to the same targets: what
# ``store/trace_refresh.py`` bounds (a huge live trace's summary row, many live runs at once).
SHAPES: dict[str, Callable[[list[bytes]], list[bytes]]] = {
    ONE_TRACE: one_trace,
    f"{LIVE_RUNS} concurrent live runs": lambda bodies: live_runs(bodies, LIVE_RUNS),
}


def batch_word(batch: int) -> str:
    """A word only request ``batch`` holds (in its last chat's answer): found, it is searchable."""
    return f"qzbatch{batch:05d}"


# ----------------------------------------------------------------------------- the receiver


@dataclass
class Served:
    process: subprocess.Popen[str]
    endpoint: str

    def peak_rss_mb(self) -> float:
        return _proc_status_kb(self.process.pid, "VmHWM") / 1024

    def rss_mb(self) -> float:
        return _proc_status_kb(self.process.pid, "VmRSS") / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU the receiver process has used (all its threads)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> str:
        """Ctrl-C, as in a terminal; ``serve``'s last line (what it stored)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        _, stderr = self.process.communicate(timeout=60)
        return stderr.strip().splitlines()[-1] if stderr.strip() else ""

    def kill(self) -> None:
        """SIGKILL: the process goes down as a crashed collector would."""
        self.process.kill()
        self.process.communicate(timeout=60)


def _proc_status_kb(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_serve(db: Path | str, *options: str, port: int = 0) -> Served:
    """``lumos-studio serve`` on ``db`` in a process of its own (``options``: serve's, such as
    ``--forward URL``), once it says where it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lumos_studio", "--db", str(db), "serve", "--otlp-port", str(port),
         *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal, even when the bench runs as a background job (which ignores
        # SIGINT, and children inherit that: ``stop`` then waited for a minute and failed).
        preexec_fn=_default_sigint,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("OTEL_EXPORTER_OTLP_ENDPOINT="):
            return Served(process, line.strip().split("=", 1)[1])
    raise RuntimeError(f"serve did not start: {process.stderr.read() if process.stderr else ''}")


@dataclass
class Sent:
    spans: int = 0
    retries: int = 0
    failures: int = 0
    first_send: float = 0.0
    last_ack: float = 0.0
    acked: list[tuple[float, int]] = field(default_factory=list)  # (when, body index)
    latencies: list[float] = field(default_factory=list)  # each answer's, from its last try


def send_all(endpoint: str, bodies: list[bytes], seconds: float,
             on_ack: Callable[[int], None] | None = None) -> Sent:
    """``CLIENTS`` threads post the bodies until done or ``seconds`` have passed, retrying 503s;
    ``on_ack`` is told how many are acknowledged so far after each one (on a client's thread)."""
    sent = Sent(first_send=time.perf_counter())
    deadline = sent.first_send + seconds
    lock = threading.Lock()
    next_body = iter(enumerate(bodies))

    def client() -> None:
        with httpx.Client(timeout=60) as http:
            while time.perf_counter() < deadline:
                with lock:
                    number, body = next(next_body, (-1, None))
                if body is None:
                    return
                while True:
                    started = time.perf_counter()
                    answer = http.post(
                        f"{endpoint}/v1/traces",
                        content=body,
                        headers={"Content-Type": "application/x-protobuf"},
                    )
                    if answer.status_code != 503:
                        break
                    with lock:
                        sent.retries += 1
                    time.sleep(float(answer.headers.get("retry-after", "1")))
                acked = time.perf_counter()
                with lock:
                    sent.latencies.append(acked - started)
                    if answer.status_code == 200:
                        sent.spans += BATCH_SPANS
                        sent.last_ack = max(sent.last_ack, acked)
                        sent.acked.append((acked, number))
                        count = len(sent.acked)
                    else:
                        sent.failures += 1
                if answer.status_code == 200 and on_ack is not None:
                    on_ack(count)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent


@dataclass
class LoadRound:
    """One run of the load against a fresh ``serve`` and store."""

    db: Path
    sent: Sent
    queryable: float
    searchable: float | None  # the last requests' words found by the trace search
    all_searchable: float | None  # then the first requests' words too: the whole load
    receiver_cpu: float  # until queryable
    receiver_cpu_total: float  # until the receiver is idle again (text indexed, checkpoints)
    client_cpu: float
    idle_rss: float
    peak_rss: float
    summary: str
    loop_ms: float  # ``python_loop_ms`` just before: the machine's speed for this round
    disk: DiskUse

    @property
    def durable_rate(self) -> float:
        seconds = self.queryable - self.sent.first_send
        return self.sent.spans / seconds if seconds else 0.0

    @property
    def searchable_lag(self) -> float:
        """Seconds from the last acknowledgement until searchable (inf if never)."""
        return float("inf") if self.searchable is None else self.searchable - self.sent.last_ack

    @property
    def all_searchable_lag(self) -> float:
        """Seconds from the last acknowledgement until the whole load is searchable."""
        if self.all_searchable is None:
            return float("inf")
        return self.all_searchable - self.sent.last_ack

    @property
    def cpu_ms_per_1k(self) -> float:
        return self.receiver_cpu_total / max(self.sent.spans, 1) * 1e6


def load_round(db: Path, bodies: list[bytes]) -> LoadRound:
    """Send the load to a fresh ``serve``; the previous round's file is flushed to disk first,
    so one round's write-back does not slow the next (this machine's disk varies a lot)."""
    os.sync()
    loop_ms = python_loop_ms()
    served = start_serve(db)
    try:
        idle_rss = served.rss_mb()
        cpu_before = served.cpu_seconds()
        client_cpu = time.process_time()
        sent = send_all(served.endpoint, bodies, MAX_SECONDS)
        queryable = wait_until_queryable(db, sent.spans)
        receiver_cpu = served.cpu_seconds() - cpu_before
        client_cpu = time.process_time() - client_cpu
        last = sorted(sent.acked)[-CLIENTS:]  # the last request each client had answered
        searchable = wait_until_searchable(db, [batch_word(n) for _, n in last])
        first = sorted(sent.acked)[:CLIENTS]  # indexed last: the newest text goes first
        all_searchable = wait_until_searchable(db, [batch_word(n) for _, n in first])
        receiver_cpu_total = cpu_until_idle(served.cpu_seconds) - cpu_before
        peak_rss = served.peak_rss_mb()
    finally:
        summary = served.stop()
    return LoadRound(
        db, sent, queryable, searchable, all_searchable, receiver_cpu, receiver_cpu_total,
        client_cpu, idle_rss, peak_rss, summary, loop_ms, disk_use(db),
    )


def wait_until_queryable(db: Path, spans: int, timeout: float = 120) -> float:
    """When a fresh read-only connection first counts ``spans`` finished spans."""
    deadline = time.perf_counter() + timeout
    while True:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            count = connection.execute(
                "SELECT count(*) FROM spans WHERE end_ns IS NOT NULL"
            ).fetchone()[0]
        finally:
            connection.close()
        now = time.perf_counter()
        if count >= spans or now > deadline:
            return now
        time.sleep(0.005)


# ------------------------------------------------------------------------------------ main


def main(console: Console) -> None:
    """Run the OTLP/HTTP load and the processor measurement; print the figures and targets."""
    batches = TOTAL_SPANS // BATCH_SPANS
    bodies, bytes_per_span = encoded_batches(batches)
    console.print(
        f"load: {batches} requests × {BATCH_SPANS} spans ({SPANS_PER_TRACE}-span traces, depth "
        f"4, 16–25 attributes, two ~1.1 KB messages, 2–3 events), ~{bytes_per_span:,} B a span "
        f"on the wire; {CLIENTS} keep-alive clients (httpx, protobuf, no compression); "
        f"stop after {TOTAL_SPANS:,} spans or {MAX_SECONDS:g} s"
    )
    with tempfile.TemporaryDirectory(prefix="lumos-bench-ingest-") as tmp:
        rounds = [load_round(Path(tmp) / f"ingest-{n}.db", bodies) for n in range(LOAD_ROUNDS)]
        shaped = {shape: shape_bodies(bodies) for shape, shape_bodies in SHAPES.items()}
        shape_rounds: dict[str, list[LoadRound]] = {shape: [] for shape in SHAPES}
        counted: list[int] = []  # the one live trace's summary row, once idle, each round
        for number in range(LOAD_ROUNDS):  # interleaved: each shape meets the same machine
            for shape, shape_load in shaped.items():
                done = load_round(Path(tmp) / f"{shape.replace(' ', '-')}-{number}.db",
                                  shape_load)
                shape_rounds[shape].append(done)
                if shape == ONE_TRACE:
                    counted.append(_largest_trace_count(done.db))
        del shaped
        os.sync()  # the rounds' write-back must not bill the stages (as between rounds)
        stages = stage_costs(bodies)
        physical = references(bodies, BATCH_SPANS)
        del bodies
        reader = StoreReader(rounds[0].db)
        traces_stored = reader.count_traces()
        sample = reader.list_traces(limit=1)
        sample_spans = len(reader.trace_spans(sample[0].trace_id)) if sample else 0
        reader.close()
    console.print(_load_table(rounds, physical))
    console.print(_shapes_table(shape_rounds))
    console.print(
        f"one live trace: its summary row (store/trace_refresh.py refreshes a huge live trace's "
        f"row at a bounded rate, not by every request) counts "
        f"{' · '.join(f'{n:,}' for n in counted)} spans once idle, of "
        f"{rounds[0].sent.spans:,} sent; {LIVE_RUNS} runs: the largest of a batch's traces are "
        "held too, one budget for all"
    )
    middle = sorted(rounds, key=lambda r: r.durable_rate)[len(rounds) // 2]
    console.print(f"traces stored: {traces_stored:,} (a sample trace: {sample_spans} spans); "
                  "the largest tables and indexes, bytes a span: " + " · ".join(
                      f"{name} {size / max(middle.sent.spans, 1):,.0f}"
                      for name, size in middle.disk.largest))
    console.print(f"[dim]serve said: {middle.summary}[/]")
    console.print(
        f"the receiver's stages alone, one at a time (bench/ingest_stages.py): decoding "
        f"[bold]{stages.decode:.1f}[/] µs of CPU a span, writing [bold]{stages.write:.1f}[/], "
        f"indexing its message text once idle [bold]{stages.index:.1f}[/] "
        "(under the load each takes 1.5–2x that: they share the two CPUs)"
    )
    os.sync()  # the stores just deleted may still be written back: not on the agent's bill
    print_processor_cost(console)


def _largest_trace_count(db: Path) -> int:
    """The span count the largest trace's summary row holds (the trace list's figure)."""
    reader = StoreReader(db)
    try:
        summaries = reader.list_traces(limit=1)
    finally:
        reader.close()
    return summaries[0].span_count if summaries else 0


def _shapes_table(shape_rounds: dict[str, list[LoadRound]]) -> Table:
    """The same load in the other shapes, each figure the median of its rounds."""
    table = Table(
        title=f"the same load in other shapes, {LOAD_ROUNDS} rounds each (interleaved)",
        title_justify="left", title_style="bold",
    )
    for column in ("shape", "figure", "median", "each round", "target", ""):
        table.add_column(column, justify="left" if column in ("shape", "figure") else "right")
    for shape, rounds in shape_rounds.items():
        figures: list[tuple[str, list[float], str, float, str, bool]] = [
            ("spans/s durable", [r.durable_rate for r in rounds], "{:,.0f}",
             TARGET_DURABLE_SPANS_PER_SECOND, "spans/s", True),
            ("last ack → searchable, s", [r.searchable_lag for r in rounds], "{:.2f}",
             TARGET_SEARCHABLE_SECONDS, "s", False),
            ("last ack → all of it searchable, s", [r.all_searchable_lag for r in rounds],
             "{:.2f}", TARGET_SEARCHABLE_SECONDS, "s", False),
            ("receiver CPU per 1k spans (ms)", [r.cpu_ms_per_1k for r in rounds], "{:.0f}",
             TARGET_CPU_MS_PER_1K, "ms", False),
        ]
        for number, (label, values, form, target, unit, higher) in enumerate(figures):
            median = statistics.median(values)
            table.add_row(
                shape if number == 0 else "", label, form.format(median),
                " · ".join(form.format(v) for v in values),
                ("≥ " if higher else "≤ ") + form.format(target),
                check(f"ingest: {shape}, {label}", median, target, unit, higher_is_better=higher),
            )
    return table


def _out_of_reach(past_target: bool) -> str:
    """Said beside a floor that is already past the target: no code reaches it here, now."""
    return " (past the target: out of reach on this machine now)" if past_target else ""


def _load_table(rounds: list[LoadRound], physical: References) -> Table:
    """Each figure the median of its rounds, the rounds beside it, and the physical reference."""
    table = Table(
        title=f"OTLP/HTTP protobuf → lumos-studio serve → SQLite, {LOAD_ROUNDS} rounds",
        title_justify="left", title_style="bold",
    )
    for column in ("figure", "median", "each round", "target", "", "physical reference"):
        table.add_column(column, justify="left" if column in ("figure", "physical reference")
                         else "right")

    def row(label: str, values: list[float], form: str, target: float | None = None,
            higher_is_better: bool = False, reference: str = "", unit: str = "") -> None:
        median = statistics.median(values)
        mark = ""
        if target is not None:
            mark = check(f"ingest: {label}", median, target, unit,
                         higher_is_better=higher_is_better)
        table.add_row(label, form.format(median), " · ".join(form.format(v) for v in values),
                      "" if target is None else ("≥ " if higher_is_better else "≤ ")
                      + form.format(target), mark, reference)

    def rate(acked: Sent) -> float:
        seconds = acked.last_ack - acked.first_send
        return acked.spans / seconds if seconds else 0.0

    cores = usable_cpus()
    ceiling = physical.ceiling_spans_per_second(cores)

    row("spans/s acknowledged", [rate(r.sent) for r in rounds], "{:,.0f}")
    row("a request's acknowledgement, median (ms)",
        [statistics.median(r.sent.latencies or [0.0]) * 1000 for r in rounds], "{:,.0f}")
    row("  the slowest (ms)",
        [max(r.sent.latencies, default=0.0) * 1000 for r in rounds], "{:,.0f}",
        reference="the batch that first finds more texts queued than the bound waits while "
                  "the writer indexes down to it (writer_idle._bound_backlog)")
    row("spans/s durable (committed, queryable)", [r.durable_rate for r in rounds], "{:,.0f}",
        TARGET_DURABLE_SPANS_PER_SECOND, True, unit="spans/s",
        reference=f"protobuf parse alone {physical.parse_spans_per_second:,.0f}; SQLite alone "
        f"{physical.sqlite_spans_per_second:,.0f}; every part at its floor (CPU per 1k below) "
        f"on {cores} cores: ≤ {ceiling:,.0f}"
        f"{_out_of_reach(ceiling < TARGET_DURABLE_SPANS_PER_SECOND)}")
    row("last ack → queryable, s", [r.queryable - r.sent.last_ack for r in rounds], "{:.2f}")
    row("last ack → searchable (the trace search finds the last requests' words), s",
        [r.searchable_lag for r in rounds], "{:.2f}", TARGET_SEARCHABLE_SECONDS, unit="s")
    row("last ack → all of the load searchable (the first requests' words too), s",
        [r.all_searchable_lag for r in rounds], "{:.2f}", TARGET_SEARCHABLE_SECONDS, unit="s",
        reference="what a burst leaves (what the writer indexes in 0.6 s at its timed rate, "
        "≤ 20,000 texts; past that it indexes between batches, writer_idle._bound_backlog): "
        "FTS5 on the writer's thread, the texts made beside it (store/text_planner.py)")
    row("receiver CPU per 1k spans, until idle again (ms)", [r.cpu_ms_per_1k for r in rounds],
        "{:.0f}", TARGET_CPU_MS_PER_1K, unit="ms",
        reference=f"each part alone: protobuf parse {physical.parse_cpu_ms:.0f} + SQLite rows "
        f"{physical.sqlite_cpu_ms:.0f} + FTS5 of their text {physical.fts_cpu_ms:.0f} + zstd "
        f"{physical.zstd_cpu_ms:.0f} = {physical.floor_cpu_ms:.0f}"
        f"{_out_of_reach(physical.floor_cpu_ms > TARGET_CPU_MS_PER_1K)}; FTS5 of as much text "
        f"in Zipf-distributed words, as people write: {physical.fts_zipf_cpu_ms:.0f}")
    row("  of it until durable (ms)",
        [r.receiver_cpu / max(r.sent.spans, 1) * 1e6 for r in rounds], "{:.0f}")
    row("bytes a span on disk (db + WAL after a checkpoint)",
        [r.disk.total / max(r.sent.spans, 1) for r in rounds], "{:,.0f}", TARGET_BYTES_PER_SPAN,
        unit="B", reference=f"wire {physical.wire_bytes_per_span:,.0f}; zlib'd span "
        f"{physical.zlib_bytes_per_span:,.0f}; plain SQLite table of the spans' bytes "
        f"{physical.sqlite_bytes_per_span:,.0f}")
    row("receiver peak RSS (MB)", [r.peak_rss for r in rounds], "{:,.0f}", TARGET_PEAK_RSS_MB,
        unit="MB")
    row("clients' CPU per span, this process (µs)",
        [r.client_cpu / max(r.sent.spans, 1) * 1e6 for r in rounds], "{:.1f}")
    row("503 retries", [float(r.sent.retries) for r in rounds], "{:.0f}")
    row("the Python loop before each round (ms; the machine's speed)",
        [r.loop_ms for r in rounds], "{:.0f}")
    return table
