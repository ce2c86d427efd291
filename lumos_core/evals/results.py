"""What an experiment returns: each case's output and scores, and a summary per scorer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lumos_core.evals.dataset import Case
from lumos_core.evals.scoring import Score

__all__ = ["CaseResult", "ExperimentResult", "ScorerSummary", "summarise"]


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One run of one case (``repeat`` counts from 0), its scores in the scorers' order."""

    case: Case
    repeat: int
    output: Any
    scores: tuple[Score, ...]
    duration_s: float
    error: str | None = None
    trace_id: str | None = None
    span_id: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(s.passed for s in self.scores)

    def score(self, name: str) -> Score | None:
        return next((s for s in self.scores if s.name == name), None)


@dataclass(frozen=True, slots=True)
class ScorerSummary:
    """One scorer over the experiment: the mean of its values (None when none) and the share
    of runs that passed."""

    name: str
    mean: float | None
    pass_rate: float
    count: int
    threshold: float

    def as_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "pass_rate": self.pass_rate, "count": self.count,
                "threshold": self.threshold}


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    """Every case run, in dataset order (repeats together), and the per-scorer summaries."""

    name: str
    dataset: str
    cases: tuple[CaseResult, ...]
    summaries: tuple[ScorerSummary, ...]
    duration_s: float
    experiment_id: str
    trace_id: str | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    def summary(self, scorer: str) -> ScorerSummary:
        for summary in self.summaries:
            if summary.name == scorer:
                return summary
        known = ", ".join(s.name for s in self.summaries) or "none"
        raise KeyError(f"no scorer named {scorer!r} in this experiment (scorers: {known})")

    def failures(self) -> list[CaseResult]:
        """The case runs that failed a scorer or raised."""
        return [c for c in self.cases if not c.passed]

    def below(self, thresholds: dict[str, float]) -> list[str]:
        """One line per scorer whose pass rate is under its threshold here (empty: all met)."""
        lines = []
        for name, least in thresholds.items():
            summary = self.summary(name)
            if summary.pass_rate < least:
                lines.append(f"{name}: pass rate {summary.pass_rate:.0%} < {least:.0%}")
        return lines


def summarise(names: list[str], thresholds: list[float], cases: list[CaseResult]
              ) -> tuple[ScorerSummary, ...]:
    summaries = []
    for index, (name, threshold) in enumerate(zip(names, thresholds, strict=True)):
        scores = [c.scores[index] for c in cases if index < len(c.scores)]
        values = [s.value for s in scores if s.value is not None and math.isfinite(s.value)]
        mean = sum(values) / len(values) if values else None
        rate = sum(s.passed for s in scores) / len(scores) if scores else 0.0
        summaries.append(ScorerSummary(name, mean, rate, len(scores), threshold))
    return tuple(summaries)
