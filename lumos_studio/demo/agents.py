"""The bundled demo agents: they run on the scripted model, so no key and no network are needed."""

from __future__ import annotations

import ast
import operator
import zlib
from collections.abc import Sequence
from typing import Any

from lumos_core import Agent, Message, ScriptedModel, ToolError, tool

_CONDITIONS = ("sunny", "cloudy", "light rain", "windy", "foggy", "clear skies")


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    seed = zlib.crc32(city.strip().lower().encode())
    condition = _CONDITIONS[seed % len(_CONDITIONS)]
    return f"{condition.capitalize()}, {seed % 25 + 5} °C in {city.strip().title()}."


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
}


@tool
def calculate(expression: str) -> str:
    """Calculate an arithmetic expression with + - * / ** and parentheses."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"{expression!r} is not an arithmetic expression") from exc
    return f"{expression} = {_evaluate(tree.body):g}"


def _evaluate(node: ast.expr) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))
    raise ToolError("only numbers and + - * / ** are allowed")


def _calculator_script(messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Message:
    """Send the expression in the user's message to ``calculate``, then report its result."""
    last = messages[-1]
    if last.role == "tool":
        return Message.assistant("\n".join(getattr(p, "result", "") for p in last.parts))
    expression = last.text.rstrip("?").split(":")[-1].strip()
    for prefix in ("what is", "what's", "calculate", "compute"):
        if expression.lower().startswith(prefix):
            expression = expression[len(prefix) :].strip()
    return ScriptedModel.call("calculate", expression=expression)


weather = Agent(
    name="weather",
    instructions="You answer questions about the weather. Use get_weather for current conditions.",
    model=ScriptedModel(latency=0.15),
    tools=[get_weather],
    description="Looks up the current weather for a city.",
)

calculator = Agent(
    name="calculator",
    instructions="You do arithmetic with the calculate tool and report the result.",
    model=ScriptedModel(_calculator_script, latency=0.1),
    tools=[calculate],
    description="Evaluates arithmetic expressions.",
)
