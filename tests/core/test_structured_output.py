"""Structured output: ``output_type=`` gives a validated, typed answer over both wire formats
(OpenAI's JSON-schema response format, Anthropic's forced ``final_result`` tool) and scripted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel
from typing_extensions import TypedDict

from lumos_core import Agent, ScriptedModel, tool
from lumos_core.models.anthropic import AnthropicModel
from lumos_core.models.openai import OpenAIChatModel
from lumos_core.output import OutputValidationError
from lumos_core.telemetry import semconv as sc
from tests.core.provider_server import ProviderServer, running_server
from tests.core.test_anthropic_model import message, tool_use
from tests.core.test_openai_model import completion

KEY = "sk-test-output"


class City(BaseModel):
    name: str
    population: int


@dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


@tool
def lookup(city: str) -> str:
    """Facts about a city."""
    return f"{city}: 2,100,000 people"


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with running_server() as state:
        yield state


def gpt(server: ProviderServer) -> OpenAIChatModel:
    return OpenAIChatModel("gpt-test", api_key=KEY, base_url=f"{server.origin}/v1")


def claude(server: ProviderServer) -> AnthropicModel:
    return AnthropicModel("claude-test", api_key=KEY, base_url=server.origin)


async def test_openai_gets_a_strict_json_schema_and_the_answer_comes_back_typed(
    server: ProviderServer, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    server.reply(completion('{"name": "Paris", "population": 2100000}'))
    agent = Agent("facts", "Answer with facts.", gpt(server), output_type=City)

    result = await agent.run("Tell me about Paris", tracer_provider=tracer_provider)

    assert result.output == City(name="Paris", population=2100000)
    response_format = server.requests[0].body["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]
    assert schema["name"] == "City" and schema["strict"] is True
    assert schema["schema"]["properties"].keys() == {"name", "population"}
    assert schema["schema"]["additionalProperties"] is False
    assert "tools" not in server.requests[0].body
    spans = exporter.get_finished_spans()
    assert {s.name: s.attributes.get(sc.OUTPUT_TYPE) for s in spans} == {
        "chat gpt-test": "json", "invoke_agent facts": "json",
    }


async def test_openai_invalid_answer_goes_back_once_with_the_error(server: ProviderServer) -> None:
    server.reply(completion('{"name": "Paris", "population": "many"}'))
    server.reply(completion('```json\n{"name": "Paris", "population": 2100000}\n```'))
    agent = Agent("facts", "", gpt(server), output_type=City)

    result = await agent.run("Paris?")

    assert result.output.population == 2100000
    retry = server.requests[1].body["messages"][-1]
    assert retry["role"] == "user"
    assert "population" in retry["content"] and "schema" in retry["content"]
    assert result.steps == 2


async def test_a_second_invalid_answer_raises_a_clear_error(server: ProviderServer) -> None:
    server.reply(completion("Paris is big."))
    server.reply(completion('{"name": "Paris"}'))
    agent = Agent("facts", "", gpt(server), output_type=City)

    with pytest.raises(OutputValidationError, match=r"did not match City .*population"):
        await agent.run("Paris?")
    assert len(server.requests) == 2


async def test_anthropic_is_forced_to_call_final_result_and_its_input_is_the_answer(
    server: ProviderServer, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    server.reply(message(
        tool_use("tu_1", "final_result", {"name": "Paris", "population": 2100000}),
        stop_reason="tool_use",
    ))
    agent = Agent("facts", "", claude(server), output_type=City)

    result = await agent.run("Paris?", tracer_provider=tracer_provider)

    assert result.output == City(name="Paris", population=2100000)
    body = server.requests[0].body
    assert [t["name"] for t in body["tools"]] == ["final_result"]
    assert body["tools"][0]["input_schema"]["required"] == ["name", "population"]
    assert body["tool_choice"] == {"type": "tool", "name": "final_result"}
    assert [m.role for m in result.messages] == ["user", "assistant", "tool"]
    chat = next(s for s in exporter.get_finished_spans() if s.name.startswith("chat"))
    assert chat.attributes[sc.OUTPUT_TYPE] == "json"


async def test_anthropic_with_other_tools_must_call_one_and_can_correct_its_answer(
    server: ProviderServer,
) -> None:
    server.reply(message(tool_use("tu_1", "lookup", {"city": "Paris"}), stop_reason="tool_use"))
    server.reply(message(
        tool_use("tu_2", "final_result", {"name": "Paris", "population": "lots"}),
        stop_reason="tool_use",
    ))
    server.reply(message(
        tool_use("tu_3", "final_result", {"name": "Paris", "population": 2100000}),
        stop_reason="tool_use",
    ))
    agent = Agent("facts", "", claude(server), [lookup], output_type=City)

    result = await agent.run("Paris?")

    assert result.output.population == 2100000
    first, _, third = (r.body for r in server.requests)
    assert [t["name"] for t in first["tools"]] == ["lookup", "final_result"]
    assert first["tool_choice"] == {"type": "any"}
    correction = third["messages"][-1]["content"][0]
    assert correction["type"] == "tool_result" and correction["tool_use_id"] == "tu_2"
    assert correction["is_error"] is True and "population" in correction["content"]


async def test_scripted_model_answers_through_final_result_or_json_text() -> None:
    by_tool = Agent(
        "p", "", ScriptedModel([ScriptedModel.call("final_result", x=1, y=2)]), output_type=Point
    )
    by_text = Agent("m", "", ScriptedModel(['{"title": "Up", "year": 2009}']), output_type=Movie)

    point = (await by_tool.run("where?")).output
    movie = (await by_text.run("which film?")).output

    assert point == Point(1, 2)
    assert movie == {"title": "Up", "year": 2009}


@pytest.mark.parametrize(
    ("output_type", "answer", "expected"),
    [(int, {"response": 42}, 42), (list[str], {"response": ["a", "b"]}, ["a", "b"])],
)
async def test_scalar_and_list_types_travel_wrapped_in_an_object(
    output_type: object, answer: dict[str, object], expected: object
) -> None:
    seen: list[dict[str, object]] = []

    def script(messages: object, tools: list[dict[str, object]]) -> object:
        seen.extend(tools)
        return ScriptedModel.call("final_result", **answer)

    agent = Agent("n", "", ScriptedModel(script), output_type=output_type)

    result = await agent.run("number?")

    assert result.output == expected
    assert seen[0]["parameters"]["required"] == ["response"]  # type: ignore[index]


async def test_streamed_run_gives_the_typed_output_too(server: ProviderServer) -> None:
    server.reply(completion('{"name": "Oslo", "population": 700000}'))
    agent = Agent("facts", "", gpt(server), output_type=City)

    events = [e async for e in agent.stream("Oslo?")]

    assert events[-1].result.output == City(name="Oslo", population=700000)
    assert json.loads(json.dumps(server.requests[0].body["response_format"]))["type"] == (
        "json_schema"
    )


def test_a_type_pydantic_cannot_describe_is_refused_in_one_sentence() -> None:
    with pytest.raises(TypeError, match=r"output_type .* cannot be described as JSON"):
        Agent("x", "", ScriptedModel([]), output_type=Iterator[int])


def test_a_tool_named_final_result_is_refused_with_output_type() -> None:
    @tool
    def final_result(x: int) -> str:
        """Clashes."""
        return ""

    with pytest.raises(ValueError, match="rename the tool"):
        Agent("x", "", ScriptedModel([]), [final_result], output_type=int)
