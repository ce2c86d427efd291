"""Workflows: sequence, parallel, branch, schemas, failures and the span tree they leave."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from pydantic import BaseModel

from lumos_core import Agent, ScriptedModel
from lumos_core.run_results import TextDelta
from lumos_core.telemetry import semconv as sc
from lumos_core.workflows import (
    FunctionStep,
    StepContext,
    StepStarted,
    StepStreamed,
    Workflow,
    WorkflowEvent,
    WorkflowInputError,
    agent_step,
    branch,
    parallel,
    step,
)


class Order(BaseModel):
    item: str
    quantity: int


class Priced(BaseModel):
    item: str
    total: float


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "workflows.db"


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {s.name: s for s in exporter.get_finished_spans()}


async def test_sequence_passes_each_output_to_the_next_step_in_order(db: Path) -> None:
    calls: list[str] = []

    @step
    def double(ctx: StepContext) -> int:
        calls.append("double")
        return ctx.input * 2

    @step
    async def add_one(ctx: StepContext) -> int:
        calls.append("add_one")
        await asyncio.sleep(0)
        return ctx.input + 1

    @step
    def report(ctx: StepContext) -> str:
        calls.append("report")
        return f"{ctx.workflow_input} -> {ctx.get('double')} -> {ctx.input}"

    workflow = Workflow("math", [double], store=db).then(add_one).then(report)
    run = await workflow.run(5)

    assert calls == ["double", "add_one", "report"]
    assert run.status == "success"
    assert run.output == "5 -> 10 -> 11"
    assert run.outputs == {"double": 10, "add_one": 11, "report": "5 -> 10 -> 11"}
    assert run.error is None


def test_step_then_builds_a_sequence_and_run_sync_runs_it(db: Path) -> None:
    first = step(lambda ctx: ctx.input.upper(), name="upper")
    second = step(lambda ctx: ctx.input + "!", name="shout")
    run = Workflow("words", [first.then(second)], store=db).run_sync("hi")
    assert run.output == "HI!"


async def test_parallel_steps_run_concurrently_and_outputs_are_keyed_by_name(db: Path) -> None:
    # Each step waits for the other's event: run one after the other, this would never finish.
    a_started, b_started = asyncio.Event(), asyncio.Event()

    @step
    async def left(ctx: StepContext) -> str:
        a_started.set()
        await asyncio.wait_for(b_started.wait(), 5)
        return f"left({ctx.input})"

    @step
    async def right(ctx: StepContext) -> str:
        b_started.set()
        await asyncio.wait_for(a_started.wait(), 5)
        return f"right({ctx.input})"

    @step
    def join(ctx: StepContext) -> str:
        return f"{ctx.input['left']} + {ctx.input['right']}"

    workflow = Workflow("fan", [parallel(left, right, name="both"), join], store=db)
    run = await workflow.run("x")

    assert run.status == "success"
    assert run.outputs["both"] == {"left": "left(x)", "right": "right(x)"}
    assert run.output == "left(x) + right(x)"


@pytest.mark.parametrize(("amount", "expected"), [(5, "small"), (50, "medium"), (500, "large")])
async def test_branch_runs_the_first_case_that_holds_else_the_default(
    db: Path, amount: int, expected: str
) -> None:
    ran: list[str] = []

    def sized(label: str) -> FunctionStep:
        def run(ctx: StepContext) -> str:
            ran.append(label)
            return f"{label}:{ctx.input}"

        return step(run, name=label)

    async def medium_case(ctx: StepContext) -> bool:
        return ctx.input < 100

    workflow = Workflow(
        "size",
        [
            branch(
                (lambda ctx: ctx.input < 10, sized("small")),
                (medium_case, sized("medium")),
                default=sized("large"),
                name="by_size",
            )
        ],
        store=db,
    )
    run = await workflow.run(amount)

    assert ran == [expected]
    assert run.output == f"{expected}:{amount}"
    assert run.outputs["by_size"] == run.output


async def test_branch_without_a_match_outputs_none(db: Path) -> None:
    never = step(lambda ctx: "no", name="never")
    run = await Workflow("b", [branch((lambda ctx: False, never))], store=db).run(1)
    assert run.status == "success"
    assert run.output is None
    assert "never" not in run.outputs


async def test_a_failing_step_fails_the_run_and_marks_its_span_error(
    db: Path, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    after: list[str] = []

    @step
    def fine(ctx: StepContext) -> int:
        return 1

    @step
    def broken(ctx: StepContext) -> int:
        raise RuntimeError("the printer is on fire")

    @step
    def later(ctx: StepContext) -> None:
        after.append("ran")

    workflow = Workflow("breaks", [fine, broken, later], store=db)
    run = await workflow.run(None, tracer_provider=tracer_provider)

    assert run.status == "failed"
    assert run.failed_step == "broken"
    assert run.error == "step 'broken' failed: RuntimeError: the printer is on fire"
    assert isinstance(run.exception, RuntimeError)
    assert run.outputs == {"fine": 1}
    assert after == []
    spans = by_name(exporter)
    failed = spans["step broken"]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes[sc.LUMOS_WORKFLOW_STEP_STATUS] == "failed"
    assert failed.attributes[sc.ERROR_TYPE] == "RuntimeError"
    assert [e.name for e in failed.events] == ["exception"]
    assert failed.events[0].attributes["exception.message"] == "the printer is on fire"
    root = spans["invoke_workflow breaks"]
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes[sc.LUMOS_WORKFLOW_STATUS] == "failed"
    assert root.events == ()  # the exception is recorded once, on the step that raised
    assert spans["step fine"].status.status_code is StatusCode.UNSET
    assert "step later" not in spans
    assert workflow.get_run(run.run_id).status == "failed"


async def test_a_failing_parallel_step_cancels_its_sibling(
    db: Path, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    @step
    async def slow(ctx: StepContext) -> str:
        await asyncio.sleep(30)
        return "too late"

    @step
    async def fails(ctx: StepContext) -> str:
        await asyncio.sleep(0)
        raise ValueError("no")

    run = await Workflow("p", [parallel(slow, fails)], store=db).run(
        None, tracer_provider=tracer_provider
    )

    assert run.status == "failed"
    assert run.failed_step == "fails"
    spans = by_name(exporter)
    assert spans["step slow"].attributes[sc.LUMOS_WORKFLOW_STEP_STATUS] == "cancelled"
    assert spans["step parallel[slow, fails]"].status.status_code is StatusCode.ERROR


async def test_invalid_input_raises_a_clear_error_before_anything_runs(db: Path) -> None:
    ran: list[str] = []
    workflow = Workflow(
        "orders", [step(lambda ctx: ran.append("x"), name="take")], input_schema=Order, store=db
    )
    with pytest.raises(WorkflowInputError) as caught:
        await workflow.run({"item": "tea", "quantity": "lots"})
    message = str(caught.value)
    assert "workflow 'orders' input is invalid (Order)" in message
    assert "quantity: Input should be a valid integer" in message
    with pytest.raises(WorkflowInputError, match="item: Field required"):
        await workflow.run({"quantity": 2})
    assert ran == []


async def test_schemas_turn_inputs_and_outputs_into_models(db: Path) -> None:
    @step(input_schema=Order, output_schema=Priced)
    def price(ctx: StepContext) -> dict[str, object]:
        order = ctx.input
        assert isinstance(order, Order)
        return {"item": order.item, "total": order.quantity * 2.5}

    @step
    def describe(ctx: StepContext) -> str:
        assert isinstance(ctx.input, Priced)
        return f"{ctx.input.item}: {ctx.input.total:.2f}"

    workflow = Workflow("shop", [price, describe], input_schema=Order, store=db)
    run = await workflow.run({"item": "tea", "quantity": 3})
    assert run.input == Order(item="tea", quantity=3)
    assert run.outputs["price"] == Priced(item="tea", total=7.5)
    assert run.output == "tea: 7.50"

    bad = Workflow("bad", [price], store=db)
    failed = await bad.run({"item": "tea"})
    assert failed.status == "failed"
    assert "step 'price' input is invalid: quantity: Field required" in (failed.error or "")


async def test_agent_steps_nest_the_agents_spans_under_the_step_span(
    db: Path, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    writer = Agent(
        "writer", model=ScriptedModel(lambda messages, tools: f"story about {messages[-1].text}")
    )

    @step
    def topic(ctx: StepContext) -> str:
        return ctx.input["topic"]

    workflow = Workflow(
        "stories",
        [
            topic,
            parallel(
                writer,
                agent_step(writer, name="titler", prompt=lambda ctx: f"title for {ctx.input}"),
            ),
        ],
        description="Writes a story and a title.",
        store=db,
    )
    run = await workflow.run({"topic": "otters"}, tracer_provider=tracer_provider)

    assert run.output == {"writer": "story about otters", "titler": "story about title for otters"}
    spans = exporter.get_finished_spans()
    ids = {s.context.span_id: s for s in spans}

    def parent(span: ReadableSpan) -> str | None:
        return ids[span.parent.span_id].name if span.parent else None

    tree = sorted((s.name, parent(s)) for s in spans)
    assert tree == sorted([
        ("invoke_workflow stories", None),
        ("step topic", "invoke_workflow stories"),
        ("step parallel[writer, titler]", "invoke_workflow stories"),
        ("step writer", "step parallel[writer, titler]"),
        ("step titler", "step parallel[writer, titler]"),
        ("invoke_agent writer", "step writer"),
        ("invoke_agent writer", "step titler"),
        ("chat scripted", "invoke_agent writer"),
        ("chat scripted", "invoke_agent writer"),
    ])
    assert len({s.context.trace_id for s in spans}) == 1
    root = next(s for s in spans if s.parent is None)
    assert root.attributes[sc.OPERATION_NAME] == sc.OP_INVOKE_WORKFLOW
    assert root.attributes[sc.AGENT_NAME] == "stories"
    assert root.attributes[sc.AGENT_DESCRIPTION] == "Writes a story and a title."
    assert root.attributes[sc.LUMOS_WORKFLOW_NAME] == "stories"
    assert root.attributes[sc.LUMOS_WORKFLOW_RUN_ID] == run.run_id
    assert root.attributes[sc.LUMOS_WORKFLOW_STATUS] == "success"
    assert json.loads(root.attributes[sc.LUMOS_WORKFLOW_OUTPUT]) == run.output
    assert run.trace_id == format(root.context.trace_id, "032x")
    titler = next(s for s in spans if s.name == "step titler")
    assert titler.attributes[sc.LUMOS_WORKFLOW_STEP_KIND] == "agent"
    assert json.loads(titler.attributes[sc.LUMOS_WORKFLOW_STEP_INPUT]) == "otters"
    assert json.loads(titler.attributes[sc.LUMOS_WORKFLOW_STEP_OUTPUT]) == run.output["titler"]
    kinds = {s.attributes[sc.LUMOS_WORKFLOW_STEP_NAME]: s.attributes[sc.LUMOS_WORKFLOW_STEP_KIND]
             for s in spans if s.name.startswith("step ")}
    assert kinds == {"topic": "function", "parallel[writer, titler]": "parallel",
                     "writer": "agent", "titler": "agent"}


async def test_branch_span_names_the_chosen_step(
    db: Path, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    yes = step(lambda ctx: "yes", name="yes")
    no = step(lambda ctx: "no", name="no")
    await Workflow("choose", [branch((lambda ctx: ctx.input, yes), default=no)], store=db).run(
        False, tracer_provider=tracer_provider
    )
    spans = by_name(exporter)
    assert spans["step branch[yes | no]"].attributes[sc.LUMOS_WORKFLOW_BRANCH_CHOSEN] == "no"
    assert "step yes" not in spans
    assert spans["step no"].parent.span_id == spans["step branch[yes | no]"].context.span_id


def test_step_names_must_be_unique_and_steps_must_be_steps(db: Path) -> None:
    first = step(lambda ctx: 1, name="same")
    second = step(lambda ctx: 2, name="same")
    with pytest.raises(ValueError, match="two steps named 'same'"):
        Workflow("dupes", [first, parallel(second)], store=db)
    with pytest.raises(ValueError, match="lambda has no name"):
        step(lambda ctx: 1)
    with pytest.raises(TypeError, match="cannot use 42 as a workflow step"):
        Workflow("bad", [42], store=db)  # type: ignore[list-item]


async def test_on_event_hears_working_steps_and_what_agent_steps_write(
    db: Path, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    writer = Agent("writer", model=ScriptedModel(
        lambda messages, tools: f"a story about {messages[-1].text}"))

    @step
    def topic(ctx: StepContext) -> str:
        return ctx.input["topic"]

    @step
    def approve(ctx: StepContext) -> str:
        if not ctx.resumed:
            ctx.suspend({"question": "publish?"})
        return "published"

    workflow = Workflow("stories", [topic, writer, approve], store=db)
    heard: list[WorkflowEvent] = []
    run = await workflow.run({"topic": "otters"}, tracer_provider=tracer_provider,
                             on_event=heard.append)

    assert run.status == "suspended"
    steps = [(e.step, type(e).__name__, getattr(e, "status", None))
             for e in heard if not isinstance(e, StepStreamed)]
    assert steps == [
        ("topic", "StepStarted", None), ("topic", "StepFinished", "success"),
        ("writer", "StepStarted", None), ("writer", "StepFinished", "success"),
        ("approve", "StepStarted", None), ("approve", "StepFinished", "suspended"),
    ]
    pieces = [e.event.content for e in heard
              if isinstance(e, StepStreamed) and isinstance(e.event, TextDelta)]
    assert len(pieces) > 1 and "".join(pieces) == "a story about otters"  # as it was written
    started = [i for i, e in enumerate(heard) if isinstance(e, StepStarted)]
    streamed = [i for i, e in enumerate(heard) if isinstance(e, StepStreamed)]
    assert started[1] < min(streamed) and max(streamed) < started[2]  # inside the writer step

    heard.clear()  # resumed: the completed steps return their outputs unreported
    resumed = await workflow.resume(run.run_id, tracer_provider=tracer_provider,
                                    on_event=heard.append)
    assert resumed.status == "success"
    assert [(e.step, type(e).__name__) for e in heard] == [
        ("approve", "StepStarted"), ("approve", "StepFinished")]


async def test_a_failing_step_is_heard_as_failed(db: Path) -> None:
    @step
    def broken(ctx: StepContext) -> None:
        raise ValueError("no")

    heard: list[WorkflowEvent] = []
    run = await Workflow("w", [broken], store=db).run(None, on_event=heard.append)
    assert run.status == "failed"
    assert [(type(e).__name__, getattr(e, "status", None)) for e in heard] == [
        ("StepStarted", None), ("StepFinished", "failed")]
