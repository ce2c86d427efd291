"""Experiments in the store, and two experiments compared case by case and scorer by scorer.

The CLI (``lumos-studio eval``) and the experiments screen both read them here, through the
store's reader and ``semantics.experiment``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lumos_core.telemetry import semconv as sc
from lumos_studio.semantics.experiment import (
    ExperimentCase,
    ExperimentHeader,
    ExperimentView,
    read_experiment,
    read_experiment_header,
)
from lumos_studio.store import StoreReader

__all__ = [
    "CaseComparison",
    "Change",
    "ExperimentComparison",
    "ScorerComparison",
    "compare_experiments",
    "list_experiments",
    "load_experiment",
    "previous_experiment",
]

ROOT_PREFIX = f"{sc.SPAN_EXPERIMENT} "
CASE_LOGS = 50_000  # later scores (log records) read with an experiment


def list_experiments(reader: StoreReader, limit: int = 200) -> list[ExperimentHeader]:
    """The newest experiments in the store, newest first (their root spans only)."""
    headers = (read_experiment_header(s) for s in reader.roots_named(ROOT_PREFIX, limit))
    return [h for h in headers if h is not None]


def load_experiment(reader: StoreReader, trace_id: str) -> ExperimentView | None:
    """One experiment with its cases and every score given them (the cases' own runs are not
    read: the case spans hold the inputs, outputs and scores)."""
    spans = reader.top_spans(trace_id)
    return read_experiment(spans, reader.logs(trace_id=trace_id, limit=CASE_LOGS))


def previous_experiment(reader: StoreReader, latest: ExperimentHeader
                        ) -> ExperimentHeader | None:
    """The experiment on the same dataset that started last before ``latest``."""
    return next((h for h in list_experiments(reader)
                 if h.dataset == latest.dataset and h.start_ns < latest.start_ns
                 and h.trace_id != latest.trace_id), None)


class Change(enum.Enum):
    """How a case's score (or a scorer's pass rate) moved from one experiment to the next."""

    IMPROVED = "improved"
    REGRESSED = "regressed"
    SAME = "same"
    NEW = "new"  #: only in the later experiment
    GONE = "gone"  #: only in the earlier one


@dataclass(frozen=True, slots=True)
class ScorerComparison:
    name: str
    before_mean: float | None
    after_mean: float | None
    before_pass_rate: float | None
    after_pass_rate: float | None
    change: Change


@dataclass(frozen=True, slots=True)
class CaseComparison:
    """One case (and repeat) in both experiments, with each scorer's change."""

    case_id: str
    repeat: int
    before: ExperimentCase | None
    after: ExperimentCase | None
    changes: dict[str, Change]

    @property
    def change(self) -> Change:
        """Regressed if any scorer did, else improved if any did, else the same."""
        if self.before is None:
            return Change.NEW
        if self.after is None:
            return Change.GONE
        values = set(self.changes.values())
        for change in (Change.REGRESSED, Change.IMPROVED):
            if change in values:
                return change
        return Change.SAME


@dataclass(frozen=True, slots=True)
class ExperimentComparison:
    before: ExperimentView
    after: ExperimentView
    scorers: tuple[ScorerComparison, ...]
    cases: tuple[CaseComparison, ...]

    def count(self, change: Change) -> int:
        return sum(1 for c in self.cases if c.change is change)


def compare_experiments(before: ExperimentView, after: ExperimentView) -> ExperimentComparison:
    """Cases matched by (case id, repeat); a case regressed on a scorer when it passed before
    and fails now, or its value fell (improved: the reverse)."""
    names = list(dict.fromkeys([s.name for s in after.scorers] + [s.name for s in
                                                                  before.scorers]))
    scorers = []
    for name in names:
        old, new = before.stats(name), after.stats(name)
        scorers.append(ScorerComparison(
            name, old.mean if old else None, new.mean if new else None,
            old.pass_rate if old else None, new.pass_rate if new else None,
            _moved(old.pass_rate if old else None, new.pass_rate if new else None,
                   old.mean if old else None, new.mean if new else None)))
    earlier = {c.key: c for c in before.cases}
    later = {c.key: c for c in after.cases}
    keys = list(dict.fromkeys([*later, *earlier]))
    cases = []
    for key in keys:
        old_case, new_case = earlier.get(key), later.get(key)
        changes = {}
        if old_case is not None and new_case is not None:
            for name in names:
                a, b = old_case.scores.get(name), new_case.scores.get(name)
                if a is None or b is None:
                    continue
                changes[name] = _moved(
                    None if a.passed is None else float(a.passed),
                    None if b.passed is None else float(b.passed), a.score, b.score)
        cases.append(CaseComparison(key[0], key[1], old_case, new_case, changes))
    return ExperimentComparison(before, after, tuple(scorers), tuple(cases))


def _moved(old_pass: float | None, new_pass: float | None, old_value: float | None,
           new_value: float | None) -> Change:
    if old_pass is None and old_value is None:
        return Change.NEW
    if new_pass is None and new_value is None:
        return Change.GONE
    for old, new in ((old_pass, new_pass), (old_value, new_value)):
        if old is not None and new is not None and abs(new - old) > 1e-9:
            return Change.IMPROVED if new > old else Change.REGRESSED
    return Change.SAME
