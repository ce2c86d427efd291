"""The tool trajectory scorer: which tools the run called, with which arguments, in which order,
read from the run's own ``execute_tool`` spans (so sub-agents' and workflows' calls count too)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lumos_core.evals.scoring import Sample, Score, Scorer
from lumos_core.testing.assertions import ToolCall, tool_calls_of

__all__ = ["ExpectedCall", "ToolTrajectory"]

Order = Literal["exact", "in_order", "any_order"]


@dataclass(frozen=True, slots=True)
class ExpectedCall:
    """A tool call the run should make; ``arguments`` must be among the call's (or all of
    them, with ``ToolTrajectory(exact_arguments=True)``)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{self.name}({shown})"


class ToolTrajectory(Scorer):
    """The run's tool calls against ``expected`` (default: the case's
    ``metadata["expected_tools"]``, names or ``{"name", "arguments"}`` objects).

    ``order``: ``exact`` (these calls and no others, in this order), ``in_order`` (these, in
    this order, others allowed between), ``any_order``. The value is the share of expected calls
    found; only all of them pass.
    """

    def __init__(
        self,
        expected: Sequence[ExpectedCall | str] | None = None,
        *,
        order: Order = "in_order",
        exact_arguments: bool = False,
        name: str = "trajectory",
    ) -> None:
        if order not in ("exact", "in_order", "any_order"):
            raise ValueError("order must be 'exact', 'in_order' or 'any_order'")
        self.name, self.order, self.exact_arguments = name, order, exact_arguments
        self.expected = None if expected is None else [_expected(e) for e in expected]

    async def score(self, sample: Sample) -> Score:
        expected = self.expected
        if expected is None:
            listed = sample.case.metadata.get("expected_tools")
            if not isinstance(listed, list):
                return self.unscored("no expected tools: pass them or set the case's "
                                     "metadata.expected_tools")
            try:
                expected = [_expected(e) for e in listed]
            except ValueError as exc:
                return self.unscored(str(exc))
        calls = tool_calls_of(sample.spans)
        found = self._found(expected, calls)
        value = found / len(expected) if expected else float(not calls or self.order != "exact")
        if self.order == "exact" and len(calls) != len(expected):
            value = min(value, 0.0 if found < len(expected) else 0.99)
        shown = ", ".join(str(c) for c in calls) or "no tool calls"
        return self.verdict(value, explanation=f"expected {', '.join(map(str, expected))}; "
                                               f"called {shown}")

    def _found(self, expected: list[ExpectedCall], calls: list[ToolCall]) -> int:
        if self.order == "exact":
            return sum(1 for want, call in zip(expected, calls, strict=False)
                       if self._matches(want, call))
        if self.order == "in_order":
            found, position = 0, 0
            for want in expected:
                while position < len(calls) and not self._matches(want, calls[position]):
                    position += 1
                if position == len(calls):
                    break
                found, position = found + 1, position + 1
            return found
        unused = list(calls)
        found = 0
        for want in expected:
            match = next((c for c in unused if self._matches(want, c)), None)
            if match is not None:
                unused.remove(match)
                found += 1
        return found

    def _matches(self, want: ExpectedCall, call: ToolCall) -> bool:
        if want.name != call.name:
            return False
        if self.exact_arguments:
            return dict(want.arguments) == call.arguments
        return all(call.arguments.get(k) == v for k, v in want.arguments.items())


def _expected(value: Any) -> ExpectedCall:
    if isinstance(value, ExpectedCall):
        return value
    if isinstance(value, str):
        return ExpectedCall(value)
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        arguments = value.get("arguments") or {}
        if isinstance(arguments, Mapping):
            return ExpectedCall(value["name"], dict(arguments))
    raise ValueError(f"an expected tool call is a name or {{\"name\", \"arguments\"}}, not "
                     f"{value!r}")
