"""Experiments: every case run under its own span, scored with events, reproducible."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from lumos_core import ScriptedModel
from lumos_core.evals import (
    Case,
    Contains,
    Dataset,
    Experiment,
    LLMJudge,
    TokenBudget,
    ToolTrajectory,
    scorer,
)
from lumos_core.telemetry import semconv as sc
from lumos_core.testing import CapturedSpans
from lumos_core.workflows import StepContext, Workflow, step
from tests.evals.agents import weather_agent, weather_cases


def scores_of(result: Any) -> list[tuple[str, int, str, float | None, bool]]:
    return [(c.case.id, c.repeat, s.name, s.value, s.passed) for c in result.cases
            for s in c.scores]


async def test_each_case_is_a_child_span_holding_the_agents_run_with_score_events() -> None:
    captured = CapturedSpans()
    experiment = Experiment(weather_cases(), weather_agent(), [Contains(), ToolTrajectory()],
                            name="weather v1", tracer_provider=captured.provider)
    result = await experiment.run()
    spans = {s.name: s for s in captured.spans}
    root = spans["experiment weather v1"]
    assert root.parent is None
    attributes = dict(root.attributes or {})
    assert attributes[sc.LUMOS_EXPERIMENT_DATASET] == "weather"
    assert attributes[sc.LUMOS_EXPERIMENT_TASK] == "agent weather"
    assert '"contains":{"mean":0.6666666666666666,"pass_rate":0.6666666666666666' in (
        attributes[sc.LUMOS_EXPERIMENT_SUMMARY])
    cases = [s for s in captured.spans if s.name.startswith("case ")]
    assert [s.name for s in cases] == ["case paris", "case rome", "case wrong"]
    for case in cases:
        assert case.parent is not None and case.parent.span_id == root.context.span_id
        agents = [s for s in captured.spans if s.name == "invoke_agent weather"
                  and s.parent is not None and s.parent.span_id == case.context.span_id]
        assert len(agents) == 1
    wrong = cases[2]
    events = [dict(e.attributes or {}) for e in wrong.events
              if e.name == sc.EVENT_EVALUATION_RESULT]
    assert events == [
        {sc.EVALUATION_NAME: "contains", sc.EVALUATION_SCORE_VALUE: 0.0,
         sc.EVALUATION_SCORE_LABEL: "fail", sc.EVALUATION_EXPLANATION: "missing 'Lima'",
         sc.LUMOS_EVALUATION_PASSED: False, sc.LUMOS_EVALUATION_SOURCE: "experiment"},
        {sc.EVALUATION_NAME: "trajectory", sc.EVALUATION_SCORE_VALUE: 0.0,
         sc.EVALUATION_SCORE_LABEL: "fail",
         sc.EVALUATION_EXPLANATION: "expected get_weather(city='Lima'); called "
                                    "get_weather(city='Oslo')",
         sc.LUMOS_EVALUATION_PASSED: False, sc.LUMOS_EVALUATION_SOURCE: "experiment"},
    ]
    assert dict(wrong.attributes or {})[sc.LUMOS_EXPERIMENT_CASE_OUTPUT].startswith('"Sunny')
    assert [c.span_id for c in result.cases] == [format(s.context.span_id, "016x")
                                                 for s in cases]
    assert result.trace_id == format(root.context.trace_id, "032x")
    assert [c.case.id for c in result.failures()] == ["wrong"]


async def test_the_scripted_model_gives_identical_scores_on_repeat() -> None:
    def run() -> Any:
        return Experiment(weather_cases(), weather_agent(),
                          [Contains(), ToolTrajectory(), TokenBudget(60)], repeats=3,
                          concurrency=3, seed=7).run()

    first, second = await run(), await run()
    assert scores_of(first) == scores_of(second)
    assert len(first.cases) == 9
    assert [(c.case.id, c.repeat) for c in first.cases][:3] == [
        ("paris", 0), ("paris", 1), ("paris", 2)]
    assert first.summary("contains").pass_rate == pytest.approx(2 / 3)
    assert first.summary("tokens").mean == 1.0


async def test_the_seed_shuffles_the_order_cases_start_in() -> None:
    dataset = Dataset.from_cases("numbers", [Case(i, i) for i in range(20)])
    orders = []
    for seed in (None, 1, 1, 2):
        started: list[int] = []

        async def task(value: int, started: list[int] = started) -> int:
            started.append(value)
            return value

        result = await Experiment(dataset, task, [], concurrency=1, seed=seed).run()
        assert [c.output for c in result.cases] == list(range(20))  # reported in dataset order
        orders.append(started)
    assert orders[0] == list(range(20))
    assert orders[1] == orders[2] != orders[0]
    assert orders[3] != orders[1]


async def test_concurrency_bounds_the_cases_running_at_once() -> None:
    running, most = 0, 0

    async def task(value: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        running -= 1
        return value

    dataset = Dataset.from_cases("n", [Case(i) for i in range(12)])
    await Experiment(dataset, task, [], concurrency=3).run()
    assert most == 3


async def test_a_case_that_raises_fails_its_scores_and_its_span() -> None:
    def task(value: str) -> str:
        if value == "boom":
            raise RuntimeError("kaput")
        return value

    captured = CapturedSpans()
    dataset = Dataset.from_cases("d", [Case("ok", "ok", id="a"), Case("boom", "x", id="b")])
    result = await Experiment(dataset, task, [Contains()],
                              tracer_provider=captured.provider).run()
    failed = result.cases[1]
    assert failed.error == "RuntimeError: kaput" and not failed.passed
    assert failed.scores[0].explanation == "the task raised RuntimeError: kaput"
    case_span = next(s for s in captured.spans if s.name == "case b")
    assert case_span.status.status_code.name == "ERROR"
    root = next(s for s in captured.spans if s.name == "experiment d")
    assert root.status.status_code.name == "ERROR"
    assert result.cases[0].passed


async def test_a_scorer_that_raises_fails_only_its_score() -> None:
    @scorer
    def broken(output: Any, expected: Any) -> bool:
        raise KeyError("nope")

    dataset = Dataset.from_cases("d", [Case("x", "x")])
    result = await Experiment(dataset, lambda v: v, [broken, Contains()]).run()
    assert result.cases[0].scores[0].explanation == "the scorer raised KeyError: 'nope'"
    assert result.cases[0].scores[1].passed


async def test_a_workflow_is_a_task_and_its_failed_run_an_error(tmp_path: Path) -> None:
    @step
    async def shout(ctx: StepContext) -> str:
        if ctx.input == "fail":
            raise ValueError("no")
        return str(ctx.input).upper()

    workflow = Workflow("shout", [shout], store=tmp_path / "runs.db")
    dataset = Dataset.from_cases("d", [Case("hi", "HI"), Case("fail", "x")])
    result = await Experiment(dataset, workflow, [Contains(case_sensitive=True)]).run()
    assert result.cases[0].output == "HI" and result.cases[0].passed
    assert result.cases[1].error is not None
    assert result.cases[1].error.startswith("WorkflowFailed: workflow 'shout' failed")
    assert Experiment(dataset, workflow, []).task_label == "workflow shout"


async def test_a_judges_call_is_a_span_under_the_case_it_judges() -> None:
    captured = CapturedSpans()
    judge = LLMJudge(ScriptedModel(['{"score": 1, "label": "ok"}'] * 3), "Right city?")
    result = await Experiment(weather_cases(), weather_agent(), [judge],
                              tracer_provider=captured.provider, concurrency=1).run()
    assert result.summary("judge").pass_rate == 1.0
    case_ids = {s.context.span_id: s.name for s in captured.spans if s.name.startswith("case ")}
    judges = [s for s in captured.spans if s.name == "invoke_agent judge judge"]
    assert len(judges) == 3
    assert all(s.parent is not None and s.parent.span_id in case_ids for s in judges)


def test_without_a_recording_provider_the_scorers_still_see_spans() -> None:
    # The global provider is the API's default here: nothing records, so a private one does.
    result = Experiment(weather_cases(), weather_agent(), [ToolTrajectory()]).run_sync()
    assert [c.scores[0].passed for c in result.cases] == [True, True, False]


def test_bad_settings_are_refused() -> None:
    dataset = Dataset.from_cases("d", [Case(1)])
    with pytest.raises(ValueError, match="at least 1"):
        Experiment(dataset, lambda v: v, [], concurrency=0)
    with pytest.raises(ValueError, match="scorer names must differ"):
        Experiment(dataset, lambda v: v, [Contains(), Contains()])
