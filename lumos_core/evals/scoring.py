"""What a scorer sees (``Sample``), what it returns (``Score``) and the base class of scorers."""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from lumos_core.evals.dataset import Case
from lumos_core.messages import Usage
from lumos_core.telemetry import semconv as sc

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "Sample",
    "Score",
    "Scorer",
    "evaluation_attributes",
    "evaluation_result_attributes",
    "output_text",
]


@dataclass(frozen=True, slots=True)
class Score:
    """One scorer's verdict on one case: a value (usually 0 to 1), a label, why, and whether it
    reached the scorer's threshold. ``value`` is None when the scorer could not score."""

    name: str
    value: float | None
    passed: bool
    label: str = ""
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class Sample:
    """One case's run, as scorers see it: the task's output and the spans of its run (the
    SDK's ``ReadableSpan``s, or any spans ``lumos_core.testing.tool_calls_of`` reads: a saved
    trace's, the studio's, when a run is scored after the fact)."""

    case: Case
    output: Any
    spans: Sequence[ReadableSpan | Any]
    duration_s: float
    usage: Usage
    repeat: int = 0
    error: str | None = None

    @property
    def expected(self) -> Any:
        return self.case.expected

    @property
    def input(self) -> Any:
        return self.case.input


class Scorer(abc.ABC):
    """Scores samples. ``threshold``: the least value that passes (a case passes a scorer when
    its score reaches it)."""

    name: str = "scorer"
    threshold: float = 1.0

    @abc.abstractmethod
    async def score(self, sample: Sample) -> Score:
        """Judge one sample; raise nothing a sample can cause (say why in the ``Score``)."""

    def verdict(self, value: float | None, label: str = "", explanation: str = "") -> Score:
        """A ``Score`` of this scorer, passed when ``value`` reaches the threshold."""
        passed = value is not None and math.isfinite(value) and value >= self.threshold
        return Score(self.name, value, passed, label or ("pass" if passed else "fail"),
                     explanation)

    def unscored(self, why: str) -> Score:
        """No value: the sample lacks what this scorer needs (it fails)."""
        return Score(self.name, None, False, "error", why)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, threshold={self.threshold})"


def output_text(value: Any) -> str:
    """A task's output as text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return str(value)


def evaluation_attributes(score: Score, source: str = "experiment") -> dict[str, Any]:
    """The ``gen_ai.evaluation.result`` event's attributes for ``score``."""
    return evaluation_result_attributes(score.name, source, passed=score.passed,
                                        value=score.value, label=score.label,
                                        explanation=score.explanation)


def evaluation_result_attributes(
    name: str, source: str, *, passed: bool | None, value: float | None, label: str,
    explanation: str,
) -> dict[str, Any]:
    """A ``gen_ai.evaluation.result`` event's attributes: a scorer's (``evaluation_attributes``)
    or a person's annotation, whose verdict may be left out (``passed`` None)."""
    attributes: dict[str, Any] = {sc.EVALUATION_NAME: name}
    if passed is not None:
        attributes[sc.LUMOS_EVALUATION_PASSED] = passed
    attributes[sc.LUMOS_EVALUATION_SOURCE] = source
    if value is not None:
        attributes[sc.EVALUATION_SCORE_VALUE] = value
    if label:
        attributes[sc.EVALUATION_SCORE_LABEL] = label
    if explanation:
        attributes[sc.EVALUATION_EXPLANATION] = explanation
    return attributes
