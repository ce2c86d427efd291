"""The benchmarks still run against today's code: each measures a tiny store or load once.

No figure is checked against a target (timings live in ``make bench``); what is checked is that
each measurement reaches its end and measured what it says (the store holds what it should,
the studio opened the traces, the load was found by the search).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import os
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

import bench.stores as stores
from bench.__main__ import BENCHMARKS
from tests.postgres_cluster import Cluster

TINY_BIG_TRACES = (30, 60, 90)


@pytest.fixture
def tiny_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> stores.BenchStore:
    monkeypatch.setenv("LUMOS_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(stores, "RUNS_PER_SCALE", 30)
    monkeypatch.setattr(stores, "LOGS_PER_SCALE", 3_000)
    monkeypatch.setattr(stores, "LOGS_VIA_WRITER", 1_000)
    monkeypatch.setattr(stores, "BIG_TRACES", TINY_BIG_TRACES)
    return stores.bench_store(1, Console(quiet=True))


def test_every_benchmark_imports() -> None:
    for module in BENCHMARKS.values():
        assert callable(importlib.import_module(module).main)


def test_the_store_is_built_once_then_cached(tiny_store: stores.BenchStore) -> None:
    from lumos_studio.store import StoreReader

    assert tiny_store.built_in is not None
    reader = StoreReader(tiny_store.path)
    try:
        assert reader.count_traces() == tiny_store.traces == 33
        big = reader.trace_spans(stores.big_trace_id(90))
        assert len(big) == 90
        newest = reader.list_traces(limit=3)
        assert {t.trace_id for t in newest} == {stores.big_trace_id(n) for n in TINY_BIG_TRACES}
    finally:
        reader.close()
    with sqlite3.connect(tiny_store.path) as connection:
        assert connection.execute("SELECT count(*) FROM logs").fetchone()[0] == 3_000
    again = stores.bench_store(1, Console(quiet=True))
    assert again.path == tiny_store.path and again.built_in is None


def test_an_older_cached_store_is_upgraded_when_asked(
    tiny_store: stores.BenchStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stores, "_source_key", lambda: "newer-sources")
    monkeypatch.setenv("LUMOS_BENCH_UPGRADE", "1")
    upgraded = stores.bench_store(1, Console(quiet=True))
    assert upgraded.path.name == "store-x1-newer-sources.db" and upgraded.built_in is None
    assert upgraded.path.exists() and not tiny_store.path.exists()
    assert "upgraded on" in upgraded.describe()
    with sqlite3.connect(upgraded.path) as connection:
        assert connection.execute("SELECT count(*) FROM logs").fetchone()[0] == 3_000


def test_query_tables_measure_every_case(tiny_store: stores.BenchStore) -> None:
    from bench import logs_filter, trace_list

    table = trace_list.query_table(tiny_store.path, "tiny")
    assert table.row_count == 22  # 21 queries and the reference count
    console = Console(record=True, width=200)
    logs_filter._query_table(tiny_store.path, tiny_store.logs, console)
    text = console.export_text()
    assert "3,000" in text and "regex: timeout" in text


def test_the_real_studio_opens_searches_and_filters(
    tiny_store: stores.BenchStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import ui_app

    monkeypatch.setattr(ui_app, "BIG_TRACES", TINY_BIG_TRACES)
    monkeypatch.setattr(ui_app, "ROUNDS", dict.fromkeys(TINY_BIG_TRACES, 1))
    monkeypatch.setattr(ui_app, "TYPE_ROUNDS", 1)
    monkeypatch.setattr(ui_app, "KEY_GAP", 0.0)
    monkeypatch.setattr(ui_app, "FINDS", ("tool", "is:tool"))  # "tool 3.97": 100,000 spans
    results = asyncio.run(ui_app._measure(tiny_store.path, tmp_path / "layout.json"))
    for size in TINY_BIG_TRACES:
        assert len(results[f"open {size}"].rounds) == 1
    assert all(len(results[f"find {text}"]) == 1 for text in ("tool", "is:tool"))
    assert all(len(results[f"search {text}"]) == 1 for text in ui_app.SEARCHES)
    assert all(len(results[f"logs {text}"]) == 1 for text in ui_app.LOG_FILTERS)
    assert all(len(values) == 6 for values in results["switch"].values())
    assert [len(values) for values in results["dialogs"].values()] == [1, 1]  # P, D


def test_the_studio_draws_its_first_frame_in_a_terminal(tiny_store: stores.BenchStore) -> None:
    from bench import startup

    painted, listed = startup.studio_first_paint(tiny_store.path, b"33 traces")
    assert 0 < painted <= listed


def test_an_ingest_round_ends_searchable_with_its_disk_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bench
    from bench import ingest
    from bench.ingest_after import references

    bodies, _ = ingest.encoded_batches(4)
    done = ingest.load_round(tmp_path / "ingest.db", bodies)
    assert done.sent.spans == 4 * ingest.BATCH_SPANS
    assert done.searchable is not None and done.searchable >= done.sent.last_ack
    assert done.receiver_cpu_total >= done.receiver_cpu > 0
    assert done.disk.total > 0
    physical = references(bodies, ingest.BATCH_SPANS)
    assert physical.zlib_bytes_per_span < physical.wire_bytes_per_span
    assert len(done.sent.latencies) == 4
    monkeypatch.setattr(bench, "FIGURES", [])  # the table's targets noted here, not for a run
    console = Console(width=240, record=True)
    console.print(ingest._load_table([done], physical))
    printed = console.export_text()
    slowest = f"{max(done.sent.latencies) * 1000:,.0f}"
    assert any(line.startswith("│   the slowest (ms)") and f" {slowest} " in line
               for line in printed.splitlines())

    # Beside the targets, the floor of the parts alone says whether any code could reach them.
    def floor_said(parts_ms: float) -> str:
        floor = dataclasses.replace(physical, parse_cpu_ms=parts_ms, sqlite_cpu_ms=parts_ms,
                                    fts_cpu_ms=parts_ms, zstd_cpu_ms=parts_ms)
        console = Console(width=400, record=True)
        console.print(ingest._load_table([done], floor))
        return console.export_text()

    cores = os.cpu_count() or 1
    low, high = floor_said(5.0), floor_said(100.0 * cores)
    assert f"on {cores} cores: ≤ {cores * 1_000_000 / 20:,.0f}" in low
    assert "out of reach" not in low
    assert high.count("out of reach on this machine now") == 2  # the durable rate, the CPU


def test_live_runs_spread_each_request_over_that_many_traces_parents_kept() -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from bench import ingest

    bodies, _ = ingest.encoded_batches(4)
    spans = [span for body in ingest.live_runs(bodies, 3)
             for resource in ExportTraceServiceRequest.FromString(body).resource_spans
             for scope in resource.scope_spans for span in scope.spans]
    assert len(spans) == 4 * ingest.BATCH_SPANS
    assert len({span.trace_id for span in spans}) == 3
    assert len({span.span_id for span in spans}) == len(spans)  # none replaces another
    by_id = {span.span_id: span for span in spans}
    parents = [by_id[span.parent_span_id] for span in spans if span.parent_span_id]
    assert len(parents) == len(spans) - 4 * ingest.BATCH_SPANS // ingest.SPANS_PER_TRACE
    assert all(parent.trace_id == span.trace_id
               for span in spans if span.parent_span_id
               for parent in [by_id[span.parent_span_id]])


def test_the_processor_is_measured_against_a_no_op_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import ingest_processor

    monkeypatch.setattr(ingest_processor, "PROCESSOR_SPANS", 200)
    cost = ingest_processor.processor_cost(tmp_path, rounds=1)
    assert cost.noop[1] > 0 and cost.studio[1] > 0 and len(cost.added_wall_each) == 1


def test_the_agent_comparison_measures_our_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import agent_vs_pydantic_ai as versus

    monkeypatch.setattr(versus, "ROUNDS", 1)
    monkeypatch.setattr(versus, "SECONDS_PER_ROUND", 0.05)
    monkeypatch.setattr(versus, "WARMUP_RUNS", 2)
    rows = versus._scenarios(versus._lumos_runner(), "lumos_core")
    assert [row.scenario for row in rows] == [
        "tracing off", "in-memory exporter", "studio store (durable)"]
    assert all(row.runs_per_second > 0 for row in rows)
    assert rows[1].spans_per_run == rows[2].spans_per_run == 4


def test_an_earlier_core_runs_the_in_memory_harness_beside_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import core_reference

    monkeypatch.setattr(core_reference, "RUNS", 20)
    monkeypatch.setattr(core_reference, "SECONDS", 0.5)
    # HEAD stands in for 6e6a47f: any clone has it. The harness refuses a core it did not import.
    earlier = core_reference.reference_core(tmp_path, "HEAD")
    assert isinstance(earlier, Path) and (earlier / "lumos_core" / "agent.py").is_file()
    both = core_reference.compare(earlier, pairs=1)
    assert both.ours > 0 and both.reference > 0
    assert len(both.ours_rounds) == len(both.reference_rounds) == 1
    missing = core_reference.reference_core(tmp_path / "none", "0" * 40)
    assert isinstance(missing, str) and "not in this clone" in missing


def test_the_forward_bench_loses_nothing_through_an_outage_on_a_small_load(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import forward

    monkeypatch.setattr(forward, "REQUESTS", 6)
    monkeypatch.setattr(forward, "ROUNDS", 1)
    console = Console(record=True, width=200)
    forward.main(console)
    text = console.export_text()
    assert "spans lost" in text
    lost_row = next(line for line in text.splitlines() if "spans lost" in line)
    assert lost_row.split("│")[3].strip() == "0"


def test_the_postgres_bench_copies_a_store_and_measures_both_engines(
    tiny_store: stores.BenchStore, pg_cluster: Cluster
) -> None:
    from bench import postgres

    url = pg_cluster.create_database("bench_smoke")
    postgres.bulk_load(tiny_store.path, url, Console(quiet=True))
    from lumos_studio.store import parse_target
    from lumos_studio.store.postgres.reader import PostgresReader

    reader = PostgresReader(parse_target(url))  # type: ignore[arg-type]
    try:
        assert reader.count_traces() == tiny_store.traces == 33
        assert len(reader.trace_spans(stores.big_trace_id(90))) == 90
    finally:
        reader.close()
    table = postgres.query_table(tiny_store.path, url)
    assert table.row_count == len(postgres.CASES) + 2  # each query, then each engine's slowest
    console = Console(record=True, width=200)
    console.print(table)
    assert " vs " not in console.export_text()  # both engines found the same rows
    bodies, _ = postgres.encoded_batches(3)
    rate, sent = postgres._ingest([pg_cluster.create_database("bench_smoke_three")] * 3, bodies)
    assert sent.spans == 3 * postgres.BATCH_SPANS and sent.failures == 0 and rate > 0


def test_a_full_run_takes_each_benchmarks_figures_from_a_process_of_its_own(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """``python -m bench NAME`` runs NAME in a fresh process (nothing an earlier benchmark left
    on the heap counts in its memory figures) and its figures still reach the summary."""
    import bench
    from bench import __main__ as runner

    monkeypatch.setattr(bench, "FIGURES", [])
    monkeypatch.setattr(runner, "FIGURES", bench.FIGURES)
    # Not waiting for a quiet machine (up to 30 s beside the other tests), two edits instead of
    # ten in the benchmark's own process: neither is what is tested.
    monkeypatch.setattr(runner, "_settle", lambda: None)
    monkeypatch.setenv("LUMOS_BENCH_RELOAD_ROUNDS", "2")
    assert runner.main(["reload"]) == 0
    (figure,) = bench.FIGURES
    assert figure.label.startswith("reload: save → ready") and figure.unit == "s"
    assert 0 < figure.value < 60
    # The machine's speed in the cache and out of it, at the start and at the end.
    printed = " ".join(capsys.readouterr().out.split())
    assert printed.count("SQLite rows") == 2 and printed.count("a fixed Python loop") == 2


def test_the_studio_takes_streamed_spans_into_its_store(tmp_path: Path) -> None:
    import asyncio

    from bench import studio_live
    from lumos_studio.store import StoreReader

    commits = studio_live.batches(1_000)
    done = asyncio.run(studio_live.stream_into_studio(tmp_path / "live.db", commits))
    assert done.spans_per_second > 0 and done.cpu_ms_per_1k > 0
    reader = StoreReader(tmp_path / "live.db")
    try:
        assert reader.count_traces() == 1_000 // studio_live.SPANS_PER_RUN
    finally:
        reader.close()


def test_one_long_run_streams_into_a_studio_listing_others(tmp_path: Path) -> None:
    import asyncio

    from bench import studio_live
    from lumos_studio.store import StoreReader

    listed = studio_live.listing_runs(tmp_path / "listed.db", runs=5)
    done = asyncio.run(studio_live.stream_into_studio(listed, studio_live.one_run(1_000)))
    assert done.spans_per_second > 0
    reader = StoreReader(listed)
    try:
        assert reader.count_traces() == 6
        assert len(reader.trace_spans("e" * 32)) == 1_000
    finally:
        reader.close()
