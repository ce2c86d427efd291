"""Structured output: the type an agent's answer must have, its JSON schema and its validation.

A provider with a JSON-schema response format gets the schema as ``OutputSchema``; any other
model is offered a ``final_result`` tool whose arguments are the answer. Types whose schema is not
an object (``int``, ``list[str]``, ...) are wrapped as ``{"response": ...}`` both ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Generic

import orjson
from pydantic import PydanticSchemaGenerationError, PydanticUserError, TypeAdapter, ValidationError

from lumos_core.messages import Message, ToolCallPart, ToolResultPart
from lumos_core.run_results import AgentRunError, OutputT

#: The name of the tool that carries the answer for models without a JSON-schema format.
FINAL_RESULT_TOOL: Final = "final_result"
_WRAPPER_KEY: Final = "response"
_FINAL_RESULT_ACCEPTED: Final = "Final result received."
_NOT_RUN: Final = "Not run: the final answer ended the run."


class OutputValidationError(AgentRunError):
    """The model's final answer did not match ``output_type``, even after being told why."""


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """What a model is told of the answer's shape: a name, a JSON schema (always an object) and
    whether every object in it lists all its properties as required (OpenAI's ``strict``)."""

    name: str
    json_schema: dict[str, Any]
    description: str
    strict: bool


class OutputSpec(Generic[OutputT]):
    """An ``output_type`` made ready for a run: its schema and how to validate an answer."""

    def __init__(self, output_type: type[OutputT] | Any) -> None:
        self.output_type = output_type
        try:
            self._adapter: TypeAdapter[Any] = TypeAdapter(output_type)
            schema = self._adapter.json_schema()
        except (PydanticSchemaGenerationError, PydanticUserError) as exc:
            reason = str(exc).splitlines()[0]
            raise TypeError(
                f"output_type {output_type!r} cannot be described as JSON ({reason}); use a "
                "pydantic model, a dataclass, a TypedDict or a scalar or list type"
            ) from None
        self.wrapped = schema.get("type") != "object"
        if self.wrapped:
            defs = schema.pop("$defs", None)
            schema = {
                "type": "object",
                "properties": {_WRAPPER_KEY: schema},
                "required": [_WRAPPER_KEY],
            }
            if defs:
                schema["$defs"] = defs
        strict = _close_objects(schema)
        name = getattr(output_type, "__name__", None) or "result"
        description = schema.pop("description", None) or f"The final answer, as {name}."
        self.schema = OutputSchema(name, schema, description, strict)

    def tool_definition(self) -> dict[str, Any]:
        """The ``final_result`` tool, in ``Tool.definition()``'s shape."""
        return {
            "name": FINAL_RESULT_TOOL,
            "description": "Give the final answer with this tool. " + self.schema.description,
            "parameters": self.schema.json_schema,
        }

    def validate_json(self, text: str) -> OutputT:
        """An answer written as JSON text; raises ``ValueError`` saying what is wrong."""
        try:
            data = orjson.loads(_strip_fence(text))
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"the answer is not valid JSON ({exc})") from None
        return self.validate_object(data)

    def validate_object(self, data: Any) -> OutputT:
        """An answer given as tool arguments (or parsed JSON)."""
        if self.wrapped:
            if not isinstance(data, dict) or _WRAPPER_KEY not in data:
                raise ValueError(f'the answer must be a JSON object with a "{_WRAPPER_KEY}" key')
            data = data[_WRAPPER_KEY]
        try:
            return self._adapter.validate_python(data)  # type: ignore[no-any-return]
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"the answer does not match the schema ({problems})") from None


def correction(answer: Message, final: ToolCallPart | None, problem: str) -> Message:
    """What tells the model its answer was invalid: the ``final_result`` call's error result
    (every call of the turn gets a result, as providers require), or a user message."""
    retry = f"{problem} Give the final answer again, matching the schema."
    if final is None:
        return Message.user(retry)
    return Message("tool", tuple(
        ToolResultPart(c.id, c.name, retry if c is final else _NOT_RUN, True)
        for c in answer.tool_calls
    ))


def answered_calls(calls: list[ToolCallPart], final: ToolCallPart) -> Message:
    """The results that close a turn whose ``final_result`` call was accepted."""
    return Message("tool", tuple(
        ToolResultPart(c.id, c.name, _FINAL_RESULT_ACCEPTED if c is final else _NOT_RUN)
        for c in calls
    ))


def _close_objects(schema: Any) -> bool:
    """Forbid extra properties on every object (in place); true when each object also requires
    all its properties, which OpenAI's strict mode needs."""
    strict = True
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
            if set(schema.get("required", ())) != set(schema["properties"]):
                strict = False
        for value in schema.values():
            strict = _close_objects(value) and strict
    elif isinstance(schema, list):
        for value in schema:
            strict = _close_objects(value) and strict
    return strict


def _strip_fence(text: str) -> str:
    """Models sometimes wrap JSON in a markdown code fence; take what is inside."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return stripped
