"""Scorers that need nothing but the sample: text matches, type validity, budgets, functions."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic

from lumos_core.evals.scoring import Sample, Score, Scorer, output_text

__all__ = [
    "Contains",
    "CostBudget",
    "Exact",
    "FunctionScorer",
    "Latency",
    "Regex",
    "TokenBudget",
    "ValidAs",
    "scorer",
]


class Exact(Scorer):
    """The output equals ``expected`` (default: the case's), as text, ends stripped."""

    def __init__(self, expected: Any = None, *, name: str = "exact",
                 case_sensitive: bool = True) -> None:
        self.name, self.expected, self.case_sensitive = name, expected, case_sensitive

    async def score(self, sample: Sample) -> Score:
        expected = self.expected if self.expected is not None else sample.expected
        if expected is None:
            return self.unscored("the case has no expected output")
        got, want = output_text(sample.output).strip(), output_text(expected).strip()
        if not self.case_sensitive:
            got, want = got.casefold(), want.casefold()
        if got == want:
            return self.verdict(1.0)
        return self.verdict(0.0, explanation=f"expected {_short(want)}, got {_short(got)}")


class Contains(Scorer):
    """The output contains ``text`` (default: the case's expected output), ignoring case
    unless asked; a list of texts must all appear."""

    def __init__(self, text: str | list[str] | None = None, *, name: str = "contains",
                 case_sensitive: bool = False) -> None:
        self.name, self.text, self.case_sensitive = name, text, case_sensitive

    async def score(self, sample: Sample) -> Score:
        wanted = self.text if self.text is not None else sample.expected
        if wanted is None:
            return self.unscored("the case has no expected output")
        needles = [output_text(w) for w in (wanted if isinstance(wanted, list) else [wanted])]
        haystack = output_text(sample.output)
        if not self.case_sensitive:
            haystack = haystack.casefold()
        missing = [n for n in needles
                   if (n if self.case_sensitive else n.casefold()) not in haystack]
        if not missing:
            return self.verdict(1.0)
        return self.verdict(1 - len(missing) / len(needles),
                            explanation=f"missing {', '.join(_short(m) for m in missing)}")


class Regex(Scorer):
    """The output matches ``pattern`` (``re.search``)."""

    def __init__(self, pattern: str, *, name: str = "regex", flags: int = 0) -> None:
        self.name, self.pattern = name, re.compile(pattern, flags)

    async def score(self, sample: Sample) -> Score:
        if self.pattern.search(output_text(sample.output)):
            return self.verdict(1.0)
        return self.verdict(0.0, explanation=f"no match for /{self.pattern.pattern}/")


class ValidAs(Scorer):
    """The output validates as ``type_`` (a pydantic model, a dataclass, ``list[int]``...):
    objects as they are, text as JSON."""

    def __init__(self, type_: Any, *, name: str = "valid") -> None:
        self.name, self.type, self.adapter = name, type_, pydantic.TypeAdapter(type_)

    async def score(self, sample: Sample) -> Score:
        output = sample.output
        try:
            if isinstance(output, str | bytes):
                self.adapter.validate_json(output)
            else:
                self.adapter.validate_python(output)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "output"
            return self.verdict(0.0, explanation=f"{where}: {first['msg']} "
                                                 f"({exc.error_count()} error(s))")
        return self.verdict(1.0)


class Latency(Scorer):
    """The case ran within ``max_seconds`` (the task's run, not the scorers')."""

    def __init__(self, max_seconds: float, *, name: str = "latency") -> None:
        self.name, self.max_seconds = name, max_seconds

    async def score(self, sample: Sample) -> Score:
        within = sample.duration_s <= self.max_seconds
        return self.verdict(1.0 if within else 0.0, "within" if within else "over",
                            f"{sample.duration_s:.3f} s (budget {self.max_seconds:g} s)")


class TokenBudget(Scorer):
    """The case's model calls used at most these many tokens (input, output, or in all)."""

    def __init__(self, max_total: int | None = None, *, max_input: int | None = None,
                 max_output: int | None = None, name: str = "tokens") -> None:
        if max_total is None and max_input is None and max_output is None:
            raise ValueError("TokenBudget needs max_total, max_input or max_output")
        self.name = name
        self.limits = {"total": max_total, "input": max_input, "output": max_output}

    async def score(self, sample: Sample) -> Score:
        usage = sample.usage
        used = {"total": usage.total_tokens, "input": usage.input_tokens,
                "output": usage.output_tokens}
        over = [f"{k} {used[k]} > {limit}" for k, limit in self.limits.items()
                if limit is not None and used[k] > limit]
        shown = f"{usage.input_tokens} in + {usage.output_tokens} out"
        return self.verdict(0.0 if over else 1.0, "over" if over else "within",
                            "; ".join(over) if over else shown)


class CostBudget(Scorer):
    """The case's model calls cost at most ``max_usd`` at the given prices (USD per million
    tokens; the core knows no price list)."""

    def __init__(self, max_usd: float, *, input_per_million: float, output_per_million: float,
                 name: str = "cost") -> None:
        self.name, self.max_usd = name, max_usd
        self.prices = (input_per_million, output_per_million)

    async def score(self, sample: Sample) -> Score:
        usage = sample.usage
        cost = (usage.input_tokens * self.prices[0] + usage.output_tokens * self.prices[1]) / 1e6
        within = cost <= self.max_usd
        return self.verdict(1.0 if within else 0.0, "within" if within else "over",
                            f"${cost:.6f} (budget ${self.max_usd:g})")


ScoreFunction = Callable[..., Any] | Callable[..., Awaitable[Any]]


class FunctionScorer(Scorer):
    """A plain function as a scorer: ``f(sample)`` or ``f(output, expected)``, sync or async,
    returning a bool, a number or a ``Score``."""

    def __init__(self, function: ScoreFunction, *, name: str | None = None,
                 threshold: float = 1.0) -> None:
        self.function = function
        self.name = name or str(getattr(function, "__name__", "function"))
        self.threshold = threshold
        self._two = len(inspect.signature(function).parameters) >= 2

    async def score(self, sample: Sample) -> Score:
        value = (self.function(sample.output, sample.expected) if self._two
                 else self.function(sample))
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, Score):
            return value
        if isinstance(value, bool):
            return self.verdict(1.0 if value else 0.0)
        if isinstance(value, int | float):
            return self.verdict(float(value))
        raise TypeError(f"scorer {self.name!r} returned {type(value).__name__}; return a bool, "
                        "a number or a Score")


def scorer(function: ScoreFunction | None = None, *, name: str | None = None,
           threshold: float = 1.0) -> Any:
    """Decorator: ``@scorer`` or ``@scorer(threshold=0.5)`` makes a ``FunctionScorer``."""
    if function is None:
        return lambda f: FunctionScorer(f, name=name, threshold=threshold)
    return FunctionScorer(function, name=name, threshold=threshold)


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
