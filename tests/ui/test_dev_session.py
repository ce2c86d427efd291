"""The daily loop in the studio: edit the agent file, save, keep chatting with the new code."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from lumos_studio.app import StudioApp
from lumos_studio.sessions.worker import WorkerSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.load_error import LoadErrorPanel, render_problem
from tests.ui.helpers import wait_for

AGENTS = '''
from lumos_core import Agent, tool

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"

weather = Agent(name="weather", model="scripted", tools=[get_weather])
'''


def transcript(app: StudioApp) -> str:
    return "\n".join(str(w.content) for w in app.query(".turn"))


async def test_edit_reload_break_and_fix_while_chatting(store: Store, tmp_path: Path) -> None:
    agent_file = tmp_path / "agents.py"
    agent_file.write_text(AGENTS)
    app = StudioApp(store, WorkerSession(agent_file, None))
    async with app.run_test(size=(120, 40)) as pilot:
        agents = app.query_one(AgentList)
        await wait_for(pilot, lambda: app.loads == 1 and agents.option_count == 1, timeout=20)
        await pilot.press(*"weather in Paris?", "enter")
        await wait_for(pilot, lambda: "weather › Sunny in Paris" in transcript(app), timeout=20)

        agent_file.write_text(AGENTS.replace("Sunny in", "Rainy in"))
        await wait_for(pilot, lambda: app.loads == 2, timeout=20)
        await pilot.press("ctrl+r")  # re-run the last input against the new code
        await wait_for(pilot, lambda: "weather › Rainy in Paris" in transcript(app), timeout=20)
        assert next(m.text for m in app.conversations["weather"].history) == "weather in Paris?"
        # both turns: the thread survived the reload
        assert len(app.conversations["weather"].history) == 8

        agent_file.write_text(AGENTS.replace("def get_weather(city: str) -> str:",
                                             "def get_weather(city: str) -> str"))
        panel = app.query_one(LoadErrorPanel)
        await wait_for(pilot, lambda: panel.problem is not None, timeout=20)
        assert panel.display and panel.problem.line == 5
        assert agents.border_subtitle == "stale: last good version"

        agent_file.write_text(AGENTS.replace("Sunny in", "Foggy in"))
        await wait_for(pilot, lambda: panel.problem is None, timeout=20)
        assert not panel.display and agents.border_subtitle == ""
        await pilot.press(*"weather in Oslo?", "enter")
        await wait_for(pilot, lambda: "weather › Foggy in Oslo" in transcript(app), timeout=20)



async def test_spans_from_any_otel_program_show_up_live(store: Store, tmp_path: Path) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from lumos_studio.ingest.otlp_http import OtlpReceiver
    from lumos_studio.ui.widgets.trace_list import TraceList

    receiver = OtlpReceiver(store.writer, port=0).start()
    agent_file = tmp_path / "agents.py"
    agent_file.write_text(AGENTS)
    app = StudioApp(store, WorkerSession(agent_file, receiver.endpoint),
                    endpoint=receiver.endpoint)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            assert receiver.endpoint in app.sub_title
            other = TracerProvider(resource=Resource.create({"service.name": "billing"}))
            other.add_span_processor(SimpleSpanProcessor(
                OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces")))
            with other.get_tracer("billing").start_as_current_span("charge card"):
                pass
            traces = app.query_one(TraceList)
            await wait_for(pilot, lambda: any(t.root_name == "charge card"
                                              for t in traces.summaries))
            await wait_for(pilot, lambda: app.loads == 1, timeout=20)
            await pilot.press(*"weather in Lima?", "enter")
            await wait_for(pilot, lambda: any(t.agent_name == "weather" and t.span_count == 4
                                              for t in traces.summaries), timeout=20)
            other.shutdown()
    finally:
        receiver.stop()


def shown(panel: LoadErrorPanel) -> str:
    """The panel's text as it draws it: its message, the hint, the closing line."""
    assert panel.problem is not None
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(render_problem(panel.problem))
    return console.export_text()


async def test_a_file_with_no_agents_says_so_and_a_saved_agent_clears_it(
    store: Store, tmp_path: Path
) -> None:
    agent_file = tmp_path / "noagents.py"
    agent_file.write_text("GREETING = 'hello'\n")
    app = StudioApp(store, WorkerSession(agent_file, None, explain_empty=True))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(LoadErrorPanel)
        await wait_for(pilot, lambda: panel.problem is not None, timeout=20)
        await wait_for(pilot, lambda: panel.region.height > 2)  # on screen, under the list
        assert panel.problem is not None
        assert panel.problem.message == "noagents.py defines no agents or workflows"
        text = shown(panel)
        assert 'Agent(name="assistant"' in text and "the studio reloads by itself" in text
        agents = app.query_one(AgentList)
        assert agents.option_count == 0 and agents.border_subtitle == ""  # not "loading…"

        agent_file.write_text(AGENTS)  # hot reload brings one: the notice goes
        await wait_for(pilot, lambda: panel.problem is None and agents.option_count == 1,
                       timeout=20)
        assert not panel.display


async def test_dev_agent_naming_nothing_the_file_defines_lists_what_it_does(
    store: Store, tmp_path: Path
) -> None:
    agent_file = tmp_path / "agents.py"
    agent_file.write_text(AGENTS)
    app = StudioApp(store, WorkerSession(agent_file, None, only=("nope",), explain_empty=True))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(LoadErrorPanel)
        await wait_for(pilot, lambda: panel.problem is not None, timeout=20)
        await wait_for(pilot, lambda: panel.region.height > 2)
        assert app.query_one(AgentList).option_count == 0 and panel.problem is not None
        assert panel.problem.message == (
            "no agent or workflow named 'nope' in agents.py (agents: weather)")
        assert "or start dev with --agent weather" in shown(panel)


async def test_dev_agent_naming_one_of_two_unknown_keeps_the_other_and_says_so(
    store: Store, tmp_path: Path
) -> None:
    agent_file = tmp_path / "agents.py"
    agent_file.write_text(AGENTS)
    app = StudioApp(store, WorkerSession(agent_file, None, only=("weather", "nope")))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        agents = app.query_one(AgentList)
        await wait_for(pilot, lambda: app.loads == 1 and agents.option_count == 1, timeout=20)
        assert app.query_one(LoadErrorPanel).problem is None
        assert any("no agent or workflow named 'nope' in agents.py (agents: weather)"
                   in str(n.message) for n in app._notifications)
