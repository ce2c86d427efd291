"""The first-hour frictions of issue 16: each used to fail silently or with a bare error."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from lumos_core import Agent, StepContext, Workflow, tool
from lumos_core.workflows import parallel, step


def test_the_workflow_building_blocks_import_from_the_package_root() -> None:
    import lumos_core
    from lumos_core import agent_step, branch, parallel, sequence, step  # noqa: F401

    assert {"parallel", "step", "branch", "sequence", "agent_step", "WorkflowFailed"} <= set(
        lumos_core.__all__
    )


def build_failing(db: object) -> Workflow:
    def check(ctx: StepContext) -> int:
        raise ValueError(f"{ctx.input} is not a valid amount")

    return Workflow(
        "pay",
        [step(lambda ctx: ctx.input, name="start"), parallel(step(check, name="check"))],
        store=db,
    )


def test_the_output_of_a_failed_run_raises_naming_the_step_and_the_error(tmp_path) -> None:
    from lumos_core import WorkflowFailed

    run = build_failing(tmp_path / "w.db").run_sync(-5)

    assert run.status == "failed"
    assert run.failed_step == "check"
    with pytest.raises(WorkflowFailed) as raised:
        run.output  # noqa: B018 - the read is the test
    message = str(raised.value)
    assert "workflow 'pay' failed at step 'check'" in message
    assert "ValueError: -5 is not a valid amount" in message
    assert "run.status" in message
    assert isinstance(raised.value.__cause__, ValueError)


async def test_an_async_run_fails_the_same_way_and_a_good_run_still_has_its_output(
    tmp_path,
) -> None:
    from lumos_core import WorkflowFailed

    workflow = build_failing(tmp_path / "w.db")
    failed = await workflow.run(3)
    with pytest.raises(WorkflowFailed):
        failed.output  # noqa: B018

    fine = await Workflow("ok", [step(lambda ctx: ctx.input * 2, name="double")],
                          store=tmp_path / "w.db").run(4)
    assert fine.output == 8


async def test_run_sync_inside_a_running_event_loop_says_to_await_run(tmp_path) -> None:
    agent = Agent("echo", model="scripted")
    workflow = Workflow("w", [step(lambda ctx: ctx.input, name="same")], store=tmp_path / "w.db")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited" either
        with pytest.raises(RuntimeError) as agent_error:
            agent.run_sync("hi")
        with pytest.raises(RuntimeError) as workflow_error:
            workflow.run_sync(1)
        with pytest.raises(RuntimeError) as resume_error:
            workflow.resume_sync("some-run")
        with pytest.raises(RuntimeError) as stream_error:
            next(iter(agent.stream_sync("hi")))
    assert str(agent_error.value) == (
        "Agent.run_sync cannot be called here: use `await agent.run(...)` inside async code "
        "(a running event loop was found)"
    )
    assert "use `await workflow.run(...)` inside async code" in str(workflow_error.value)
    assert "use `await workflow.resume(...)`" in str(resume_error.value)
    assert "use `await agent.stream(...)`" in str(stream_error.value)
    assert (await agent.run("hi")).output  # the async road still works
    await asyncio.sleep(0)


def test_tool_without_type_hints_is_refused_naming_the_function_and_parameter() -> None:
    def lookup(order_id, verbose: bool = False) -> str:  # type: ignore[no-untyped-def]
        return "found"

    with pytest.raises(TypeError) as raised:
        tool(lookup)
    message = str(raised.value)
    assert message.startswith("tool 'lookup' (")
    assert "parameter 'order_id' has no type hint" in message
    assert "`order_id: str`" in message


def test_agent_without_a_model_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError) as raised:
        Agent("support", "Help with orders.")
    message = str(raised.value)
    assert message.startswith("agent 'support' has no model: pass model=")
    for choice in ('"scripted"', '"openai:', '"anthropic:', "Model instance"):
        assert choice in message
    assert Agent("support", model="scripted").run_sync("hello").output  # explicit still works


def readme_block(first_line: str) -> str:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S)
              if b.startswith(first_line + "\n")]
    assert len(blocks) == 1, f"README has no single block starting {first_line!r}"
    return blocks[0]


@pytest.mark.parametrize(("name", "expected"), [
    ("team.py", ["Sunny in Paris Usage(", "billing You said: I have a billing question"]),
    ("trip.py", ["{'budget': '600 EUR', 'guide': 'You said: a trip to Rome'}",
                 "workflow 'trip' failed at step 'budget', so it has no output: ValueError: no "
                 "flights to Atlantis"]),
])
def test_the_readme_sub_agent_and_workflow_examples_run_as_written(
    tmp_path: Path, name: str, expected: list[str]
) -> None:
    script = tmp_path / name
    script.write_text(readme_block(f"# {name}"))
    ran = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    for line in expected:
        assert line in ran.stdout
