"""Experiments (``lumos_core.evals``) read back from their spans: the root ``experiment`` span,
its ``case`` children and the ``gen_ai.evaluation.result`` events (and records) scoring them.

Scores are read from every case span's events and from log records tied to it (scores given
after the fact, annotations), so a case's row holds all of them; the last one of a name wins.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.semantics._draft import BAD, as_float, as_int, as_str, loads
from lumos_studio.semantics.genai_events import EVALUATION, log_event_name
from lumos_studio.semantics.genai_events import read_evaluation as evaluation_of
from lumos_studio.semantics.view import Evaluation

__all__ = [
    "ExperimentCase",
    "ExperimentHeader",
    "ExperimentView",
    "ScorerStats",
    "is_experiment_root",
    "read_experiment",
    "read_experiment_header",
]


@dataclass(frozen=True, slots=True)
class ScorerStats:
    """One scorer over an experiment: mean value, share of runs passed, runs scored."""

    name: str
    mean: float | None
    pass_rate: float
    count: int
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class ExperimentHeader:
    """What the experiment's root span says (enough for a list of experiments)."""

    trace_id: str
    span_id: str
    name: str
    experiment_id: str
    dataset: str
    task: str
    start_ns: int
    end_ns: int | None
    case_count: int
    repeats: int
    summary: tuple[ScorerStats, ...]
    failed: bool


@dataclass(frozen=True, slots=True)
class ExperimentCase:
    """One case run: its input, expected and actual output (JSON values) and its scores."""

    span_id: str
    case_id: str
    index: int  #: its place in the dataset
    repeat: int
    input: Any
    expected: Any
    output: Any
    error: str
    duration_ns: int | None
    scores: Mapping[str, Evaluation]

    @property
    def key(self) -> tuple[str, int]:
        """What matches a case across experiments on one dataset."""
        return self.case_id, self.repeat

    @property
    def passed(self) -> bool:
        return not self.error and all(e.passed is not False for e in self.scores.values())


@dataclass(frozen=True, slots=True)
class ExperimentView:
    """An experiment with its cases in dataset order and stats computed from their scores."""

    header: ExperimentHeader
    cases: tuple[ExperimentCase, ...]
    scorers: tuple[ScorerStats, ...]

    def stats(self, scorer: str) -> ScorerStats | None:
        return next((s for s in self.scorers if s.name == scorer), None)


def is_experiment_root(span: SpanRecord) -> bool:
    attributes = span.attributes
    return (not span.parent_span_id and isinstance(attributes, Mapping)
            and bool(as_str(attributes.get(sc.LUMOS_EXPERIMENT_ID))))


def read_experiment_header(root: SpanRecord) -> ExperimentHeader | None:
    """The experiment a root span announces, or None when it is not one."""
    if not is_experiment_root(root):
        return None
    a = root.attributes
    return ExperimentHeader(
        trace_id=root.trace_id,
        span_id=root.span_id,
        name=as_str(a.get(sc.LUMOS_EXPERIMENT_NAME)) or root.name,
        experiment_id=as_str(a.get(sc.LUMOS_EXPERIMENT_ID)),
        dataset=as_str(a.get(sc.LUMOS_EXPERIMENT_DATASET)),
        task=as_str(a.get(sc.LUMOS_EXPERIMENT_TASK)),
        start_ns=root.start_ns,
        end_ns=root.end_ns,
        case_count=as_int(a.get(sc.LUMOS_EXPERIMENT_CASE_COUNT)) or 0,
        repeats=as_int(a.get(sc.LUMOS_EXPERIMENT_REPEATS)) or 1,
        summary=_summary(a.get(sc.LUMOS_EXPERIMENT_SUMMARY)),
        failed=root.status_code == "ERROR",
    )


def read_experiment(spans: Iterable[SpanRecord], logs: Iterable[LogRecord] = ()
                    ) -> ExperimentView | None:
    """The experiment in a trace's spans (with any later scores among ``logs``), or None."""
    spans = list(spans)
    root = next((s for s in spans if is_experiment_root(s)), None)
    if root is None:
        return None
    header = read_experiment_header(root)
    assert header is not None
    later: dict[str, list[Evaluation]] = {}
    for log in logs:
        if isinstance(log, LogRecord) and log.span_id and log_event_name(log) == EVALUATION:
            attributes = log.attributes if isinstance(log.attributes, dict) else {}
            evaluation = evaluation_of(attributes)
            if evaluation is not None:
                later.setdefault(log.span_id, []).append(evaluation)
    cases = [_case(s, later.get(s.span_id, ())) for s in spans
             if s.parent_span_id == root.span_id and isinstance(s.attributes, Mapping)
             and sc.LUMOS_EXPERIMENT_CASE_ID in s.attributes]
    cases.sort(key=lambda c: (c.index, c.repeat))
    return ExperimentView(header, tuple(cases), scorer_stats(cases, header.summary))


def scorer_stats(cases: Sequence[ExperimentCase], declared: Sequence[ScorerStats] = ()
                 ) -> tuple[ScorerStats, ...]:
    """Per scorer, from the cases' scores (scorers in the order declared, then first seen)."""
    names = [s.name for s in declared]
    for case in cases:
        names.extend(n for n in case.scores if n not in names)
    thresholds = {s.name: s.threshold for s in declared}
    stats = []
    for name in names:
        scores = [c.scores[name] for c in cases if name in c.scores]
        values = [e.score for e in scores if e.score is not None and math.isfinite(e.score)]
        stats.append(ScorerStats(
            name, sum(values) / len(values) if values else None,
            sum(e.passed is True for e in scores) / len(scores) if scores else 0.0,
            len(scores), thresholds.get(name)))
    return tuple(stats)


def _case(span: SpanRecord, later: Iterable[Evaluation]) -> ExperimentCase:
    a = span.attributes
    scores: dict[str, Evaluation] = {}
    events = span.events if isinstance(span.events, tuple | list) else ()
    for event in events:
        if getattr(event, "name", None) == EVALUATION and isinstance(event.attributes, dict):
            evaluation = evaluation_of(event.attributes)
            if evaluation is not None:
                scores[evaluation.name] = evaluation
    for evaluation in later:
        scores[evaluation.name] = evaluation
    error = ""
    if span.status_code == "ERROR":
        error = span.status_message or "the case failed"
    return ExperimentCase(
        span_id=span.span_id,
        case_id=as_str(a.get(sc.LUMOS_EXPERIMENT_CASE_ID)),
        index=as_int(a.get(sc.LUMOS_EXPERIMENT_CASE_INDEX)) or 0,
        repeat=as_int(a.get(sc.LUMOS_EXPERIMENT_CASE_REPEAT)) or 0,
        input=_value(a.get(sc.LUMOS_EXPERIMENT_CASE_INPUT)),
        expected=_value(a.get(sc.LUMOS_EXPERIMENT_CASE_EXPECTED)),
        output=_value(a.get(sc.LUMOS_EXPERIMENT_CASE_OUTPUT)),
        error=error,
        duration_ns=span.duration_ns,
        scores=scores,
    )


def _value(raw: Any) -> Any:
    """A JSON attribute's value; text that is not JSON (cut short) as it is."""
    if not isinstance(raw, str):
        return raw
    parsed = loads(raw)
    return raw if parsed is BAD else parsed


def _summary(raw: Any) -> tuple[ScorerStats, ...]:
    parsed = loads(raw) if isinstance(raw, str) else BAD
    if not isinstance(parsed, dict):
        return ()
    stats = []
    for name, fields in parsed.items():
        if isinstance(fields, dict):
            stats.append(ScorerStats(
                str(name), as_float(fields.get("mean")), as_float(fields.get("pass_rate")) or 0.0,
                as_int(fields.get("count")) or 0, as_float(fields.get("threshold"))))
    return tuple(stats)
