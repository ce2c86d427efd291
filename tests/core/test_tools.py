from __future__ import annotations

from typing import Annotated

from pydantic import Field

from lumos_core import ToolError, tool


@tool
def forecast(city: str, days: Annotated[int, Field(ge=1, le=7)] = 3) -> dict[str, object]:
    """Forecast for a city.

    Longer text that the model does not need.
    """
    return {"city": city, "days": days}


async def test_schema_comes_from_type_hints_and_docstring() -> None:
    definition = forecast.definition()
    assert definition["name"] == "forecast"
    assert definition["description"] == "Forecast for a city."
    params = definition["parameters"]
    assert params["required"] == ["city"]
    assert params["properties"]["city"] == {"type": "string"}
    assert params["properties"]["days"]["maximum"] == 7


async def test_valid_arguments_are_coerced_and_result_serialised() -> None:
    outcome = await forecast.invoke({"city": "Oslo", "days": "2"})
    assert not outcome.is_error
    assert outcome.text == '{"city":"Oslo","days":2}'


async def test_invalid_arguments_become_an_error_for_the_model() -> None:
    outcome = await forecast.invoke({"town": "Oslo", "days": 9})
    assert outcome.is_error
    assert outcome.error_type == "ValidationError"
    assert "city: Field required" in outcome.text
    assert "days" in outcome.text and "town" in outcome.text


async def test_tool_error_is_returned_other_exceptions_propagate() -> None:
    @tool
    def picky(x: int) -> str:
        if x < 0:
            raise ToolError("x must be positive")
        return str(1 // x)

    outcome = await picky.invoke({"x": -1})
    assert (outcome.is_error, outcome.text) == (True, "x must be positive")
    try:
        await picky.invoke({"x": 0})
    except ZeroDivisionError:
        pass
    else:
        raise AssertionError("a bug in a tool must not be hidden from the developer")


async def test_async_tools_and_direct_calls() -> None:
    @tool(name="shout")
    async def loud(text: str) -> str:
        """Upper-case text."""
        return text.upper()

    assert loud.name == "shout"
    assert (await loud.invoke({"text": "hi"})).text == "HI"
    assert await loud("direct") == "DIRECT"


def test_messages_round_trip_through_their_json_form() -> None:
    from lumos_core.messages import (
        Message,
        TextPart,
        ToolCallPart,
        ToolResultPart,
        message_from_dict,
        message_to_dict,
    )

    conversation = [
        Message.user("weather?"),
        Message("assistant", (TextPart("let me check"), ToolCallPart("c1", "get_weather",
                                                                     {"city": "Oslo"})),
                finish_reason="tool_calls"),
        Message("tool", (ToolResultPart("c1", "get_weather", "bad city", True),)),
        Message.assistant("sorry"),
    ]
    assert [message_from_dict(message_to_dict(m)) for m in conversation] == conversation
