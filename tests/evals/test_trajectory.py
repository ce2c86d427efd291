"""The trajectory scorer over the spans of real agent runs."""

from __future__ import annotations

from lumos_core import Agent, ScriptedModel
from lumos_core.evals import Case, ExpectedCall, Sample, ToolTrajectory
from lumos_core.messages import Usage
from lumos_core.testing import CapturedSpans
from tests.evals.agents import get_forecast, get_weather


async def run_spans(*script: object) -> Sample:
    """Spans of an agent run that makes the scripted calls, as a sample."""
    agent = Agent("planner", "Plan.", model=ScriptedModel([*script, "done"]),  # type: ignore[list-item]
                  tools=[get_weather, get_forecast])
    captured = CapturedSpans()
    result = await agent.run("plan a trip", tracer_provider=captured.provider)
    return Sample(Case("plan a trip", id="c"), result.output, captured.spans, 0.1, Usage())


WEATHER = ScriptedModel.call("get_weather", "c1", city="Paris")
FORECAST = ScriptedModel.call("get_forecast", "c2", city="Paris", days=5)


async def test_in_order_passes_with_calls_between_and_fails_out_of_order() -> None:
    sample = await run_spans(WEATHER, ScriptedModel.call("get_weather", "c3", city="Rome"),
                             FORECAST)
    in_order = ToolTrajectory([ExpectedCall("get_weather", {"city": "Paris"}),
                               ExpectedCall("get_forecast", {"days": 5})])
    score = await in_order.score(sample)
    assert score.passed and score.value == 1.0
    assert "called get_weather(city='Paris'), get_weather(city='Rome')" in score.explanation
    backwards = await ToolTrajectory(["get_forecast", "get_weather"]).score(sample)
    assert (backwards.value, backwards.passed) == (0.5, False)


async def test_exact_wants_these_calls_and_no_others() -> None:
    sample = await run_spans(WEATHER, FORECAST)
    assert (await ToolTrajectory(["get_weather", "get_forecast"], order="exact").score(
        sample)).passed
    extra = await ToolTrajectory(["get_weather"], order="exact").score(sample)
    assert not extra.passed and extra.value is not None and extra.value < 1
    swapped = await ToolTrajectory(["get_forecast", "get_weather"], order="exact").score(sample)
    assert swapped.value == 0.0


async def test_any_order_and_argument_matching() -> None:
    sample = await run_spans(FORECAST, WEATHER)
    assert (await ToolTrajectory(["get_weather", "get_forecast"], order="any_order").score(
        sample)).passed
    wrong_city = await ToolTrajectory([ExpectedCall("get_weather", {"city": "Rome"})]).score(
        sample)
    assert not wrong_city.passed
    # days=5 alone is a subset of the call's arguments; exact_arguments wants them all.
    subset = [ExpectedCall("get_forecast", {"days": 5})]
    assert (await ToolTrajectory(subset).score(sample)).passed
    assert not (await ToolTrajectory(subset, exact_arguments=True).score(sample)).passed


async def test_expected_calls_come_from_the_case_metadata() -> None:
    sample = await run_spans(WEATHER)
    case = Case("x", metadata={"expected_tools": [
        {"name": "get_weather", "arguments": {"city": "Paris"}}]}, id="c")
    from_case = Sample(case, sample.output, sample.spans, 0.1, Usage())
    assert (await ToolTrajectory().score(from_case)).passed
    bad = Sample(Case("x", metadata={"expected_tools": [3]}, id="c"), "", sample.spans, 0,
                 Usage())
    assert (await ToolTrajectory().score(bad)).label == "error"
    none = await ToolTrajectory().score(sample)
    assert none.value is None and "metadata.expected_tools" in none.explanation
