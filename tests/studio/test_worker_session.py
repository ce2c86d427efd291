"""Worker sessions against real worker processes and real file edits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lumos_studio.sessions.base import SessionEvent
from lumos_studio.sessions.worker import WorkerSession

AGENTS = '''
import time
from lumos_core import Agent, tool

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"

@tool
def hang_forever(city: str) -> str:
    """Hang forever for a city."""
    while True:
        time.sleep(0.05)

@tool
def crash_now(city: str) -> str:
    """Crash now for a city."""
    raise ValueError(f"no data for {city}")

weather = Agent(name="weather", model="scripted", tools=[get_weather])
stuck = Agent(name="stuck", model="scripted", tools=[hang_forever])
crashy = Agent(name="crashy", model="scripted", tools=[crash_now])
'''


def wait_until(condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.fixture
def agent_file(tmp_path: Path) -> Path:
    path = tmp_path / "agents.py"
    path.write_text(AGENTS)
    return path


@pytest.fixture
def session(agent_file: Path) -> Iterator[tuple[WorkerSession, list[SessionEvent]]]:
    events: list[SessionEvent] = []
    started = WorkerSession(agent_file, None, watch=True)
    started.listener = events.append
    started.start()
    wait_until(lambda: started.agents)
    yield started, events
    started.stop()


def test_agents_are_discovered_and_run_in_the_worker(session, agent_file: Path) -> None:  # type: ignore[no-untyped-def]
    worker_session, _ = session
    assert [a.name for a in worker_session.agents] == ["weather", "stuck", "crashy"]
    outcome = worker_session.run("weather", "weather in Paris?", ())
    assert outcome.output == "Sunny in Paris"
    assert [m.role for m in outcome.messages] == ["user", "assistant", "tool", "assistant"]
    assert worker_session.current is not None
    assert worker_session.current.process.pid != __import__("os").getpid()


def test_saving_the_file_reloads_and_the_conversation_continues(session, agent_file: Path) -> None:  # type: ignore[no-untyped-def]
    worker_session, events = session
    first = worker_session.run("weather", "weather in Paris?", ())
    old_pid = worker_session.current.process.pid

    agent_file.write_text(AGENTS.replace("Sunny in", "Rainy in"))
    wait_until(lambda: any(e.reloaded_in for e in events[1:]))
    second = worker_session.run("weather", "weather in Oslo?", first.messages)

    assert second.output == "Rainy in Oslo"
    assert [m.text for m in second.messages][:1] == ["weather in Paris?"]  # history kept
    assert worker_session.current.process.pid != old_pid
    reload_seconds = [e.reloaded_in for e in events[1:] if e.reloaded_in]
    assert reload_seconds and reload_seconds[0] < 5  # fast in practice: see bench


def test_a_syntax_error_keeps_the_last_good_agents_and_a_fix_recovers(  # type: ignore[no-untyped-def]
    session, agent_file: Path
) -> None:
    worker_session, events = session
    agent_file.write_text(AGENTS.replace("def get_weather(city: str) -> str:",
                                         "def get_weather(city: str) -> str"))
    wait_until(lambda: any(e.problem for e in events))
    problem = next(e for e in events if e.problem).problem
    assert problem.path == str(agent_file) and problem.line == 6
    assert "syntax error" in problem.message
    assert ">    6 | def get_weather(city: str) -> str" in problem.frame
    stale = next(e for e in events if e.problem)
    assert stale.stale and next(a.name for a in stale.agents) == "weather"
    assert worker_session.run("weather", "weather in Rome?", ()).output == "Sunny in Rome"

    count = len(events)
    agent_file.write_text(AGENTS.replace("Sunny in", "Foggy in"))
    wait_until(lambda: any(e.reloaded_in for e in events[count:]))
    assert worker_session.run("weather", "weather in Rome?", ()).output == "Foggy in Rome"


def test_an_exception_at_import_names_the_line(session, agent_file: Path) -> None:  # type: ignore[no-untyped-def]
    _worker_session, events = session
    agent_file.write_text(AGENTS + "\nsettings = {}['missing']\n")
    wait_until(lambda: any(e.problem for e in events))
    problem = next(e for e in events if e.problem).problem
    assert "KeyError while importing" in problem.message
    assert problem.line == AGENTS.count("\n") + 2
    assert "Traceback" in problem.details


def test_an_exception_in_a_run_is_reported_with_its_traceback(session) -> None:  # type: ignore[no-untyped-def]
    worker_session, _ = session
    outcome = worker_session.run("crashy", "crash now for Paris", ())
    assert outcome.error == "ValueError: no data for Paris"
    assert "raise ValueError" in outcome.traceback


def test_a_hanging_tool_is_cancelled_by_killing_and_restarting_the_worker(session) -> None:  # type: ignore[no-untyped-def]
    worker_session, events = session
    import threading

    outcome_box: list[object] = []
    runner = threading.Thread(
        target=lambda: outcome_box.append(worker_session.run("stuck", "hang forever for X", ()))
    )
    runner.start()
    wait_until(lambda: worker_session._active_run is not None)
    stuck_pid = worker_session.current.process.pid
    time.sleep(0.3)
    assert worker_session.cancel()
    runner.join(10)
    assert outcome_box and outcome_box[0].cancelled
    wait_until(lambda: worker_session.current is not None
               and worker_session.current.process.pid != stuck_pid)
    assert any(e.notice and "killed" in e.notice for e in events)
    assert worker_session.run("weather", "weather in Lima?", ()).output == "Sunny in Lima"


def test_a_malformed_command_is_ignored_and_the_worker_keeps_serving(session) -> None:  # type: ignore[no-untyped-def]
    worker_session, _ = session
    worker = worker_session.current
    worker._socket.sendall(b'{"type": "run", "id": "one"}\n[]\n{"type": "explode"}\n')
    outcome = worker_session.run("weather", "weather in Rome?", ())
    assert outcome.output == "Sunny in Rome"
    assert worker_session.current is worker  # not restarted: the lines were refused, not fatal
    wait_until(lambda: any("refused a command: unknown message type 'explode'" in (e.output or "")
                           for e in session[1]))


def test_a_worker_that_sends_a_bad_message_is_ended_saying_why(tmp_path: Path) -> None:
    path = tmp_path / "agents.py"
    path.write_text(
        "import os, sys\n"
        "fd = int(sys.argv[sys.argv.index('--control-fd') + 1])\n"
        "os.write(fd, b'{\"type\": \"bogus\"}\\n')\n"
        "from lumos_core import Agent\n"
        "a = Agent(name='a', model='scripted')\n"
    )
    events: list[SessionEvent] = []
    bad = WorkerSession(path, None, watch=False, restart=False)
    bad.listener = events.append
    bad.start()
    try:
        wait_until(lambda: any(e.problem for e in events))
    finally:
        bad.stop()
    notices = [e.notice for e in events if e.notice]
    assert any("the worker sent a bad message: unknown message type 'bogus'" in n
               for n in notices), notices
