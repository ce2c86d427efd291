"""Tools an agent can call: plain Python functions whose type hints describe their arguments.

The ``@tool`` decorator derives a pydantic model from the signature, so arguments a model sends are
validated (and coerced) before the function runs, and the JSON schema shown to the model comes from
the same source.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, get_type_hints, overload

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, create_model


class ToolError(Exception):
    """Raise inside a tool to send the message back to the model instead of failing the run."""


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """The text sent back to the model, and whether it reports a failure."""

    text: str
    is_error: bool = False
    error_type: str | None = None


class Tool:
    """A callable with a name, a description and a validated argument model."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        self.function = function
        self.name = name or function.__name__
        self.description = description or _first_paragraph(inspect.getdoc(function))
        self.is_async = inspect.iscoroutinefunction(function)
        self.arguments_model = _arguments_model(function, self.name)
        self.parameters_schema = _clean_schema(self.arguments_model.model_json_schema())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calling the tool directly calls the function, so tools stay unit-testable."""
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    def definition(self) -> dict[str, Any]:
        """The tool as the model sees it (function name, description, JSON schema)."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters_schema,
        }

    async def invoke(self, arguments: dict[str, Any], *, in_thread: bool = False) -> ToolOutcome:
        """Validate ``arguments`` and run the function (a sync one in a worker thread when
        ``in_thread``, so tool calls of one turn can run side by side).

        A validation failure or a ``ToolError`` becomes an error outcome for the model to correct;
        any other exception is a bug in the tool and propagates.
        """
        try:
            validated = self.arguments_model.model_validate(arguments)
        except ValidationError as exc:
            return ToolOutcome(_describe_validation_error(self.name, exc), True, "ValidationError")
        kwargs = {name: getattr(validated, name) for name in type(validated).model_fields}
        try:
            if in_thread and not self.is_async:
                result = await asyncio.to_thread(self.function, **kwargs)
            else:
                result = self.function(**kwargs)
                if self.is_async:
                    result = await result
        except ToolError as exc:
            return ToolOutcome(str(exc), True, "ToolError")
        return ToolOutcome(_to_text(result))


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a function into a ``Tool``: bare (``@tool``) or with options (``@tool(name=...)``)."""
    if function is not None:
        return Tool(function, name=name, description=description)
    return lambda f: Tool(f, name=name, description=description)


def as_tool(candidate: Tool | Callable[..., Any] | Callable[..., Awaitable[Any]]) -> Tool:
    """Accept either a ``Tool`` or a plain function in ``Agent(tools=[...])``."""
    return candidate if isinstance(candidate, Tool) else Tool(candidate)


def _arguments_model(function: Callable[..., Any], tool_name: str) -> type[BaseModel]:
    signature = inspect.signature(function)
    hints = get_type_hints(function, include_extras=True)
    fields: dict[str, Any] = {}
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {tool_name!r}: *args/**kwargs cannot be described to a model")
        if param.name not in hints:
            raise TypeError(
                f"tool {tool_name!r} ({_where(function)}): parameter {param.name!r} has no type "
                f"hint, so the model would not know what to send; annotate it "
                f"(e.g. `{param.name}: str`, or `{param.name}: Any` for anything JSON)"
            )
        annotation = hints[param.name]
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
    model_name = "".join(part.title() for part in tool_name.split("_")) + "Arguments"
    return create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)


def _where(function: Callable[..., Any]) -> str:
    code = getattr(function, "__code__", None)
    name = getattr(function, "__qualname__", repr(function))
    return f"{name} at {code.co_filename}:{code.co_firstlineno}" if code is not None else name


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


def _first_paragraph(doc: str | None) -> str:
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip() if doc else ""


def _describe_validation_error(tool_name: str, exc: ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
        for err in exc.errors()
    )
    return (
        f"Invalid arguments for tool {tool_name!r}: {problems}. Fix the arguments and call again."
    )


def _to_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    try:
        return orjson.dumps(result).decode()
    except TypeError:
        return str(result)
