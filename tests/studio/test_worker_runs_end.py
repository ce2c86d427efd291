"""Every run ends: crashed, cancelled and killed workers' spans are closed, the worker comes
back, and what a tool started dies with the worker. Real workers, a real receiver and store."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lumos_studio.ingest.otlp_http import OtlpReceiver
from lumos_studio.records import SpanRecord
from lumos_studio.sessions.base import RunOutcome, SessionEvent
from lumos_studio.sessions.worker import WorkerSession
from lumos_studio.store import Store
from tests.studio.test_worker_session import wait_until

AGENTS = '''
import asyncio, os, subprocess, time
from pathlib import Path
from lumos_core import Agent, tool

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"

@tool
def exit_now(city: str) -> str:
    """Exit the process for a city."""
    os._exit(3)

@tool
async def wait_long(city: str) -> str:
    """Wait a long time for a city."""
    await asyncio.sleep(600)
    return "late"

@tool
def hang(city: str) -> str:
    """Block forever for a city."""
    while True:
        time.sleep(0.05)

@tool
def start_child(city: str) -> str:
    """Start a child process for a city."""
    child = subprocess.Popen(["sleep", "600"])
    Path(os.environ["CHILD_PID_FILE"]).write_text(str(child.pid))
    return "started"

@tool
def hoard(city: str) -> str:
    """Allocate memory without bound for a city."""
    kept = []
    while True:
        kept.append(bytearray(16 << 20))

weather = Agent(name="weather", model="scripted", tools=[get_weather])
crasher = Agent(name="crasher", model="scripted", tools=[exit_now])
waiter = Agent(name="waiter", model="scripted", tools=[wait_long])
stuck = Agent(name="stuck", model="scripted", tools=[hang])
parent = Agent(name="parent", model="scripted", tools=[start_child])
hoarder = Agent(name="hoarder", model="scripted", tools=[hoard])
'''


@pytest.fixture
def studio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[WorkerSession, Store, list[SessionEvent]]]:
    monkeypatch.setenv("CHILD_PID_FILE", str(tmp_path / "child.pid"))
    path = tmp_path / "agents.py"
    path.write_text(AGENTS)
    store = Store(tmp_path / "studio.db")
    receiver = OtlpReceiver(store.writer, port=0).start()
    events: list[SessionEvent] = []
    session = WorkerSession(
        path, receiver.endpoint, watch=False, record=store.writer.submit, memory_limit_mb=300
    )
    session.listener = events.append
    session.start()
    wait_until(lambda: session.agents)
    try:
        yield session, store, events
    finally:
        session.stop()
        receiver.stop()
        store.close()


def trace_spans(store: Store, trace_name: str) -> list[SpanRecord]:
    """The spans of the newest trace whose root is ``trace_name``, once none is running."""
    found: list[SpanRecord] = []

    def settled() -> bool:
        store.writer.flush()
        traces = [t for t in store.reader.list_traces() if t.root_name == trace_name]
        if not traces:
            return False
        found[:] = store.reader.trace_spans(traces[0].trace_id)
        return bool(found) and not any(s.running for s in found)

    wait_until(settled)
    return found


def test_a_tool_that_exits_closes_the_run_and_the_next_message_works(studio) -> None:  # type: ignore[no-untyped-def]
    session, store, events = studio
    old_pid = session.current.process.pid
    outcome = session.run("crasher", "for the city of Paris", ())
    assert outcome.error == (
        "the worker exited with code 3 while running tool 'exit_now'; restarted"
    )
    spans = {s.name: s for s in trace_spans(store, "invoke_agent crasher")}
    for name in ("invoke_agent crasher", "execute_tool exit_now"):
        assert spans[name].status_code == "ERROR"
        assert spans[name].status_message == "worker exited with code 3"
    assert spans["chat scripted"].end_ns is not None  # ended before the crash: kept
    assert any(e.notice == "the worker exited with code 3; restarted" for e in events)

    assert session.run("weather", "for the city of Oslo", ()).output == "Sunny in Oslo"
    assert session.current.process.pid != old_pid


def test_cancelling_a_slow_tool_closes_its_spans_as_cancelled(studio) -> None:  # type: ignore[no-untyped-def]
    session, store, _ = studio
    for agent in ("waiter", "stuck"):  # one unwinds when cancelled, one has to be killed
        outcomes: list[RunOutcome] = []
        runner = threading.Thread(
            target=lambda a=agent, o=outcomes: o.append(session.run(a, "for the city of Rome", ()))
        )
        runner.start()
        wait_until(lambda: session.current is not None and any(
            "execute_tool" in s.name for s in session.current.spans.open.values()))
        assert session.cancel()
        runner.join(15)
        assert outcomes and outcomes[0].cancelled
        spans = trace_spans(store, f"invoke_agent {agent}")
        by_name = {s.name: s for s in spans}
        tool = "wait_long" if agent == "waiter" else "hang"
        for name in (f"invoke_agent {agent}", f"execute_tool {tool}"):
            assert by_name[name].status_code == "ERROR", agent
            assert by_name[name].status_message == "cancelled", agent
        wait_until(lambda: session.current is not None)
    assert session.run("weather", "for the city of Oslo", ()).output == "Sunny in Oslo"


def test_a_worker_killed_from_outside_is_restarted_and_usable(studio) -> None:  # type: ignore[no-untyped-def]
    session, _, events = studio
    workers = [w for w in (session.current, session._spare) if w is not None]
    for worker in workers:
        os.kill(worker.process.pid, signal.SIGKILL)
    wait_until(lambda: any("code -9; restarted" in (e.notice or "") for e in events))
    outcome = session.run("weather", "for the city of Lima", ())
    assert outcome.error is None and outcome.output == "Sunny in Lima"


def test_a_child_process_of_a_tool_dies_with_the_session(studio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session, _, _ = studio
    assert session.run("parent", "for the city of Kyiv", ()).error is None
    child = int((tmp_path / "child.pid").read_text())
    os.kill(child, 0)  # alive while the worker is
    session.stop()

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(gone, timeout=5)


def test_a_tool_past_the_memory_limit_ends_with_a_clear_message(studio) -> None:  # type: ignore[no-untyped-def]
    session, store, _ = studio
    started = time.monotonic()
    outcome = session.run("hoarder", "for the city of Cairo", ())
    assert outcome.error == "the run used more than 300 MB and was stopped; raise --memory-limit"
    assert time.monotonic() - started < 30
    spans = {s.name: s for s in trace_spans(store, "invoke_agent hoarder")}
    assert spans["execute_tool hoard"].status_code == "ERROR"
    assert spans["invoke_agent hoarder"].status_code == "ERROR"
    assert session.run("weather", "for the city of Oslo", ()).output == "Sunny in Oslo"


def test_cancelling_an_in_process_run_closes_its_spans_as_cancelled(tmp_path: Path) -> None:
    import asyncio

    from lumos_core import Agent, tool
    from lumos_studio.sessions.discovery import AgentCatalog
    from lumos_studio.sessions.in_process import InProcessSession

    @tool
    async def wait_long(city: str) -> str:
        """Wait a long time for a city."""
        await asyncio.sleep(600)
        return "late"

    with Store(tmp_path / "studio.db") as store:
        session = InProcessSession.recording(
            AgentCatalog(
                "test", {"waiter": Agent(name="waiter", model="scripted", tools=[wait_long])}
            ),
            store.writer,
        )
        outcomes: list[RunOutcome] = []
        runner = threading.Thread(
            target=lambda: outcomes.append(session.run("waiter", "for the city of Rome", ()))
        )
        runner.start()

        def tool_running() -> bool:
            store.writer.flush()
            return any(s.running and s.name == "execute_tool wait_long"
                       for t in store.reader.list_traces()
                       for s in store.reader.trace_spans(t.trace_id))

        wait_until(tool_running)
        wait_until(session.cancel)
        runner.join(15)
        assert outcomes and outcomes[0].cancelled
        spans = {s.name: s for s in trace_spans(store, "invoke_agent waiter")}
        for name in ("invoke_agent waiter", "execute_tool wait_long"):
            assert (spans[name].status_code, spans[name].status_message) == ("ERROR", "cancelled")
