"""Forking a finished run from a step: the steps ahead keep their outputs, the rest runs again;
with nothing edited the scripted model gives the same run; the fork links to its origin."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, tool
from lumos_core.telemetry import semconv as sc
from lumos_core.workflows import (
    ResumeError,
    SnapshotStore,
    StepContext,
    Workflow,
    agent_step,
    branch,
    foreach,
    step,
)


def build(db: Path, ran: list[str]) -> Workflow:
    """The same definition built afresh for each run, as another process would."""

    @tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        ran.append(f"tool:{city}")
        return f"Sunny in {city}"

    @step
    def plan(ctx: StepContext) -> str:
        ran.append("plan")
        return f"weather in {ctx.input['city']}?"

    @step
    def shout(ctx: StepContext) -> str:
        ran.append("shout")
        return str(ctx.input).upper()

    @step
    def whisper(ctx: StepContext) -> str:
        ran.append("whisper")
        return str(ctx.input).lower()

    @step
    def wrap(ctx: StepContext) -> dict[str, str]:
        ran.append("wrap")
        return {"plan": ctx.get("plan"), "said": ctx.input}

    forecaster = Agent("forecaster", model="scripted", tools=[get_weather])
    loud = branch((lambda ctx: "Rome" in ctx.input, shout), default=whisper, name="loudness")
    return Workflow(
        "trip", [plan, agent_step(forecaster, name="ask"), loud, wrap],
        store=SnapshotStore(db),
    )


async def test_a_fork_with_nothing_edited_reproduces_the_run(
    tmp_path: Path, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    db, ran = tmp_path / "runs.db", []
    original = await build(db, ran).run({"city": "Rome"}, tracer_provider=tracer_provider)
    assert original.status == "success"
    assert ran == ["plan", "tool:Rome", "shout", "wrap"]

    ran.clear()
    forked = await build(db, ran).fork(original.run_id, "ask", tracer_provider=tracer_provider)

    assert forked.run_id != original.run_id
    assert ran == ["tool:Rome", "shout", "wrap"]  # plan kept its output; the rest ran again
    assert forked.output == original.output == {"plan": "weather in Rome?",
                                                 "said": "SUNNY IN ROME"}
    assert dict(forked.outputs) == dict(original.outputs)
    roots = [s for s in exporter.get_finished_spans() if s.parent is None]
    origin_root, fork_root = roots
    assert fork_root.attributes[sc.LUMOS_WORKFLOW_FORK_OF] == original.run_id
    assert fork_root.attributes[sc.LUMOS_WORKFLOW_FORK_STEP] == "ask"
    (link,) = fork_root.links
    assert link.context.span_id == origin_root.context.span_id
    assert link.attributes[sc.LUMOS_WORKFLOW_RUN_ID] == original.run_id
    fork_spans = [s.name for s in exporter.get_finished_spans()
                  if s.context.trace_id == fork_root.context.trace_id]
    assert "step plan" not in fork_spans and "step ask" in fork_spans
    assert SnapshotStore(db).load(original.run_id).outputs["ask"] == "Sunny in Rome"  # type: ignore[union-attr]


async def test_a_fork_with_an_edited_input_takes_its_own_path(tmp_path: Path) -> None:
    db, ran = tmp_path / "runs.db", []
    original = await build(db, ran).run({"city": "Rome"})
    ran.clear()
    forked = await build(db, ran).fork(original.run_id, "ask", input="weather in Oslo?")

    assert ran == ["tool:Oslo", "whisper", "wrap"]  # the branch chose again, after the edit
    assert forked.output == {"plan": "weather in Rome?", "said": "sunny in oslo"}


async def test_a_fork_says_why_it_cannot_start(tmp_path: Path) -> None:
    db, ran = tmp_path / "runs.db", []
    workflow = build(db, ran)
    original = await workflow.run({"city": "Rome"})
    with pytest.raises(ResumeError, match="no workflow run 'nope'"):
        await workflow.fork("nope", "ask")
    with pytest.raises(ResumeError, match="has no step 'fly'"):
        await workflow.fork(original.run_id, "fly")

    @step
    def inner(ctx: StepContext) -> int:
        return int(ctx.input)

    looping = Workflow("loop", [foreach(inner, max_items=3, name="each")], store=db)
    run = await looping.run([1, 2])
    with pytest.raises(ResumeError, match=r"inside loop 'each'.*fork from 'each' instead"):
        await looping.fork(run.run_id, "inner")
    assert (await looping.fork(run.run_id, "each", input=[5])).output == [5]
