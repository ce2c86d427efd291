"""Replaying agents with ``Memory``: each turn sees the window, working memory and recall recorded,
whatever the agent's own memory file holds by now."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, tool
from lumos_core.memory import Memory, SemanticRecall, WorkingMemory
from lumos_core.memory.recall import RECALL_HEADER
from lumos_core.testing import TraceDivergence, replay
from lumos_studio.demo import agents as demo
from lumos_studio.ingest.convert import span_to_record

TRACES = Path(__file__).resolve().parents[2] / "traces"


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def _spans(exporter: InMemorySpanExporter) -> list:
    return [span_to_record(s) for s in exporter.get_finished_spans()]


def test_the_readme_agent_with_memory_replays_its_own_trace(
    tmp_path: Path, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """The memory file already holds the recorded thread; a live replay would show the model the
    recorded messages twice ("message 2 … recorded: (no message)")."""
    weather = Agent(name="weather", instructions="Answer weather questions.", model="scripted",
                    tools=[get_weather], memory=Memory(tmp_path / "memory.db"))
    weather.run_sync("weather in Paris?", thread_id="t1", tracer_provider=tracer_provider)
    weather.run_sync("weather in Lyon?", thread_id="t1", tracer_provider=tracer_provider)
    results = replay(_spans(exporter)).run(weather)
    assert [r.output for r in results] == ["Sunny in Paris", "Sunny in Lyon"]
    assert len(weather.memory.messages("t1")) == 8  # the replay wrote nothing to the real file


def test_working_memory_and_recall_are_fed_as_recorded(
    tmp_path: Path, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    memory = Memory(tmp_path / "memory.db", last_messages=2,
                    working_memory=WorkingMemory(scope="resource"),
                    semantic_recall=SemanticRecall(top_k=3, message_range=1, min_score=0.0))
    assistant = Agent("assistant", demo.assistant.instructions, demo.assistant.model,
                      memory=memory)
    said = [("t1", "remember that my city is Lyon"), ("t1", "my dog is called Rex"),
            ("t1", "nice weather today"), ("t2", "what is my city?"),
            ("t2", "what is my dog?")]
    for thread, message in said:
        assistant.run_sync(message, thread_id=thread, resource_id="ada",
                           tracer_provider=tracer_provider)
    spans = _spans(exporter)
    inputs = [s.attributes.get("gen_ai.input.messages", "") for s in spans
              if s.name.startswith("chat")]
    assert any(RECALL_HEADER in text for text in inputs)  # the trace does hold recall
    memory.update_working_memory("# User\n- City: Paris", resource_id="ada")  # moved on since

    results = replay(spans).run(assistant)
    assert [r.output for r in results][-2:] == [
        "Your city is Lyon.", "Your dog is called Rex (you told me earlier)."]
    assert "Paris" in memory.working_memory(resource_id="ada")  # the real memory is untouched


def test_the_demo_assistant_replays_its_saved_trace_with_its_own_memory() -> None:
    results = replay(TRACES / "assistant.jsonl").run(demo.assistant)
    assert len(results) == 4 and results[-1].output == "Your city is Lyon."


def test_a_turn_the_trace_does_not_hold_is_a_divergence(
    tmp_path: Path, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    weather = Agent("weather", "Answer weather questions.", "scripted", tools=[get_weather],
                    memory=Memory(tmp_path / "memory.db"))
    weather.run_sync("weather in Paris?", thread_id="t1", tracer_provider=tracer_provider)
    replaying = replay(_spans(exporter)).agent(weather)
    replaying.run_sync("weather in Paris?", thread_id="t1")
    with pytest.raises(TraceDivergence, match=r"turn 2: the trace holds only 1 turn\(s\) of agent "
                                               r"'weather'"):
        replaying.run_sync("and in Lyon?", thread_id="t1")


def test_replay_refuses_an_unknown_memory_mode() -> None:
    with pytest.raises(ValueError, match="memory= must be 'recorded' or 'live'"):
        replay(TRACES / "assistant.jsonl", memory="fresh")  # type: ignore[arg-type]
