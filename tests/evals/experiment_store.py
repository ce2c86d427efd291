"""Experiments recorded into a real store on a fixed clock, so screens render the same each run."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from lumos_core import Agent, ScriptedModel
from lumos_core.evals import Contains, Dataset, Experiment, Scorer, ToolTrajectory
from lumos_core.testing import CapturedSpans
from lumos_studio.ingest.convert import span_to_record
from lumos_studio.store import Store
from tests.builders import T0
from tests.evals.agents import get_forecast, get_weather, weather_cases

MINUTE = 60 * 10**9


def record_experiment(store: Store, name: str, agent: Agent, start_ns: int,
                      scorers: list[Scorer] | None = None,
                      dataset: Dataset | None = None) -> str:
    """Run the experiment, then store its spans with times ``start_ns`` + 1 ms per span (each
    lasting 20 ms less per level down); returns its trace id."""
    captured = CapturedSpans()
    result = asyncio.run(Experiment(dataset or weather_cases(), agent,
                                    scorers or [Contains(), ToolTrajectory()], name=name,
                                    concurrency=1, tracer_provider=captured.provider).run())
    spans = captured.spans
    depth: dict[int, int] = {}
    records = []
    for index, span in enumerate(spans):
        parent = span.parent.span_id if span.parent is not None else None
        level = depth[span.context.span_id] = depth.get(parent, -1) + 1 if parent else 0
        start = start_ns + index * 1_000_000
        records.append(replace(span_to_record(span), start_ns=start,
                               end_ns=start + 200_000_000 - level * 20_000_000))
    store.writer.submit_many(records)
    store.writer.flush()
    assert result.trace_id is not None
    return result.trace_id


def mixed_up_agent() -> Agent:
    """Asks the forecast for Paris and answers Rome and Oslo as the plain agent does: paris
    regresses on both scorers, wrong still fails."""

    def script(messages: object, tools: object) -> object:
        from lumos_core.models.scripted import _default_reply

        last = messages[-1]  # type: ignore[index]
        if last.role == "user" and "Paris" in last.text:
            return ScriptedModel.call("get_forecast", "f1", city="Lyon")
        return _default_reply(messages, tools)  # type: ignore[arg-type]

    return Agent("weather", "Answer with get_weather.", model=ScriptedModel(script),
                 tools=[get_weather, get_forecast])


def fixed_agent() -> Agent:
    """Answers Oslo with Lima's weather, so the 'wrong' case improves."""

    def script(messages: object, tools: object) -> object:
        from lumos_core.models.scripted import _default_reply

        last = messages[-1]  # type: ignore[index]
        if last.role == "user" and "Oslo" in last.text:
            return ScriptedModel.call("get_weather", "w1", city="Lima")
        return _default_reply(messages, tools)  # type: ignore[arg-type]

    return Agent("weather", "Answer with get_weather.", model=ScriptedModel(script),
                 tools=[get_weather, get_forecast])


def three_experiments(store: Store) -> list[str]:
    """v1 (plain), v2 (paris regressed), v3 (wrong improved) on dataset weather."""
    from tests.evals.agents import weather_agent

    return [record_experiment(store, "weather v1", weather_agent(), T0),
            record_experiment(store, "weather v2", mixed_up_agent(), T0 + MINUTE),
            record_experiment(store, "weather v3", fixed_agent(), T0 + 2 * MINUTE)]
