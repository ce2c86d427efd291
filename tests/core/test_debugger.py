"""The debugger hook: pause, edit, step, skip and abort in the agent loop and the workflow engine,
with the scripted model; edits end up on the spans."""

from __future__ import annotations

import asyncio
import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from lumos_core import Agent, tool
from lumos_core.debug import (
    Abort,
    Breakpoint,
    Continue,
    Debugger,
    Decision,
    Edit,
    ModelCall,
    PausePoint,
    PauseRequest,
    RunAborted,
    Skip,
    StepNext,
    attached,
)
from lumos_core.telemetry import semconv as sc
from lumos_core.workflows import StepContext, Workflow, step

calls: list[str] = []


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    calls.append(city)
    return f"Sunny in {city}"


def weather(provider: TracerProvider | None = None) -> Agent:
    return Agent("weather", model="scripted", tools=[get_weather], tracer_provider=provider)


def scripted(*decisions: Decision) -> tuple[Debugger, list[PauseRequest]]:
    """A debugger answering its pauses with ``decisions`` in turn (then ``Continue``)."""
    seen: list[PauseRequest] = []
    queue = list(decisions)

    async def decide(request: PauseRequest) -> Decision:
        seen.append(request)
        return queue.pop(0) if queue else Continue()

    return Debugger([], decide), seen


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    calls.clear()


async def test_without_a_debugger_nothing_pauses() -> None:
    result = await weather().run("weather in Paris?")
    assert result.output == "Sunny in Paris" and calls == ["Paris"]


async def test_an_edited_tool_call_runs_with_the_new_arguments_and_the_span_says_so(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    debugger, seen = scripted(Edit({"city": "Rome"}))
    debugger.breakpoints.append(Breakpoint(PausePoint.BEFORE_TOOL, "get_weather"))
    with attached(debugger):
        result = await weather(tracer_provider).run("weather in Paris?")

    assert [(r.point, r.target, r.value) for r in seen] == [
        (PausePoint.BEFORE_TOOL, "get_weather", {"city": "Paris"})
    ]
    assert calls == ["Rome"]
    assert result.output == "Sunny in Rome"
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "execute_tool get_weather"]
    assert span.attributes[sc.debug_key("before_tool", "decision")] == "edit"
    assert json.loads(span.attributes[sc.debug_key("before_tool", "original")]) == {
        "city": "Paris"
    }
    assert json.loads(span.attributes[sc.TOOL_CALL_ARGUMENTS]) == {"city": "Rome"}


async def test_a_bad_edit_is_refused_with_the_reason_and_asked_again() -> None:
    debugger, seen = scripted(Edit({"town": "Rome"}), Edit(["Rome"]), Edit({"city": "Oslo"}))
    debugger.breakpoints.append(Breakpoint(PausePoint.BEFORE_TOOL))
    with attached(debugger):
        result = await weather().run("weather in Paris?")

    assert [r.refused for r in seen] == [
        None, "city: Field required", "a tool's arguments are a JSON object, not list"
    ]
    assert result.output == "Sunny in Oslo"


async def test_step_pauses_at_every_point_after_and_a_model_answer_can_be_edited() -> None:
    debugger, seen = scripted(
        StepNext(), StepNext(), StepNext(), StepNext(), StepNext(), Edit("It rains in Paris.")
    )
    debugger.breakpoints.append(Breakpoint(PausePoint.BEFORE_MODEL, "weather"))
    with attached(debugger):
        result = await weather().run("weather in Paris?")

    assert [r.point for r in seen] == [
        PausePoint.BEFORE_MODEL, PausePoint.AFTER_MODEL, PausePoint.BEFORE_TOOL,
        PausePoint.AFTER_TOOL, PausePoint.BEFORE_MODEL, PausePoint.AFTER_MODEL,
    ]
    first = seen[0].value
    assert isinstance(first, ModelCall)
    assert first.messages[-1]["parts"][0]["content"] == "weather in Paris?"
    assert [t["name"] for t in first.tools] == ["get_weather"]
    assert result.output == "It rains in Paris."


async def test_a_skipped_tool_answers_with_the_stub_and_does_not_run(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    debugger, _ = scripted(Skip("Snowing (stub)"))
    debugger.breakpoints.append(Breakpoint(PausePoint.BEFORE_TOOL))
    with attached(debugger):
        result = await weather(tracer_provider).run("weather in Paris?")

    assert calls == []
    assert result.output == "Snowing (stub)"
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "execute_tool get_weather"]
    assert span.attributes[sc.debug_key("before_tool", "decision")] == "skip"
    assert span.attributes[sc.TOOL_CALL_RESULT] == "Snowing (stub)"


async def test_a_skipped_model_call_answers_with_the_stub() -> None:
    debugger, _ = scripted(Skip("Ask me later."))
    debugger.breakpoints.append(Breakpoint(PausePoint.BEFORE_MODEL))
    with attached(debugger):
        result = await weather().run("weather in Paris?")
    assert result.output == "Ask me later." and calls == []


async def test_abort_ends_the_run() -> None:
    debugger, _ = scripted(Abort("not today"))
    debugger.breakpoints.append(Breakpoint(PausePoint.BEFORE_TOOL))
    with attached(debugger), pytest.raises(RunAborted, match="not today"):
        await weather().run("weather in Paris?")
    assert calls == []


async def test_a_conditional_breakpoint_pauses_only_when_it_holds() -> None:
    debugger, seen = scripted()
    debugger.breakpoints.append(Breakpoint(
        PausePoint.BEFORE_TOOL, when=lambda r: r.value.get("city") == "Rome"
    ))
    with attached(debugger):
        await weather().run("weather in Paris?")
        await weather().run("weather in Rome?")
    assert [r.value for r in seen] == [{"city": "Rome"}]


async def test_a_ui_drives_the_debugger_through_its_queue_of_pauses() -> None:
    debugger = Debugger([Breakpoint(PausePoint.BEFORE_TOOL)])
    with attached(debugger):
        run = asyncio.create_task(weather().run("weather in Paris?"))
    pause = await asyncio.wait_for(debugger.pauses.get(), 10)
    assert pause.request.value == {"city": "Paris"} and not run.done()
    pause.answer(Edit({"city": "Lima"}))
    assert (await asyncio.wait_for(run, 10)).output == "Sunny in Lima"


class Order(BaseModel):
    item: str
    count: int


@step(input_schema=Order)
def price(ctx: StepContext) -> int:
    calls.append(ctx.input.item)
    return ctx.input.count * 3


@step
def total(ctx: StepContext) -> str:
    return f"total {ctx.input}"


async def test_a_workflow_step_input_is_edited_against_its_schema(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    debugger, seen = scripted(Edit({"item": "pear", "count": "many"}),
                              Edit({"item": "pear", "count": 5}))
    debugger.breakpoints.append(Breakpoint(PausePoint.BEFORE_STEP, "price"))
    workflow = Workflow("shop", [price, total], store=":memory:")
    run = await workflow.run({"item": "fig", "count": 2}, debugger=debugger,
                             tracer_provider=tracer_provider)

    assert seen[0].value == Order(item="fig", count=2) and seen[0].workflow == "shop"
    assert "count: Input should be a valid integer" in (seen[1].refused or "")
    assert run.output == "total 15" and calls == ["pear"]
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "step price"]
    assert span.attributes[sc.debug_key("before_step", "decision")] == "edit"
    assert json.loads(span.attributes[sc.LUMOS_WORKFLOW_STEP_INPUT]) == {"item": "pear", "count": 5}


async def test_a_workflow_step_skipped_with_a_stub_and_its_output_edited_after() -> None:
    debugger, seen = scripted(Skip(7), Edit("total by hand"))
    debugger.breakpoints += [Breakpoint(PausePoint.BEFORE_STEP, "price"),
                             Breakpoint(PausePoint.AFTER_STEP, "total")]
    run = await Workflow("shop", [price, total], store=":memory:").run(
        {"item": "fig", "count": 2}, debugger=debugger
    )
    assert calls == []
    assert [r.point for r in seen] == [PausePoint.BEFORE_STEP, PausePoint.AFTER_STEP]
    assert seen[1].value == "total 7"
    assert run.output == "total by hand"


async def test_an_agent_inside_a_workflow_pauses_at_the_workflow_s_debugger() -> None:
    debugger, seen = scripted(Edit({"city": "Kyiv"}))
    debugger.breakpoints.append(Breakpoint(PausePoint.BEFORE_TOOL))
    run = await Workflow("ask", [weather()], store=":memory:").run(
        "weather in Paris?", debugger=debugger
    )
    assert run.output == "Sunny in Kyiv" and seen[0].agent == "weather"


async def test_an_abort_in_a_workflow_fails_it_at_that_step() -> None:
    debugger, _ = scripted(Abort())
    debugger.breakpoints.append(Breakpoint(PausePoint.BEFORE_STEP, "total"))
    run = await Workflow("shop", [price, total], store=":memory:").run(
        {"item": "fig", "count": 2}, debugger=debugger
    )
    assert run.status == "failed" and run.failed_step == "total"
    assert "aborted in the debugger" in (run.error or "")


async def test_a_composite_step_pauses_too_and_a_skip_stands_for_all_of_it() -> None:
    from lumos_core.workflows import parallel

    debugger, seen = scripted(Skip({"price": 1, "total": "stub"}))
    debugger.breakpoints.append(Breakpoint(PausePoint.BEFORE_STEP, "both"))
    run = await Workflow("shop", [parallel(price, total, name="both")], store=":memory:").run(
        {"item": "fig", "count": 2}, debugger=debugger
    )
    assert [(r.target, r.value) for r in seen] == [("both", {"item": "fig", "count": 2})]
    assert calls == [] and run.output == {"price": 1, "total": "stub"}
