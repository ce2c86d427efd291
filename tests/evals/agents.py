"""Agents and datasets the evals tests share: the weather tool on the scripted model."""

from __future__ import annotations

import zlib

from lumos_core import Agent, ScriptedModel, tool
from lumos_core.evals import Dataset


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    degrees = zlib.crc32(city.lower().encode()) % 25 + 5
    return f"Sunny, {degrees} °C in {city}."


@tool
def get_forecast(city: str, days: int = 3) -> str:
    """The forecast for a city."""
    return f"{days} days of sun in {city}."


def weather_agent() -> Agent:
    """Calls get_weather with the city it reads in the message, then reports the result."""
    return Agent("weather", "Answer with get_weather.", model=ScriptedModel(),
                 tools=[get_weather, get_forecast])


def weather_cases() -> Dataset:
    return Dataset.from_cases("weather", [
        {"id": "paris", "input": "weather in Paris?", "expected": "Paris",
         "metadata": {"expected_tools": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}},
        {"id": "rome", "input": "weather in Rome?", "expected": "Rome",
         "metadata": {"expected_tools": ["get_weather"]}},
        {"id": "wrong", "input": "weather in Oslo?", "expected": "Lima",
         "metadata": {"expected_tools": [{"name": "get_weather", "arguments": {"city": "Lima"}}]}},
    ])
