"""What only a shared PostgreSQL store has to show: several writers and ``serve`` processes
into one database, migrations of its own, and one clear line for a bad URL or a server that is
down. (Reading and writing, search and listing run on both engines in ``test_store.py`` and
``test_trace_queries.py``.)"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx
import psycopg
import pytest

from lumos_studio.otlp import encode_lines, encode_log_lines
from lumos_studio.records import LogRecord
from lumos_studio.store import (
    Store,
    StoreChange,
    StoreError,
    StoreUnusable,
    TraceQuery,
    parse_target,
)
from lumos_studio.store import writer as store_writer
from lumos_studio.store.postgres.connect import parse_url
from lumos_studio.store.postgres.reader import PostgresReader
from lumos_studio.store.postgres.schema import SCHEMA_VERSION, ensure_schema, schema_version
from lumos_studio.store.trace_filter import parse_filter
from tests.builders import T0, agent_run, make_span, weather_trace
from tests.postgres_cluster import Cluster
from tests.studio.test_serve_cli import read_line_with


def test_three_writers_into_one_database_store_each_span_once_and_count_every_trace(
    pg_url: str,
) -> None:
    """Three stores (as three serve processes hold them) write the spans of the same forty
    traces at once, each a third of every trace and all of them a few spans twice."""
    target = parse_target(pg_url)
    stores = [Store.open(target) for _ in range(3)]
    runs = [agent_run(n, tool="get_weather", said=f"city {n}") for n in range(1, 41)]

    def write(index: int) -> None:
        for spans in runs:
            mine = [s for k, s in enumerate(spans) if k % 3 == index or k == 0]  # roots: all
            assert stores[index].writer.commit(mine)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert all(store.writer.flush() for store in stores)  # flushed: searchable too
        page = stores[0].reader.find_traces(TraceQuery(limit=100))
        assert page.total == 40
        assert {t.span_count for t in page.summaries} == {3}  # every span counted, once
        assert {t.tools for t in page.summaries} == {"get_weather"}
        assert [int(t.trace_id, 16) for t in stores[1].reader.find_traces(
            TraceQuery(parse_filter("city 17"))).summaries] == [17]
        with psycopg.connect(pg_url) as connection:
            assert connection.execute("SELECT count(*) FROM spans").fetchone() == (120,)
    finally:
        for store in stores:
            store.close()


def test_logs_sent_to_two_writers_are_stored_once_with_ids_from_one_sequence(pg_url: str) -> None:
    target = parse_target(pg_url)
    logs = [LogRecord(T0 + n, f"line {n}", 9, "INFO") for n in range(50)]
    with Store.open(target) as first, Store.open(target) as second:
        assert first.writer.commit(logs[:30]) and second.writer.commit(logs[20:])
        read = first.reader.logs(limit=100)
    assert [log.body for log in read] == [f"line {n}" for n in range(50)]


def heard_others(heard: list[StoreChange], timeout: float = 5.0) -> bool:
    """Whether a listener heard ``StoreChange.others`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not any(change.others for change in heard) and time.monotonic() < deadline:
        time.sleep(0.02)
    return any(change.others for change in heard)


def test_a_writers_own_commits_are_not_taken_for_another_process(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database's statistics count this writer's rows as well as others': whatever it
    writes (spans, one stored out of line by TOAST, logs, pins, deletes, searchable text), its
    looks leave its own out (``store.postgres.others``). The SQLite twin and the other
    process's commit heard: ``test_store.py``."""
    monkeypatch.setattr(store_writer, "OTHERS_LOOK_EVERY", 0.05)
    large = make_span("large", trace_id="1" * 32, span_id="f" * 16, parent="a" * 16,
                      attributes={"blob": os.urandom(30_000).hex()})  # TOAST rows of its own
    logs = [LogRecord(T0 + n, f"line {n}", 9, "INFO", "1" * 32) for n in range(20)]
    heard: list[StoreChange] = []
    with Store.open(parse_target(pg_url)) as store:
        store.writer.subscribe(heard.append)
        store.writer.submit_many([*weather_trace("1" * 32), large])
        assert store.writer.flush()  # its text made searchable too
        assert store.writer.commit(logs)
        assert store.writer.pin_traces(["1" * 32], True)
        store.writer.submit_many(weather_trace("2" * 32, T0 + 10**9))
        assert store.writer.flush()
        assert store.writer.delete_traces(["2" * 32])
        time.sleep(0.6)  # a dozen looks
        assert heard and not any(change.others for change in heard)


def test_a_writer_hears_others_beside_its_own_and_from_any_client(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer's rows committed in the same second as this one's are heard (a look counts
    them apart, it does not set aside a second that held commits of its own); so is a client
    that is no Lumos writer of this version (psql, an older studio pinning a run)."""
    monkeypatch.setattr(store_writer, "OTHERS_LOOK_EVERY", 0.5)
    target = parse_target(pg_url)
    heard: list[StoreChange] = []
    with Store.open(target) as store:
        store.writer.subscribe(heard.append)
        assert store.writer.commit(weather_trace("1" * 32))
        time.sleep(1.2)  # looked at since
        with Store.open(target) as other:
            assert store.writer.commit(weather_trace("2" * 32, T0 + 10**9))
            assert other.writer.commit(weather_trace("3" * 32, T0 + 2 * 10**9))
            assert heard_others(heard)
            assert other.writer.flush()
        time.sleep(1.2)  # the other writer's last rows (its searchable text) heard too
        heard.clear()
        with psycopg.connect(pg_url) as plain:
            plain.execute("UPDATE traces SET pinned_ns = 1 WHERE trace_id = %s", ("1" * 32,))
        assert heard_others(heard)


def test_two_serve_processes_write_one_database_and_the_cli_reads_it(pg_url: str) -> None:
    served = [_serve(pg_url) for _ in range(2)]
    try:
        for n, (_, endpoint) in enumerate(served):
            body = "".join(encode_lines(weather_trace(f"{n + 1:032x}", start=T0 + n)))
            answer = httpx.post(f"{endpoint}/v1/traces", content=body,
                                headers={"Content-Type": "application/json"}, timeout=30)
            assert answer.status_code == 200
        log_body = "".join(encode_log_lines(
            [LogRecord(T0, "timeout talking to the weather API", 17, "ERROR", f"{1:032x}",
                       "a000000000000001")]))
        assert httpx.post(f"{served[1][1]}/v1/logs", content=log_body,
                          headers={"Content-Type": "application/json"}, timeout=30
                          ).status_code == 200
    finally:
        for process, _ in served:
            process.terminate()
            process.wait(30)
    listed = _cli(pg_url, "traces")
    assert listed.returncode == 0, listed.stderr
    assert f"{1:032x}" in listed.stdout and f"{2:032x}" in listed.stdout
    assert "2 traces in" in listed.stdout and "invoke_agent weather" in listed.stdout
    shown = _cli(pg_url, "show", "0" * 30)  # a prefix of both
    assert shown.returncode == 1 and "matches several traces" in shown.stderr
    missing = _cli(pg_url, "show", "ff")
    assert f"no trace starting with 'ff' in {pg_url}" in missing.stderr
    tree = _cli(pg_url, "show", f"{2:032x}")
    assert tree.returncode == 0 and "execute_tool get_weather" in tree.stdout
    reader = PostgresReader(parse_url(pg_url))
    try:
        assert [log.body for log in reader.logs(trace_id=f"{1:032x}")] == [
            "timeout talking to the weather API"]
    finally:
        reader.close()


def test_a_version_1_store_is_migrated_by_the_first_writer_and_its_logs_become_searchable(
    pg_url: str,
) -> None:
    target = parse_url(pg_url)
    with psycopg.connect(pg_url) as connection:
        ensure_schema(connection, target, upto=1)
        connection.execute(
            "INSERT INTO logs (fingerprint, time_ns, body) VALUES (1, 5, '\"disk full\"')")
    with pytest.raises(StoreError, match="schema 1; open it once with"):
        PostgresReader(target)
    with Store.open(target) as store:
        assert store.reader.logs()[0].body == "disk full"
    with psycopg.connect(pg_url) as connection:
        assert schema_version(connection) == SCHEMA_VERSION
        assert connection.execute(
            "SELECT count(*) FROM logs WHERE words @@ to_tsquery('simple', 'disk')"
        ).fetchone() == (1,)


def test_a_version_3_store_queues_its_finished_tool_calls_for_the_text_index(
    pg_url: str,
) -> None:
    target = parse_url(pg_url)
    with psycopg.connect(pg_url) as connection:
        ensure_schema(connection, target, upto=3)
        connection.execute(
            "INSERT INTO spans (trace_id, span_id, name, start_ns, end_ns, operation) VALUES "
            "('t', 'done', 'execute_tool get_weather', 1, 2, 'execute_tool'), "
            "('t', 'running', 'execute_tool get_weather', 1, NULL, 'execute_tool'), "
            "('t', 'chat', 'chat scripted', 1, 2, 'chat')")
        connection.execute("INSERT INTO text_queue VALUES ('t', 'chat')")
        ensure_schema(connection, target)
        assert schema_version(connection) == SCHEMA_VERSION == 4
        assert sorted(connection.execute("SELECT span_id FROM text_queue").fetchall()) == [
            ("chat",), ("done",)]


def test_a_newer_store_and_another_applications_tables_are_refused(pg_cluster: Cluster) -> None:
    newer = parse_url(pg_cluster.create_database("newer_store"))
    with psycopg.connect(newer.url) as connection:
        connection.execute("CREATE TABLE lumos_schema (version integer NOT NULL)")
        connection.execute("INSERT INTO lumos_schema VALUES (99)")
    with pytest.raises(StoreUnusable, match="schema 99, newer than this studio's"):
        Store.open(newer)
    foreign = parse_url(pg_cluster.create_database("foreign_app"))
    with psycopg.connect(foreign.url) as connection:
        connection.execute("CREATE TABLE spans (id integer)")
    with pytest.raises(StoreUnusable, match="not a Lumos Studio store"):
        Store.open(foreign)


def test_an_empty_database_is_not_read_as_an_empty_store(pg_url: str) -> None:
    result = _cli(pg_url, "traces")
    assert result.returncode == 1
    assert "no Lumos Studio store in" in result.stderr and "serve" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_server_that_is_down_is_one_line_with_what_to_do(free_url: str) -> None:
    result = _cli(free_url, "traces")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot reach the PostgreSQL store" in result.stderr
    assert "Connection refused" in result.stderr and "start the server" in result.stderr
    served = subprocess.run([sys.executable, "-m", "lumos_studio", "--db", free_url, "serve",
                             "--otlp-port", "0"], capture_output=True, text=True, timeout=60)
    assert served.returncode == 1 and "cannot reach the PostgreSQL store" in served.stderr


def test_a_password_is_never_printed(free_url: str) -> None:
    with_password = free_url.replace("lumospg@", "lumospg:hunter2@")
    result = _cli(with_password, "traces")
    assert "hunter2" not in result.stderr + result.stdout and ":***@" in result.stderr


@pytest.mark.parametrize("url", ["postgresql://", "postgresql://host-only",
                                 "postgresql://u@h:notaport/db", "postgresql://u@h/db?bogus=1"])
def test_a_url_that_names_no_database_is_refused_before_anything_is_opened(url: str) -> None:
    result = _cli(url, "traces")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "postgresql://user@host:5432/database" in result.stderr


def test_a_span_with_a_nul_character_is_dropped_alone(pg_url: str) -> None:
    """PostgreSQL text cannot hold NUL: that span is rejected, its batch's others stored."""
    good, bad = make_span("fine"), make_span("bad\x00name", span_id="c" * 16)
    rejected: list[str] = []
    with Store.open(parse_target(pg_url)) as store:
        assert store.writer.commit([good, bad], rejected=rejected)
        assert [s.name for s in store.reader.trace_spans(good.trace_id)] == ["fine"]
    assert len(rejected) == 1 and "0x00" in rejected[0]


@pytest.fixture
def free_url() -> str:
    from tests.ports import free_port

    return f"postgresql://lumospg@127.0.0.1:{free_port()}/lumos"


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lumos_studio", "--db", url, *args],
                          capture_output=True, text=True, timeout=120)


def _serve(url: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "lumos_studio", "--db", url, "serve", "--otlp-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = read_line_with(process, "OTEL_EXPORTER_OTLP_ENDPOINT=")
    return process, line.strip().split("=", 1)[1]



def test_run_records_into_a_postgresql_store(pg_url: str) -> None:
    """``run`` asks the store to take a write before the agent runs (``writable``): on
    PostgreSQL, an open and closed transaction."""
    from click.testing import CliRunner

    from lumos_studio.cli import cli

    ran = CliRunner().invoke(cli, ["--db", pg_url, "run", "--demo", "weather", "weather in Rome?"])
    assert ran.exit_code == 0, ran.output
    assert "in Rome" in ran.stdout
    assert len(PostgresReader(parse_url(pg_url)).trace_ids()) == 1
