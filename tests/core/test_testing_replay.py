"""Deterministic re-execution from saved traces (``lumos_core.testing``), and divergence reports."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, Message, ScriptedModel
from lumos_core.memory import Memory
from lumos_core.testing import Replay, ReplayModel, TraceDivergence, read_spans, replay
from lumos_studio.demo import agents as demo
from lumos_studio.ingest.convert import span_to_record
from lumos_studio.replay.compare import compare_runs
from lumos_studio.replay.loader import load_trace

TRACES = Path(__file__).resolve().parents[2] / "traces"


@pytest.fixture
def weather_replay() -> Replay:
    """A real conversation, saved by ``scripts/record_demo_traces.py``, as a fixture."""
    return replay(TRACES / "weather-paris.jsonl")


def test_a_saved_conversation_is_a_regression_test(weather_replay: Replay) -> None:
    (turn,) = weather_replay.turns()
    (result,) = weather_replay.run(demo.weather)
    assert turn.message == "weather in Paris?"
    assert result.output == turn.output and result.steps == 2
    assert weather_replay.model().remaining == 0


@pytest.mark.parametrize("name", ["calculator", "docs"])
def test_the_other_demo_runs_reproduce_offline(name: str) -> None:
    agent = getattr(demo, name)
    replayed = replay(TRACES / f"{name}.jsonl")
    results = replayed.run(agent)
    assert [r.output for r in results] == [t.output for t in replayed.turns()]


def test_a_memory_conversation_reproduces_with_a_fresh_memory(tmp_path: Path) -> None:
    recorded = demo.assistant.memory
    assert recorded is not None
    memory = Memory(tmp_path / "memory.db", working_memory=recorded.working_memory_config or False,
                    semantic_recall=recorded.recall_config or False)
    assistant = Agent("assistant", demo.assistant.instructions, demo.assistant.model,
                      memory=memory)
    replayed = replay(TRACES / "assistant.jsonl", memory="live")
    results = replayed.run(assistant)
    assert len(results) == 4 and results[-1].output == "Your city is Lyon."
    assert "Lyon" in memory.working_memory(thread_id="demo-thread", resource_id="demo-user")


def test_the_replayed_run_emits_the_same_structure_and_tokens(
    weather_replay: Replay, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    weather_replay.run(demo.weather, tracer_provider=tracer_provider)
    replayed = [span_to_record(s) for s in exporter.get_finished_spans()]
    with load_trace(TRACES / "weather-paris.jsonl") as loaded:
        recorded = loaded.reader.trace_spans(loaded.trace_ids[0])
    comparison = compare_runs(recorded, replayed)
    assert comparison.summary.startswith("tokens ±0 %, latency −")  # no model latency offline
    assert {row.change for row in comparison.rows} <= {"same", "changed"}
    assert all(d.field == "duration" for row in comparison.rows for d in row.diffs)


def test_different_tool_arguments_are_reported_where_they_diverge(weather_replay: Replay) -> None:
    agent = weather_replay.agent(demo.weather, real_model=True)  # the model decides again
    with pytest.raises(TraceDivergence) as caught:
        agent.run_sync("weather in Lyon?")
    error = caught.value
    assert error.step.startswith("tool call 1 (span ")
    assert error.expected == 'get_weather({"city":"Paris"})'
    assert error.asked == 'get_weather({"city":"Lyon"})'
    assert "asked for other arguments than recorded" in str(error)


def test_a_different_question_is_reported_at_the_first_model_call(weather_replay: Replay) -> None:
    with pytest.raises(TraceDivergence, match=r"model call 1 .*message 1 of the conversation"):
        weather_replay.agent(demo.weather).run_sync("weather in Lyon?")


def test_changed_instructions_diverge_unless_told_to_ignore_them() -> None:
    changed = Agent("weather", "Answer in French.", "scripted", [demo.get_weather])
    with pytest.raises(TraceDivergence, match="system instructions differ"):
        replay(TRACES / "weather-paris.jsonl").run(changed)
    results = replay(TRACES / "weather-paris.jsonl", check_instructions=False).run(changed)
    assert results[0].output.endswith("in Paris.")


def test_an_extra_or_a_missing_model_call_is_reported() -> None:
    chats = replay(TRACES / "weather-paris.jsonl").trace.chats("weather")
    agent = Agent("weather", demo.weather.instructions, ReplayModel(chats[:1]),
                  tools=[demo.get_weather])
    with pytest.raises(TraceDivergence, match=r"model call 2: the trace holds only 1 model call"):
        agent.run_sync("weather in Paris?")
    short = Replay(replay(TRACES / "weather-v1.jsonl").trace)
    replaying = short.agent(demo.weather, real_model=True)
    replaying.model = ScriptedModel([ScriptedModel.call("get_weather", "call_1", city="Paris"),
                                     "done"])
    replaying.run_sync(Message.user(short.turns()[0].message).text)
    with pytest.raises(TraceDivergence, match="ended without the recorded call"):
        short.assert_complete()


def test_an_agent_the_trace_does_not_hold_is_refused(weather_replay: Replay) -> None:
    with pytest.raises(ValueError, match=r"no run of agent 'calculator' \(agents: weather\)"):
        weather_replay.agent(demo.calculator)


def test_the_reader_is_lenient_and_names_a_broken_line(tmp_path: Path) -> None:
    trace_id = bytes(range(1, 17))
    span = {"traceId": base64.b64encode(trace_id).decode(), "spanId": "00000000000000AB",
            "parentSpanId": "0000000000000000", "name": "invoke_agent x",
            "startTimeUnixNano": 5, "status": {"code": "STATUS_CODE_ERROR"},
            "attributes": [{"key": "gen_ai.agent.name", "value": {"string_value": "x"}},
                           {"key": "n", "value": {"intValue": "7"}},
                           {"key": "l", "value": {"arrayValue": {"values": [{"doubleValue": 1}]}}},
                           {"key": "m", "value": {"kvlistValue": {"values": [
                               {"key": "k", "value": {"boolValue": False}}]}}}]}
    path = tmp_path / "t.jsonl"
    line = orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})
    path.write_bytes(line + b"\n" + b'{"resourceLogs": []}\n')
    (read,) = read_spans(path)
    assert read.trace_id == trace_id.hex() and read.span_id == "00000000000000ab"
    assert read.parent_span_id is None and read.status_code == "ERROR" and read.end_ns is None
    assert read.attributes == {"gen_ai.agent.name": "x", "n": 7, "l": [1.0], "m": {"k": False}}
    path.write_bytes(line + b"\n{oops\n")
    with pytest.raises(ValueError, match=r"t\.jsonl:2: not an OTLP JSON line"):
        read_spans(path)


def test_spans_already_read_by_the_studio_replay_too() -> None:
    with load_trace(TRACES / "calculator.jsonl") as loaded:
        spans = loaded.reader.trace_spans(loaded.trace_ids[0])
    (result,) = replay(spans).run(demo.calculator)
    assert result.output == "(12 + 30) * 2 = 84"
