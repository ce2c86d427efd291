"""What every model call of an agent's run sends besides the conversation (tools, merged
settings, the answer's schema) and what its spans say that does not change from call to call.

Made once for a run and kept by the agent while its parts stay the same (the usual case: an
agent answering many messages), not rebuilt for each model call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from lumos_core.messages import instructions_json
from lumos_core.models import Model
from lumos_core.models.base import request_options
from lumos_core.output import FINAL_RESULT_TOOL, OutputSchema, OutputSpec
from lumos_core.settings import ModelSettings, merge_settings
from lumos_core.telemetry import semconv as sc


@dataclass(frozen=True, slots=True)
class RunRequest:
    """A run's model-call parts and its spans' fixed attributes."""

    tools: list[dict[str, Any]]
    settings: ModelSettings | None
    output: OutputSchema | None
    structured: bool
    asked: ModelSettings | None  # the run's own settings, to build the request again
    options: dict[str, Any]  # ``request_options`` for ``Model.request``
    tools_json: str | None  # ``gen_ai.tool.definitions``
    chat_name: str
    #: Every chat span's first attributes; shared, never changed (the SDK copies what it gets).
    chat_attributes: dict[str, Any]
    invoke_name: str
    invoke_attributes: dict[str, Any]
    instructions_json: str | None  # the agent's own instructions (memory adds to them)


def instructions_json_or_none(instructions: str) -> str | None:
    """``gen_ai.system_instructions`` for ``instructions``; None when there are none."""
    return instructions_json(instructions) if instructions else None


def chat_request_attributes(model: Model, settings: ModelSettings | None) -> dict[str, Any]:
    """What a ``chat`` span says of its request before the model answers: the operation, the
    provider and model (and its server), and the settings sent."""
    chat: dict[str, Any] = {
        sc.OPERATION_NAME: sc.OP_CHAT,
        sc.PROVIDER_NAME: model.provider_name,
        sc.REQUEST_MODEL: model.model_name,
        **model.server_attributes(),
    }
    if settings is not None:
        chat.update(settings.span_attributes())
    return chat


def new_run_request(
    model: Model,
    merged: ModelSettings | None,
    asked: ModelSettings | None,
    tools: list[dict[str, Any]],
    output: OutputSpec[Any] | None,
    name: str,
    description: str | None,
    instructions: str,
) -> RunRequest:
    """``merged``: model, agent and run settings; with ``output``, the answer's schema where the
    model takes one, else its answer tool (called, or one of the others, unless the settings
    choose)."""
    if output is None:
        return _made(model, tools, merged, None, False, asked, name, description, instructions)
    if model.native_output:
        return _made(model, tools, merged, output.schema, True, asked, name, description,
                     instructions)
    if merged is None or merged.tool_choice is None:
        # Only the answer tool: call it. Beside other tools: call one of them or answer.
        forced = "required" if tools else FINAL_RESULT_TOOL
        merged = merge_settings(merged, ModelSettings(tool_choice=forced))
    return _made(model, [*tools, output.tool_definition()], merged, None, True, asked, name,
                 description, instructions)


def _made(
    model: Model,
    tools: list[dict[str, Any]],
    settings: ModelSettings | None,
    output: OutputSchema | None,
    structured: bool,
    asked: ModelSettings | None,
    name: str,
    description: str | None,
    instructions: str,
) -> RunRequest:
    chat = chat_request_attributes(model, settings)
    invoke: dict[str, Any] = {
        sc.OPERATION_NAME: sc.OP_INVOKE_AGENT,
        sc.AGENT_NAME: name,
        sc.PROVIDER_NAME: model.provider_name,
        sc.REQUEST_MODEL: model.model_name,
    }
    if description:
        invoke[sc.AGENT_DESCRIPTION] = description
    if structured:
        chat[sc.OUTPUT_TYPE] = "json"
        invoke[sc.OUTPUT_TYPE] = "json"
    return RunRequest(
        tools, settings, output, structured, asked,
        options=request_options(model, settings, output),
        tools_json=orjson.dumps(tools).decode() if tools else None,
        chat_name=sc.span_name(sc.OP_CHAT, model.model_name),
        chat_attributes=chat,
        invoke_name=sc.span_name(sc.OP_INVOKE_AGENT, name),
        invoke_attributes=invoke,
        instructions_json=instructions_json_or_none(instructions),
    )
