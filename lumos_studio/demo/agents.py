"""The bundled demo agents: they run on the scripted model, so no key and no network are needed.

Replies stream word by word (``chunk_delay``) so the chat shows them being written, yet a whole
turn stays well under a second.
"""

from __future__ import annotations

import ast
import asyncio
import operator
import re
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lumos_core import Agent, Message, ScriptedModel, ToolError, tool
from lumos_core.memory import Memory, SemanticRecall, WorkingMemory
from lumos_core.messages import ModelResponse
from lumos_core.output import OutputSchema
from lumos_core.rag import DocumentIndex, retrieve_tool
from lumos_core.rag.tool import NO_RESULTS
from lumos_core.settings import ModelSettings

_CONDITIONS = ("sunny", "cloudy", "light rain", "windy", "foggy", "clear skies")


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    seed = zlib.crc32(city.strip().lower().encode())
    condition = _CONDITIONS[seed % len(_CONDITIONS)]
    return f"{condition.capitalize()}, {seed % 25 + 5} °C in {city.strip().title()}."


_OPERATORS: dict[type[ast.AST], Callable[..., float]] = {
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
    model=ScriptedModel(latency=0.1, chunk_delay=0.03),
    tools=[get_weather],
    description="Looks up the current weather for a city.",
)

calculator = Agent(
    name="calculator",
    instructions="You do arithmetic with the calculate tool and report the result.",
    model=ScriptedModel(_calculator_script, latency=0.1, chunk_delay=0.03),
    tools=[calculate],
    description="Evaluates arithmetic expressions.",
)


# --- docs: answers from the project's README through retrieval -------------------------------

_README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_index() -> DocumentIndex:
    """Built at the first question (in memory: the README is small and may change)."""
    index = DocumentIndex(name="readme", chunk_size=600, chunk_overlap=80)
    if _README.is_file():
        index.add_file(_README)
    return index


def _docs_script(messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Message:
    """Retrieve with the user's question, then answer from the best passage, citing it."""
    last = messages[-1]
    if last.role != "tool":
        return ScriptedModel.call("retrieve", query=last.text)
    result = "".join(getattr(p, "result", "") for p in last.parts)
    if result == NO_RESULTS or not result.startswith("[1] "):
        return Message.assistant("I could not find that in the README.")
    best = result.split("\n\n[2] ", 1)[0]
    header, _, text = best.partition("\n")
    where, _, rest = header[4:].rpartition(" (id ")
    chunk_id = rest.split(",", 1)[0]
    question = next(m for m in reversed(messages) if m.role == "user").text
    return Message.assistant(f"From {where} [1]:\n\n{_excerpt(text, question)}\n\n[1] {chunk_id}")


def _excerpt(text: str, question: str, size: int = 400) -> str:
    """About ``size`` characters of the passage, from the first line that has a word of the
    question (a passage can hold the answer past its first lines)."""
    words = {w for w in re.findall(r"[a-z]{4,}", question.lower())}
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if words & set(re.findall(r"[a-z]+",
                                                                             line.lower()))), 0)
    start = len("\n".join(lines[:first])) + (1 if first else 0)
    window = text[start:]
    if len(window) > size:
        window = window[: size - 1].rsplit(" ", 1)[0] + " …"
    return ("… " if start else "") + window


docs = Agent(
    name="docs",
    instructions=(
        "You answer questions about Lumos Studio from its README. Always call retrieve first, "
        "answer only from the passages it returns and cite them by their number."
    ),
    model=ScriptedModel(_docs_script, latency=0.05, chunk_delay=0.006),  # long answers
    tools=[retrieve_tool(_readme_index, top_k=3)],
    description="Answers questions about Lumos Studio from its README (retrieval).",
)


# --- assistant: working memory and semantic recall ---------------------------------------------

_REMEMBER = re.compile(r"^\s*(?:please\s+)?remember(?:\s+that)?\s+(.+?)[.!]*\s*$", re.IGNORECASE)
_QUESTION = re.compile(r"^\s*what(?:'s|\s+is|\s+was)\s+my\s+(.+?)\s*\??\s*$", re.IGNORECASE)
_FACT = re.compile(r"\bmy\s+([\w ]+?)\s+is\s+([^.!?\n]+)", re.IGNORECASE)
_WORKING = re.compile(r"<working_memory>\n?(.*?)\n?</working_memory>", re.DOTALL)


class _MemoryDemoModel(ScriptedModel):
    """The assistant's scripted model: unlike a plain script it reads the instructions, where
    the working memory is."""

    async def request(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        settings: ModelSettings | None = None,
        output: OutputSchema | None = None,
    ) -> ModelResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        return self._as_response(_assistant_reply(instructions or "", messages), instructions,
                                 messages)


def _assistant_reply(instructions: str, messages: Sequence[Message]) -> Message | str:
    """"Remember that my X is Y" updates working memory; "what is my X?" answers from working
    memory, else from recalled or recent messages; anything else is acknowledged."""
    last = messages[-1]
    if last.role == "tool":
        failed = [p for p in last.parts if getattr(p, "is_error", False)]
        return "Got it, I'll remember that." if not failed else "Sorry, I could not save that."
    text = last.text.strip()
    match = _WORKING.search(instructions)
    working = match.group(1) if match else ""
    remember = _REMEMBER.match(text)
    if remember:
        return ScriptedModel.call("update_working_memory", memory=_remember(working, remember[1]))
    question = _QUESTION.match(text)
    if question:
        key = question[1].lower()
        value = _lookup(working, key)
        if value:
            return f"Your {key} is {value}."
        earlier = [m.text for m in messages[:-1] if m.role in ("system", "user")]
        for said in reversed(earlier):
            for fact_key, fact_value in _FACT.findall(said):
                if fact_key.lower() == key:
                    return f"Your {key} is {fact_value.strip()} (you told me earlier)."
        return f"I don't know your {key} yet. Tell me: remember that my {key} is …"
    return f"You said: {text}"


def _remember(working: str, fact: str) -> str:
    lines = working.splitlines() or ["# User"]
    found = _FACT.search(fact)
    if not found:
        return "\n".join([*lines, f"- {fact}"])
    key, value = found[1].strip(), found[2].strip()
    label = key[:1].upper() + key[1:]
    for i, line in enumerate(lines):
        if line.lower().startswith(f"- {key.lower()}:"):
            lines[i] = f"- {label}: {value}"
            return "\n".join(lines)
    return "\n".join([*lines, f"- {label}: {value}"])


def _lookup(working: str, key: str) -> str:
    for line in working.splitlines():
        name, _, value = line.removeprefix("- ").partition(":")
        if name.strip().lower() == key and value.strip():
            return value.strip()
    return ""


assistant = Agent(
    name="assistant",
    instructions="You are a friendly assistant who remembers what the user tells you.",
    model=_MemoryDemoModel(latency=0.1, chunk_delay=0.03),
    memory=Memory(
        last_messages=10,
        working_memory=WorkingMemory(scope="resource"),
        semantic_recall=SemanticRecall(top_k=3, message_range=1),
    ),
    description="Remembers you across conversations: working memory and semantic recall.",
)
