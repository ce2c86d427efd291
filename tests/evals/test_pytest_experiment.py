"""An experiment as a test: the plugin's ``evaluate`` fixture fails with the cases that fell
short, and ``assert_experiment`` says which."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lumos_core.evals import (
    Case,
    Contains,
    Dataset,
    Experiment,
    ExperimentFailed,
    assert_experiment,
)
from lumos_core.testing import CapturedSpans
from tests.evals.agents import weather_agent, weather_cases

_INNER_TESTS = '''
from lumos_core import Agent, ScriptedModel, tool
from lumos_core.evals import Contains, Dataset, ToolTrajectory

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}."

cases = Dataset.from_cases("weather", [
    {"id": "paris", "input": "weather in Paris?", "expected": "Paris"},
    {"id": "rome", "input": "weather in Rome?", "expected": "Rome"},
    {"id": "oslo", "input": "weather in Oslo?", "expected": "Lima"},
])

def agent():
    return Agent("weather", "Use get_weather.", model=ScriptedModel(), tools=[get_weather])

def test_most_cases_pass(evaluate):
    result = evaluate(cases, agent(), [Contains()], threshold=0.6)
    assert result.summary("contains").pass_rate > 0.6

def test_every_case_must_pass(evaluate):
    evaluate(cases, agent(), [Contains(), ToolTrajectory(["get_weather"])], threshold=1.0)

async def test_async_and_captured(evaluate, captured_spans):
    await evaluate.arun(cases.select(["paris"]), agent(), [Contains()])
    assert captured_spans.names()[0] == "experiment weather"
'''


def test_the_evaluate_fixture_fails_with_the_cases_below_the_threshold(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(_INNER_TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
         "-o", "asyncio_mode=auto", "test_inner.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    out = done.stdout
    assert "PASSED test_inner.py::test_most_cases_pass" in out, out
    assert "PASSED test_inner.py::test_async_and_captured" in out, out
    assert "FAILED test_inner.py::test_every_case_must_pass" in out, out
    assert ("ExperimentFailed: experiment 'weather' on dataset 'weather': contains: pass rate "
            "67% < 100%") in out
    assert "case oslo: contains 0.00: missing 'Lima'" in out
    assert "case paris" not in out.split("ExperimentFailed")[1]
    assert done.returncode == 1


async def test_assert_experiment_checks_only_the_named_scorers() -> None:
    result = await Experiment(weather_cases(), weather_agent(), [Contains()]).run()
    assert assert_experiment(result, 0.6) is result
    with pytest.raises(ExperimentFailed) as failed:
        assert_experiment(result, {"contains": 0.9})
    message = str(failed.value)
    assert message.splitlines()[0] == ("experiment 'weather' on dataset 'weather': contains: "
                                       "pass rate 67% < 90%")
    assert message.splitlines()[1] == "  case wrong: contains 0.00: missing 'Lima'"
    with pytest.raises(KeyError, match="no scorer named 'polite'"):
        assert_experiment(result, {"polite": 0.5})


async def test_a_case_that_raised_is_listed_with_its_error() -> None:
    def task(value: str) -> str:
        raise ValueError(f"cannot {value}")

    captured = CapturedSpans()
    dataset = Dataset.from_cases("d", [Case("fly", "x", id="f")])
    result = await Experiment(dataset, task, [Contains()], repeats=2,
                              tracer_provider=captured.provider).run()
    with pytest.raises(ExperimentFailed) as failed:
        assert_experiment(result)
    assert "  case f: ValueError: cannot fly" in str(failed.value)
    assert "  case f (run 2): ValueError: cannot fly" in str(failed.value)
