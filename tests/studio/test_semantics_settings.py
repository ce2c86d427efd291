"""How a model call was asked to answer (temperature, max tokens...), read in every dialect that
says it, for the playground to send again; odd values from the outside are left out."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lumos_studio.semantics import RequestSettings, read_span
from tests.builders import make_span


def _settings(attributes: dict[str, Any]) -> RequestSettings:
    return read_span(make_span("chat gpt-4o", attributes=attributes)).request_settings


def test_genai_request_keys() -> None:
    settings = _settings({
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.temperature": 0.2, "gen_ai.request.max_tokens": 500,
        "gen_ai.request.top_p": 0.9, "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ["END"],
    })
    assert settings == RequestSettings(0.2, 500, 0.9, 7, ("END",))
    assert settings.as_dict() == {"temperature": 0.2, "max_tokens": 500, "top_p": 0.9,
                                  "seed": 7, "stop": ["END"]}


def test_openinference_invocation_parameters() -> None:
    parameters = {"model": "gpt-4o", "temperature": 0, "max_completion_tokens": 64,
                  "stop": "\n\n"}
    settings = _settings({"openinference.span.kind": "LLM",
                          "llm.invocation_parameters": orjson.dumps(parameters).decode()})
    assert settings.as_dict() == {"temperature": 0.0, "max_tokens": 64, "stop": ["\n\n"]}


def test_vercel_ai_settings() -> None:
    settings = _settings({"ai.operationId": "ai.generateText.doGenerate",
                          "ai.model.id": "gpt-4o", "ai.settings.maxOutputTokens": 100,
                          "ai.settings.temperature": 1.5})
    assert settings.as_dict() == {"temperature": 1.5, "max_tokens": 100}


def test_a_span_that_says_nothing_has_no_settings() -> None:
    assert _settings({"gen_ai.operation.name": "chat"}).as_dict() == {}


@pytest.mark.parametrize("key, value", [
    ("gen_ai.request.temperature", -1),
    ("gen_ai.request.temperature", "hot"),
    ("gen_ai.request.temperature", float("nan")),
    ("gen_ai.request.max_tokens", 0),
    ("gen_ai.request.max_tokens", 2.5),
    ("gen_ai.request.top_p", 1.5),
    ("gen_ai.request.stop_sequences", [1, 2]),
    ("gen_ai.request.stop_sequences", "[]"),
    ("gen_ai.request.seed", True),
])
def test_values_no_model_would_take_are_left_out(key: str, value: Any) -> None:
    assert _settings({"gen_ai.operation.name": "chat", key: value}).as_dict() == {}


@given(st.dictionaries(
    st.sampled_from(["gen_ai.request.temperature", "gen_ai.request.max_tokens",
                     "gen_ai.request.top_p", "gen_ai.request.seed",
                     "gen_ai.request.stop_sequences"]),
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
              st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3))))
def test_whatever_a_span_holds_the_settings_are_ones_a_model_takes(
    attributes: dict[str, Any],
) -> None:
    from lumos_core import ModelSettings

    settings = _settings({"gen_ai.operation.name": "chat", **attributes})
    ModelSettings(**settings.as_dict())  # raises on a value it would not send
