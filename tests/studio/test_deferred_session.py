"""The default studio's demo session is made after the first frame: until then it has no agents
and refuses runs with a reason; then it is the demo, and a failure to make it is shown."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from lumos_studio.sessions.base import Session, SessionEvent
from lumos_studio.sessions.deferred import NOT_LOADED, DeferredSession
from lumos_studio.sessions.demo import DEMO_SOURCE, demo_session
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "studio.db") as opened:
        yield opened


def heard(session: Session) -> list[SessionEvent]:
    events: list[SessionEvent] = []
    session.listener = events.append
    return events


def test_before_start_it_has_no_agents_and_a_run_says_they_are_loading(store: Store) -> None:
    session = demo_session(store.writer)
    assert session.source == DEMO_SOURCE == load_demo().source
    assert session.agents == ()
    assert session.run("weather", "hi", ()).error == NOT_LOADED
    assert session.run_workflow("trip", {}).error == NOT_LOADED
    assert session.fork_agent("weather", ()).error == NOT_LOADED
    assert session.fork_workflow("trip", "run-1", "plan").error == NOT_LOADED
    assert session.cancel() is False


def test_start_makes_the_demo_announces_its_agents_and_runs_them(store: Store) -> None:
    session = demo_session(store.writer)
    events = heard(session)
    session.start()
    try:
        catalog = load_demo()
        names = {a.name for a in session.agents}
        assert names == {*catalog.agents, *catalog.workflows}
        assert [e.agents for e in events] == [session.agents]
        outcome = session.run("weather", "weather in Paris?", ())
        assert outcome.error is None
        assert outcome.output is not None and "Paris" in outcome.output
        store.writer.flush()
        assert store.reader.trace_ids() == [outcome.trace_id]
    finally:
        session.stop()


def test_a_session_that_cannot_be_made_is_a_load_problem_not_a_crash() -> None:
    def make() -> Session:
        raise ImportError("No module named 'weather_tools'")

    session = DeferredSession("agents.py", make)
    events = heard(session)
    session.start()
    assert session.agents == ()
    [event] = events
    assert event.problem is not None
    assert event.problem.message == "ImportError: No module named 'weather_tools'"
    assert event.problem.path == "agents.py"
    assert "weather_tools" in event.problem.details
    assert session.run("weather", "hi", ()).error == NOT_LOADED


def test_a_session_made_after_the_app_stopped_is_stopped_and_never_used(store: Store) -> None:
    session = demo_session(store.writer)
    events = heard(session)
    handlers = list(logging.getLogger().handlers)
    session.stop()
    session.start()
    assert events == []
    assert session.agents == ()
    assert logging.getLogger().handlers == handlers  # the demo's log handler never went in
