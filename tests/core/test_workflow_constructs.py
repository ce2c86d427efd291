"""Loops with bounds, nested workflows, tools as steps: runs, spans, and suspend/resume inside
them, also across a process restart."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import tool
from lumos_core.telemetry import semconv as sc
from lumos_core.workflows import (
    SnapshotStore,
    StepContext,
    Workflow,
    foreach,
    loop_while,
    step,
    tool_step,
)
from lumos_core.workflows.snapshots import RunSnapshot


@step
def double(ctx: StepContext) -> int:
    return int(ctx.input) * 2


async def test_a_while_loop_runs_its_body_until_the_condition_fails(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    grow = loop_while(lambda ctx: ctx.input < 20, double, max_iterations=10, name="grow")
    run = await Workflow("w", [grow], store=":memory:").run(3, tracer_provider=tracer_provider)

    assert run.status == "success"
    assert run.output == 24  # 3 → 6 → 12 → 24
    spans = exporter.get_finished_spans()
    iterations = [s for s in spans if s.name == "iteration grow"]
    assert [s.attributes[sc.LUMOS_WORKFLOW_LOOP_ITERATION] for s in iterations] == [1, 2, 3]
    assert all(s.attributes[sc.LUMOS_WORKFLOW_LOOP_BOUND] == 10 for s in iterations)
    (loop_span,) = [s for s in spans if s.name == "step grow"]
    assert loop_span.attributes[sc.LUMOS_WORKFLOW_STEP_KIND] == "while"
    assert loop_span.attributes[sc.LUMOS_WORKFLOW_LOOP_ITERATIONS] == 3
    assert all(s.parent.span_id == loop_span.context.span_id for s in iterations)


async def test_a_while_loop_past_its_bound_fails_the_step_saying_so() -> None:
    forever = loop_while(lambda ctx: True, double, max_iterations=3, name="forever")
    run = await Workflow("w", [forever], store=":memory:").run(1)

    assert run.status == "failed"
    assert run.failed_step == "forever"
    assert "still held its condition after 3 iterations (max_iterations=3)" in (run.error or "")
    assert run.outputs["double"] == 8  # the third pass ran; a fourth did not


async def test_foreach_maps_a_list_and_refuses_one_past_its_bound_before_running() -> None:
    seen: list[int] = []

    @step
    def square(ctx: StepContext) -> int:
        seen.append(ctx.input)
        return int(ctx.input) ** 2

    each = foreach(square, max_items=3, name="each")
    workflow = Workflow("w", [each], store=":memory:")
    assert (await workflow.run([1, 2, 3])).output == [1, 4, 9]

    seen.clear()
    too_many = await workflow.run([1, 2, 3, 4])
    assert too_many.status == "failed" and too_many.failed_step == "each"
    assert "got 4 items, more than its bound (max_items=3)" in (too_many.error or "")
    assert seen == []
    not_a_list = await workflow.run(5)
    assert "needs a list to go over, not int" in (not_a_list.error or "")


def test_a_loop_needs_its_bound() -> None:
    with pytest.raises(TypeError, match="max_iterations"):
        loop_while(lambda ctx: True, double)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="at least 1"):
        foreach(double, max_items=0)


async def test_a_nested_workflow_runs_in_its_own_span_on_its_own_input(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    @step
    def inner_step(ctx: StepContext) -> str:
        return f"{ctx.workflow}:{ctx.workflow_input}:{ctx.input}"

    @step
    def prepare(ctx: StepContext) -> str:
        return f"<{ctx.input}>"

    child = Workflow("child", [inner_step], description="the inner one")
    parent = Workflow("parent", [prepare, child], store=":memory:")
    run = await parent.run("x", tracer_provider=tracer_provider)

    assert run.output == "child:<x>:<x>"
    spans = {s.name: s for s in exporter.get_finished_spans()}
    nested = spans["invoke_workflow child"]
    assert nested.attributes[sc.OPERATION_NAME] == "invoke_workflow"
    assert nested.attributes[sc.LUMOS_WORKFLOW_PARENT] == "parent"
    assert nested.attributes[sc.LUMOS_WORKFLOW_STATUS] == "success"
    assert nested.parent.span_id == spans["step child"].context.span_id
    assert spans["step inner_step"].parent.span_id == nested.context.span_id
    assert spans["step inner_step"].attributes[sc.LUMOS_WORKFLOW_NAME] == "child"
    assert spans["step child"].attributes[sc.LUMOS_WORKFLOW_STEP_KIND] == "workflow"


def test_nested_step_names_must_not_clash_with_the_parent_s() -> None:
    child = Workflow("child", [double])
    with pytest.raises(ValueError, match="two steps named 'double'"):
        Workflow("parent", [double, child])


async def test_a_tool_is_a_step_with_validated_arguments(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    @tool
    def get_weather(city: str, days: int = 1) -> dict[str, object]:
        """Weather for a city."""
        return {"city": city, "days": days, "sky": "sunny"}

    workflow = Workflow("w", [tool_step(get_weather, name="weather")], store=":memory:")
    run = await workflow.run({"city": "Rome"}, tracer_provider=tracer_provider)

    assert run.output == {"city": "Rome", "days": 1, "sky": "sunny"}
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "execute_tool get_weather"]
    assert json.loads(span.attributes[sc.TOOL_CALL_ARGUMENTS]) == {"city": "Rome", "days": 1}
    assert json.loads(span.attributes[sc.TOOL_CALL_RESULT])["sky"] == "sunny"

    bad = await workflow.run({"days": "many"})
    assert bad.status == "failed" and bad.failed_step == "weather"
    assert "step 'weather' input is invalid" in (bad.error or "")


DEFINITIONS = '''
import os

from lumos_core.workflows import StepContext, Workflow, foreach, step


@step
def ask(ctx: StepContext) -> str:
    if ctx.input == "b" and not ctx.resumed:
        ctx.suspend({"question": "b?"})
    answer = ctx.resume_data if ctx.resumed else "auto"
    return f"{ctx.input}={answer}"


@step
def note(ctx: StepContext) -> str:
    with open(os.environ["CONSTRUCTS_LOG"], "a") as log:
        log.write(ctx.input + "\\n")
    return ctx.input


review = Workflow("review", [ask, note])


@step
def letters(ctx: StepContext) -> list[str]:
    return ["a", "b", "c"]


@step
def done(ctx: StepContext) -> str:
    return ",".join(ctx.input)


def outer(db):
    return Workflow("outer", [letters, foreach(review, max_items=5, name="each"), done], store=db)
'''


def test_a_run_suspended_inside_a_nested_workflow_in_a_loop_resumes_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "defs.py").write_text(DEFINITIONS)
    db, log = tmp_path / "runs.db", tmp_path / "log.txt"
    monkeypatch.setenv("CONSTRUCTS_LOG", str(log))
    first = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys; sys.path.insert(0, {str(tmp_path)!r})
            from defs import outer
            run = outer({str(db)!r}).run_sync()
            print(run.status, run.run_id, list(run.suspended))
        """)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    status, run_id, suspended = first.stdout.split(" ", 2)
    assert status == "suspended" and suspended.strip() == "['ask']"
    assert log.read_text() == "a=auto\n"  # the first pass ran whole; the second stopped at ask

    sys.path.insert(0, str(tmp_path))
    try:
        from defs import outer  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    resumed = outer(db).resume_sync(run_id, step="ask", resume_data="yes")

    assert resumed.status == "success"
    assert resumed.output == "a=auto,b=yes,c=auto"
    assert log.read_text() == "a=auto\nb=yes\nc=auto\n"  # nothing ran twice
    assert SnapshotStore(db).load(run_id).progress == {}  # type: ignore[union-attr]


def test_a_snapshot_file_of_schema_1_gains_the_loops_column(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.executescript("""
            CREATE TABLE workflow_runs (run_id TEXT PRIMARY KEY, workflow TEXT NOT NULL,
              status TEXT NOT NULL, input TEXT NOT NULL, outputs TEXT NOT NULL,
              suspended TEXT NOT NULL, decisions TEXT NOT NULL, error TEXT, trace_id TEXT,
              span_id TEXT, created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL);
            INSERT INTO workflow_runs VALUES ('r1', 'w', 'success', '1', '{}', '{}', '{}',
              NULL, NULL, NULL, 1, 1);
            PRAGMA user_version = 1;
        """)
    store = SnapshotStore(db)
    old = store.load("r1")
    assert old is not None and old.progress == {}
    store.save(RunSnapshot("r2", "w", "suspended", 2, {}, {"s": None}, {}, progress={"l": 1}))
    assert store.load("r2").progress == {"l": 1}  # type: ignore[union-attr]


def test_the_readme_loops_example_runs_as_written(tmp_path: Path) -> None:
    from tests.core.test_friction import readme_block

    script = tmp_path / "loops.py"
    script.write_text(readme_block("# loops.py"))
    ran = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        "['Sunny in Rome', 'Sunny in Oslo']",
        "120",
        "step 'while[double]' failed: LoopLimitExceeded: loop 'while[double]' still held its "
        "condition after 5 iterations (max_iterations=5); raise the bound or change the condition",
        "['Sunny in Lima']",
        "Sunny in Kyiv",
    ]


async def test_a_run_suspended_in_a_while_loop_resumes_in_that_pass(tmp_path: Path) -> None:
    db, ran = tmp_path / "runs.db", []

    def build() -> Workflow:
        @step
        def bump(ctx: StepContext) -> int:
            ran.append(ctx.input)
            return int(ctx.input) + 1

        @step
        def check(ctx: StepContext) -> int:
            if ctx.input == 2 and not ctx.resumed:
                ctx.suspend({"at": ctx.input})
            return int(ctx.input) + (int(ctx.resume_data) if ctx.resumed else 0)

        counting = loop_while(lambda ctx: ctx.input < 14, [bump, check], max_iterations=4,
                              name="counting")
        return Workflow("count", [counting], store=SnapshotStore(db))

    first = await build().run(0)
    assert first.status == "suspended" and first.suspended == {"check": {"at": 2}}
    assert SnapshotStore(db).load(first.run_id).progress == {  # type: ignore[union-attr]
        "counting": {"iteration": 2, "value": 1}
    }
    resumed = await build().resume(first.run_id, resume_data=10)

    assert resumed.status == "success"
    assert ran == [0, 1, 12, 13]  # the second pass went on from check; bump was not run again
    assert resumed.output == 14
