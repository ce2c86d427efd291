"""The loader finds module-level workflows beside agents; existing agent loading is unchanged."""

from __future__ import annotations

import textwrap
from pathlib import Path

from lumos_core import Agent
from lumos_core.loader import load_agents, load_definitions, load_workflows
from lumos_core.workflows import Workflow

SOURCE = textwrap.dedent(
    """
    from lumos_core import Agent
    from lumos_core.workflows import Workflow, step

    helper = Agent("helper", model="scripted")

    @step
    def hello(ctx):
        return f"hello {ctx.input}"

    greet = Workflow("greet", [hello, helper], store=":memory:")
    also_greet = greet  # the same workflow twice is found once
    shout = Workflow("shout", [step(lambda ctx: ctx.input.upper(), name="up")], store=":memory:")
    """
)


def test_loader_finds_workflows_and_agents(tmp_path: Path) -> None:
    path = tmp_path / "wf_project.py"
    path.write_text(SOURCE)

    workflows = load_workflows(path)
    assert list(workflows) == ["greet", "shout"]
    assert all(isinstance(w, Workflow) for w in workflows.values())
    assert list(load_agents(path)) == ["helper"]

    found = load_definitions(path)
    assert list(found.agents) == ["helper"]
    assert isinstance(found.agents["helper"], Agent)
    assert list(found.workflows) == ["greet", "shout"]
    assert found.workflows["shout"].run_sync("hi").output == "HI"


def test_the_bundled_demo_trip_planner_runs_without_a_key(tmp_path: Path) -> None:
    from lumos_studio.demo import workflows as demo

    planner = demo.build_trip_planner(store=tmp_path / "w.db")
    first = planner.run_sync({"destination": "Paris", "days": 2})
    assert first.status == "success", first.error
    assert set(first.outputs) >= {"plan", "research", "weather_scout", "sights_guide"}
    assert first.output == planner.run_sync({"destination": "Paris", "days": 2}).output

    asked = planner.run_sync({"destination": "Oslo", "days": 3, "needs_approval": True})
    assert asked.status == "suspended"
    assert list(asked.suspended) == ["approve"]
    approved = planner.resume_sync(asked.run_id, resume_data={"approved": True})
    assert approved.status == "success"
    assert "approved" in approved.output.lower()
