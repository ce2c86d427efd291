"""Readable checks on what an agent run did: tools called, steps taken, tokens used, the answer.

Each takes a ``RunResult`` (or a list of them, as ``Replay.run`` returns), a ``CapturedSpans``, or
spans (the SDK's, a saved trace's ``RecordedSpan``s, the studio's ``SpanRecord``s), and fails with
an ``AssertionError`` that shows what happened instead::

    result = agent.run_sync("weather in Paris?")
    assert_tool_called(result, "get_weather", city="Paris")
    assert_steps(result, ["chat", "execute_tool get_weather", "chat"])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from lumos_core.messages import Message, ToolCallPart, ToolResultPart, Usage, message_from_dict
from lumos_core.run_results import RunResult
from lumos_core.telemetry import semconv as sc

__all__ = [
    "ToolCall",
    "assert_output",
    "assert_steps",
    "assert_tool_called",
    "assert_tool_not_called",
    "assert_usage",
    "steps_of",
    "tool_calls_of",
]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call of a run: what the model sent, and what the tool answered."""

    name: str
    arguments: dict[str, Any]
    result: str | None = None
    is_error: bool = False

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{self.name}({shown})"


@dataclass(frozen=True, slots=True)
class _Span:
    name: str
    span_id: str
    parent_id: str | None
    start: int
    attributes: dict[str, Any]

    @property
    def operation(self) -> Any:
        return self.attributes.get(sc.OPERATION_NAME)


# ---------------------------------------------------------------------------------- reading


def tool_calls_of(source: Any) -> list[ToolCall]:
    """Every tool call of the run(s) or spans, in order."""
    results = _results(source)
    if results is not None:
        calls = []
        for result in results:
            answers = {p.id: p for m in result.new_messages for p in m.parts
                       if isinstance(p, ToolResultPart)}
            for message in result.new_messages:
                for part in message.parts:
                    if isinstance(part, ToolCallPart):
                        answer = answers.get(part.id)
                        calls.append(ToolCall(part.name, dict(part.arguments),
                                              answer.result if answer else None,
                                              answer.is_error if answer else False))
        return calls
    calls = []
    for span in _spans(source):
        if span.operation != sc.OP_EXECUTE_TOOL:
            continue
        a = span.attributes
        arguments = _loads(a.get(sc.TOOL_CALL_ARGUMENTS))
        calls.append(ToolCall(str(a.get(sc.TOOL_NAME, "")),
                              arguments if isinstance(arguments, dict) else {},
                              a.get(sc.TOOL_CALL_RESULT), sc.ERROR_TYPE in a))
    return calls


def steps_of(source: Any) -> list[str]:
    """The run's steps in order: ``"chat ..."`` per model call, ``"execute_tool NAME"`` per tool
    call, ``"invoke_agent NAME"`` per sub-agent run (a ``RunResult`` says just ``"chat"``)."""
    results = _results(source)
    if results is not None:
        steps = []
        for result in results:
            for message in result.new_messages:
                if message.role == "assistant":
                    steps.append(sc.OP_CHAT)
                elif message.role == "tool":
                    steps.extend(f"{sc.OP_EXECUTE_TOOL} {p.name}" for p in message.parts
                                 if isinstance(p, ToolResultPart))
        return steps
    spans = _spans(source)
    outer = {s.span_id for s in _outer_agents(spans)}
    wanted = (sc.OP_CHAT, sc.OP_EXECUTE_TOOL, sc.OP_INVOKE_AGENT)
    return [s.name for s in spans if s.operation in wanted and s.span_id not in outer]


def _outer_agents(spans: list[_Span]) -> list[_Span]:
    """The ``invoke_agent`` spans not inside another agent's run: the runs themselves."""
    agents = {s.span_id for s in spans if s.operation == sc.OP_INVOKE_AGENT}
    by_id = {s.span_id: s for s in spans}

    def nested(span: _Span) -> bool:
        parent = by_id.get(span.parent_id or "")
        while parent is not None:
            if parent.span_id in agents:
                return True
            parent = by_id.get(parent.parent_id or "")
        return False

    return [s for s in spans if s.span_id in agents and not nested(s)]


def _usage_of(source: Any) -> Usage:
    results = _results(source)
    if results is not None:
        total = Usage()
        for result in results:
            total = total + result.usage
        return total
    total = Usage()
    for span in _spans(source):
        if span.operation == sc.OP_CHAT:
            a = span.attributes
            total = total + Usage(int(a.get(sc.USAGE_INPUT_TOKENS) or 0),
                                  int(a.get(sc.USAGE_OUTPUT_TOKENS) or 0))
    return total


def _output_of(source: Any) -> str | None:
    results = _results(source)
    if results is not None:
        return results[-1].output if results else None
    roots = _outer_agents(_spans(source))
    recorded = _loads(roots[-1].attributes.get(sc.OUTPUT_MESSAGES)) if roots else None
    if not isinstance(recorded, list) or not recorded:
        return None
    message: Message = message_from_dict(recorded[-1])
    return message.text


# ---------------------------------------------------------------------------------- checking


def assert_tool_called(source: Any, name: str, /, **arguments: Any) -> ToolCall:
    """The run called tool ``name`` at least once with these arguments (others may differ);
    returns the first such call, whose ``result`` a test can check too."""
    calls = tool_calls_of(source)
    named = [c for c in calls if c.name == name]
    for call in named:
        if all(k in call.arguments and call.arguments[k] == v for k, v in arguments.items()):
            return call
    wanted = str(ToolCall(name, arguments))
    if not named:
        called = ", ".join(str(c) for c in calls) or "none"
        raise AssertionError(f"tool {name!r} was never called (expected {wanted}); "
                             f"calls made: {called}")
    made = "\n".join(f"  {c}" for c in named)
    raise AssertionError(f"tool {name!r} was called, but never as {wanted}; its calls:\n{made}")


def assert_tool_not_called(source: Any, name: str, /) -> None:
    """The run never called tool ``name``."""
    made = [str(c) for c in tool_calls_of(source) if c.name == name]
    if made:
        raise AssertionError(f"tool {name!r} was called {len(made)} time(s): {', '.join(made)}")


def assert_steps(source: Any, expected: Sequence[str], /) -> list[str]:
    """The run took exactly these steps in order. ``"chat"`` matches any model call
    (``"chat gpt-4o"``), ``"execute_tool get_weather"`` that tool's call."""
    actual = steps_of(source)
    for i in range(max(len(actual), len(expected))):
        want = expected[i] if i < len(expected) else None
        got = actual[i] if i < len(actual) else None
        if want is None or got is None or not (got == want or got.startswith(want + " ")):
            raise AssertionError(
                f"the steps differ at step {i + 1}: expected {want or '(no more steps)'!s}, "
                f"got {got or '(no more steps)'!s}\n"
                f"  expected: {' → '.join(expected) or '(none)'}\n"
                f"  actual:   {' → '.join(actual) or '(none)'}"
            )
    return actual


def assert_usage(
    source: Any,
    /,
    *,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    max_input_tokens: int | None = None,
    max_output_tokens: int | None = None,
    max_total_tokens: int | None = None,
) -> Usage:
    """The run's token usage (summed over its model calls) is exactly or at most this."""
    usage = _usage_of(source)
    total = usage.input_tokens + usage.output_tokens
    checks = [
        ("input tokens", usage.input_tokens, input_tokens, "=="),
        ("output tokens", usage.output_tokens, output_tokens, "=="),
        ("input tokens", usage.input_tokens, max_input_tokens, "<="),
        ("output tokens", usage.output_tokens, max_output_tokens, "<="),
        ("tokens in all", total, max_total_tokens, "<="),
    ]
    problems = [f"{what}: {got}, expected {'at most ' if op == '<=' else ''}{want}"
                for what, got, want, op in checks
                if want is not None and not (got == want if op == "==" else got <= want)]
    if problems:
        raise AssertionError(f"usage differs ({usage.input_tokens} in, {usage.output_tokens} "
                             f"out): " + "; ".join(problems))
    return usage


def assert_output(
    source: Any,
    expected: str | None = None,
    /,
    *,
    contains: str | None = None,
    matches: str | None = None,
) -> str:
    """The run's answer is ``expected``, contains ``contains``, or matches the regex
    ``matches`` (searched); returns it."""
    output = _output_of(source)
    if output is None:
        raise AssertionError("the run has no answer (no output recorded)")
    if expected is not None and output != expected:
        raise AssertionError(f"the answer differs\n  expected: {expected!r}\n  actual:   "
                             f"{output!r}")
    if contains is not None and contains not in output:
        raise AssertionError(f"the answer does not contain {contains!r}\n  actual: {output!r}")
    if matches is not None and re.search(matches, output) is None:
        raise AssertionError(f"the answer does not match /{matches}/\n  actual: {output!r}")
    return output


# ---------------------------------------------------------------------------------- sources


def _results(source: Any) -> list[RunResult] | None:
    if isinstance(source, RunResult):
        return [source]
    if isinstance(source, list | tuple) and source and all(
        isinstance(r, RunResult) for r in source
    ):
        return list(source)
    return None


def _spans(source: Any) -> list[_Span]:
    spans = getattr(source, "spans", source)
    if not isinstance(spans, Iterable):
        raise TypeError(f"expected a RunResult, a CapturedSpans or spans, not "
                        f"{type(source).__name__}")
    out = [_normal(s) for s in spans]
    return sorted(out, key=lambda s: s.start)


def _normal(span: Any) -> _Span:
    context = getattr(span, "context", None)
    if context is not None and hasattr(context, "span_id") and hasattr(span, "start_time"):
        parent = span.parent
        return _Span(span.name, format(context.span_id, "016x"),
                     format(parent.span_id, "016x") if parent is not None else None,
                     span.start_time or 0, dict(span.attributes or {}))
    return _Span(span.name, span.span_id, span.parent_span_id, span.start_ns,
                 dict(span.attributes))


def _loads(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value
