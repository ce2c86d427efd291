"""Worker sessions: streamed turns and workflows, against a real worker process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lumos_studio.sessions.base import StreamUpdate
from lumos_studio.sessions.worker import WorkerSession
from tests.studio.test_worker_session import wait_until

DEFINITIONS = '''
from pydantic import BaseModel
from lumos_core import Agent, ScriptedModel, tool
from lumos_core.workflows import StepContext, Workflow, step

WORDS = " ".join(f"word{i}" for i in range(40))

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"

paced = Agent(name="paced", model=ScriptedModel([WORDS], chunk_delay=0.005))
burst = Agent(name="burst", model=ScriptedModel([" ".join(f"w{i}" for i in range(500))]))
weather = Agent(name="weather", model="scripted", tools=[get_weather])

class Order(BaseModel):
    item: str
    count: int = 1

@step
def price(ctx: StepContext) -> dict:
    """Price the order."""
    return {"item": ctx.input.item, "total": ctx.input.count * 3}

@step
def confirm(ctx: StepContext) -> dict:
    """Wait for a person when the order is big."""
    if ctx.input["total"] > 10 and not ctx.resumed:
        ctx.suspend({"question": "confirm?", "total": ctx.input["total"]})
    return {**ctx.input, "confirmed": bool((ctx.resume_data or {}).get("ok", True))}

shop = Workflow("shop", [price, confirm], description="Prices an order.", input_schema=Order)
forecast = Workflow("forecast", [weather, paced])
'''


@pytest.fixture
def session(tmp_path: Path) -> Iterator[WorkerSession]:
    path = tmp_path / "defs.py"
    path.write_text(DEFINITIONS)
    started = WorkerSession(path, None, watch=False, workflow_store=tmp_path / "wf.db")
    started.start()
    wait_until(lambda: started.agents)
    yield started
    started.stop()


def test_deltas_arrive_in_order_and_make_the_final_answer(session: WorkerSession) -> None:
    updates: list[StreamUpdate] = []
    outcome = session.run("paced", "go", (), on_event=updates.append)
    assert outcome.output is not None and outcome.output.startswith("word0 word1")
    deltas = [u.text for u in updates if u.tool is None]
    assert len(deltas) >= 2  # streamed, not one piece at the end
    assert len(deltas) < 40  # coalesced: not one message per word
    assert "".join(deltas) == outcome.output


def test_a_fast_model_is_coalesced_into_few_messages(session: WorkerSession) -> None:
    updates: list[StreamUpdate] = []
    outcome = session.run("burst", "go", (), on_event=updates.append)
    assert "".join(u.text for u in updates) == outcome.output
    assert len(updates) <= 5


def test_tool_calls_are_streamed_before_the_answer(session: WorkerSession) -> None:
    updates: list[StreamUpdate] = []
    outcome = session.run("weather", "weather in Paris?", (), on_event=updates.append)
    assert outcome.output == "Sunny in Paris"
    assert updates[0] == StreamUpdate(tool="get_weather", arguments={"city": "Paris"})
    assert updates[1].tool == "get_weather" and updates[1].finished and not updates[1].failed
    assert "".join(u.text for u in updates[2:]) == "Sunny in Paris"


def test_a_workflow_is_discovered_and_runs_in_the_worker(
    session: WorkerSession, tmp_path: Path
) -> None:
    shop = next(a for a in session.agents if a.name == "shop")
    assert shop.kind == "workflow" and shop.steps == ("price", "confirm")
    assert shop.has_input_schema and shop.input_example == '{"item":"…","count":1}'
    assert shop.snapshot_path == str((tmp_path / "wf.db").resolve())  # where to find its runs

    updates: list[StreamUpdate] = []
    done = session.run_workflow("shop", '{"item": "tea"}', on_event=updates.append)
    assert done.status == "success"
    assert [(u.step, u.step_status) for u in updates] == [  # relayed from the worker, in order
        ("price", "running"), ("price", "success"),
        ("confirm", "running"), ("confirm", "success"),
    ]
    assert done.output == {"item": "tea", "total": 3, "confirmed": True}

    waiting = session.run_workflow("shop", '{"item": "tea", "count": 5}')
    assert waiting.status == "suspended" and waiting.run_id
    assert waiting.suspended == {"confirm": {"question": "confirm?", "total": 15}}
    assert (tmp_path / "wf.db").is_file()  # the studio's snapshot file, not the default one
    resumed = session.run_workflow("shop", None, resume=waiting.run_id, resume_data={"ok": False})
    assert resumed.status == "success" and resumed.output["confirmed"] is False


def test_a_bad_workflow_input_is_refused_with_the_validation_message(
    session: WorkerSession,
) -> None:
    refused = session.run_workflow("shop", '{"count": 2}')
    assert refused.status is None
    assert refused.error is not None
    assert "input is invalid (Order): item: Field required" in refused.error


def test_a_workflows_agent_steps_stream_tagged_with_their_step(session: WorkerSession) -> None:
    updates: list[StreamUpdate] = []
    done = session.run_workflow("forecast", '"weather in Paris?"', on_event=updates.append)
    assert done.status == "success"
    text = {step: "".join(u.text for u in updates if u.step == step and not u.step_status)
            for step in ("paced", "weather")}
    assert text["paced"].startswith("word0 word1")  # relayed piece by piece, tagged
    assert text["weather"] == "Sunny in Paris"
    calls = [u for u in updates if u.tool == "get_weather"]
    assert calls and all(u.step == "weather" for u in calls)
