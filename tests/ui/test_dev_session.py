"""The daily loop in the studio: edit the agent file, save, keep chatting with the new code."""

from __future__ import annotations

from pathlib import Path

from lumos_studio.app import StudioApp
from lumos_studio.sessions.worker import WorkerSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.load_error import LoadErrorPanel
from tests.ui.helpers import wait_for

AGENTS = '''
from lumos_core import Agent, tool

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"

weather = Agent(name="weather", tools=[get_weather])
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
        assert [m.text for m in app.histories["weather"]][0] == "weather in Paris?"
        assert len(app.histories["weather"]) == 8  # both turns: the thread survived the reload

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

