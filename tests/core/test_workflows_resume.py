"""Suspend and resume: state persisted in SQLite, resumed by a fresh Workflow, spans linked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from lumos_core.telemetry import semconv as sc
from lumos_core.workflows import (
    FunctionStep,
    ResumeError,
    SnapshotStore,
    StepContext,
    Workflow,
    WorkflowError,
    branch,
    parallel,
    step,
)


class Request(BaseModel):
    amount: int


class Quote(BaseModel):
    amount: int
    fee: int


def build(db: Path, calls: list[str]) -> Workflow:
    """The same definition, built afresh (as another process would) for each Workflow object."""

    @step(output_schema=Quote)
    def quote(ctx: StepContext) -> dict[str, int]:
        calls.append("quote")
        return {"amount": ctx.input.amount, "fee": 3}

    @step
    def approve(ctx: StepContext) -> str:
        calls.append("approve")
        if not ctx.resumed:
            ctx.suspend({"question": f"pay {ctx.input.amount + ctx.input.fee}?"})
        assert isinstance(ctx.get("quote"), Quote)  # restored as its schema's model
        return "approved" if ctx.resume_data["ok"] else "rejected"

    @step
    def pay(ctx: StepContext) -> str:
        calls.append("pay")
        return f"{ctx.input}: {ctx.get('quote').amount} for {ctx.workflow_input.amount}"

    return Workflow("payment", [quote, approve, pay], input_schema=Request, store=db)


async def test_suspend_persists_and_a_fresh_workflow_resumes_from_the_file(
    tmp_path: Path, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    db = tmp_path / "runs" / "workflows.db"
    calls: list[str] = []
    first = await build(db, calls).run({"amount": 40}, tracer_provider=tracer_provider)

    assert first.status == "suspended"
    assert first.suspended == {"approve": {"question": "pay 43?"}}
    assert first.suspended_steps == ("approve",)
    assert first.output is None
    assert calls == ["quote", "approve"]

    saved = SnapshotStore(db).load(first.run_id)
    assert saved is not None
    assert saved.status == "suspended"
    assert saved.outputs == {"quote": {"amount": 40, "fee": 3}}
    assert saved.suspended == {"approve": {"question": "pay 43?"}}
    assert saved.input == {"amount": 40}

    calls.clear()
    resumed = await build(db, calls).resume(
        first.run_id, step="approve", resume_data={"ok": True}, tracer_provider=tracer_provider
    )

    assert calls == ["approve", "pay"]  # quote completed before: not run again
    assert resumed.status == "success"
    assert resumed.run_id == first.run_id
    assert resumed.output == "approved: 40 for 40"
    assert resumed.outputs["quote"] == Quote(amount=40, fee=3)
    assert resumed.suspended == {}
    assert SnapshotStore(db).load(first.run_id).status == "success"

    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.parent is None]
    assert [r.attributes[sc.LUMOS_WORKFLOW_STATUS] for r in roots] == ["suspended", "success"]
    suspended_root, resumed_root = roots
    assert suspended_root.attributes[sc.LUMOS_WORKFLOW_SUSPENDED_STEPS] == ("approve",)
    event = suspended_root.events[0]
    assert event.name == sc.EVENT_WORKFLOW_SUSPENDED
    assert json.loads(event.attributes[sc.LUMOS_WORKFLOW_SUSPEND_PAYLOAD]) == {
        "question": "pay 43?"
    }
    approve_spans = [s for s in spans if s.name == "step approve"]
    assert approve_spans[0].attributes[sc.LUMOS_WORKFLOW_STEP_STATUS] == "suspended"
    assert [e.name for e in approve_spans[0].events] == [sc.EVENT_WORKFLOW_SUSPENDED]
    assert approve_spans[1].attributes[sc.LUMOS_WORKFLOW_RESUMED] is True
    assert json.loads(approve_spans[1].attributes[sc.LUMOS_WORKFLOW_RESUME_DATA]) == {"ok": True}

    assert resumed_root.attributes[sc.LUMOS_WORKFLOW_RUN_ID] == first.run_id
    assert resumed_root.attributes[sc.LUMOS_WORKFLOW_RESUMED] is True
    assert resumed_root.attributes[sc.LUMOS_WORKFLOW_RESUME_STEP] == "approve"
    (link,) = resumed_root.links
    assert link.context.span_id == suspended_root.context.span_id
    assert link.context.trace_id == suspended_root.context.trace_id
    assert link.attributes[sc.LUMOS_WORKFLOW_RUN_ID] == first.run_id
    resumed_steps = [s.name for s in spans if s.context.trace_id == resumed_root.context.trace_id]
    assert "step quote" not in resumed_steps  # completed steps leave no span when skipped


def test_a_run_resumes_once_and_errors_say_why(tmp_path: Path) -> None:
    db = tmp_path / "workflows.db"
    workflow = build(db, [])
    run = workflow.run_sync({"amount": 1})

    with pytest.raises(ResumeError, match="no workflow run 'nope'"):
        workflow.resume_sync("nope")
    with pytest.raises(ResumeError, match=r"step 'pay' is not suspended .* \(suspended: approve\)"):
        workflow.resume_sync(run.run_id, step="pay")
    with pytest.raises(ResumeError, match="belongs to workflow 'payment', not 'other'"):
        Workflow("other", [step(lambda ctx: 1, name="x")], store=db).resume_sync(run.run_id)

    with pytest.raises(WorkflowError, match=f"run id '{run.run_id}' is already used"):
        workflow.run_sync({"amount": 2}, run_id=run.run_id)

    done = workflow.resume_sync(run.run_id, resume_data={"ok": False})  # the only suspended step
    assert done.output == "rejected: 1 for 1"
    with pytest.raises(ResumeError, match="is success; only a suspended run can be resumed"):
        workflow.resume_sync(run.run_id, resume_data={"ok": True})
    assert workflow.get_run(run.run_id).output == "rejected: 1 for 1"


async def test_a_step_can_suspend_again_until_it_has_what_it_needs(tmp_path: Path) -> None:
    @step
    def collect(ctx: StepContext) -> list[str]:
        names = list(ctx.resume_data or []) if ctx.resumed else []
        if len(names) < 2:
            ctx.suspend({"have": names, "need": 2})
        return names

    workflow = Workflow("collect", [collect], store=tmp_path / "w.db")
    run = await workflow.run()
    again = await workflow.resume(run.run_id, resume_data=["ada"])
    assert again.status == "suspended"
    assert again.suspended == {"collect": {"have": ["ada"], "need": 2}}
    done = await workflow.resume(run.run_id, resume_data=["ada", "grace"])
    assert done.output == ["ada", "grace"]


async def test_parallel_suspensions_are_resumed_one_at_a_time(tmp_path: Path) -> None:
    calls: list[str] = []

    def asker(name: str) -> FunctionStep:
        def ask(ctx: StepContext) -> str:
            calls.append(name)
            if not ctx.resumed:
                ctx.suspend(f"{name}?")
            return f"{name}={ctx.resume_data}"

        return step(ask, name=name)

    summary = step(lambda ctx: sorted(ctx.input.values()), name="summary")
    workflow = Workflow(
        "two", [parallel(asker("a"), asker("b"), name="ask"), summary], store=tmp_path / "w.db"
    )
    run = await workflow.run()
    assert run.suspended == {"a": "a?", "b": "b?"}

    with pytest.raises(ResumeError, match=r"several suspended steps \(a, b\); pass step="):
        await workflow.resume(run.run_id)
    calls.clear()
    half = await workflow.resume(run.run_id, step="b", resume_data=2)
    assert half.status == "suspended"
    assert half.suspended == {"a": "a?"}  # still waiting, and not run again
    assert calls == ["b"]
    done = await workflow.resume(run.run_id, step="a", resume_data=1)
    assert calls == ["b", "a"]
    assert done.output == ["a=1", "b=2"]


async def test_a_resumed_branch_follows_the_path_it_chose_before(tmp_path: Path) -> None:
    flips = iter([True, False])
    wait = step(lambda ctx: ctx.resume_data if ctx.resumed else ctx.suspend("go?"), name="wait")
    other = step(lambda ctx: "other path", name="other")
    workflow = Workflow(
        "path", [branch((lambda ctx: next(flips), wait), default=other)], store=tmp_path / "w.db"
    )
    run = await workflow.run()
    done = await workflow.resume(run.run_id, resume_data="went")
    assert done.output == "went"


async def test_a_suspended_run_whose_outputs_cannot_be_saved_fails_clearly(
    tmp_path: Path,
) -> None:
    opaque = step(lambda ctx: object(), name="opaque")
    wait = step(lambda ctx: ctx.suspend(), name="wait")
    workflow = Workflow("opaque", [opaque, wait], store=tmp_path / "w.db")
    with pytest.raises(WorkflowError, match=r"cannot save the run's outputs \(step 'opaque'\)"):
        await workflow.run()
    # A run that does not suspend keeps such outputs in memory and saves their text.
    finished = await Workflow("fine", [opaque], store=tmp_path / "w.db").run()
    assert finished.status == "success"


def test_the_default_store_is_under_dot_lumos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    workflow = Workflow("default", [step(lambda ctx: ctx.suspend("hold"), name="hold")])
    run = workflow.run_sync()
    assert (tmp_path / ".lumos" / "workflows.db").is_file()
    assert workflow.store.path == str(tmp_path / ".lumos" / "workflows.db")
    assert [r.run_id for r in workflow.store.runs(status="suspended")] == [run.run_id]
    workflow.store.close()
