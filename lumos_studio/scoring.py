"""Scores given after the fact: scorers run over stored traces, and notes a person writes.

Both become ``gen_ai.evaluation.result`` log records tied to the span they judge (a stored span
cannot gain events), which the semantics reader shows beside the span's own evaluations and the
experiments view counts with a case's scores.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lumos_core.evals import Case, Sample, Score, Scorer, evaluation_attributes
from lumos_core.evals.scoring import evaluation_result_attributes
from lumos_core.messages import Usage
from lumos_core.telemetry import semconv as sc
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.semantics import OperationKind, SpanView, message_text, read_trace
from lumos_studio.store import StoreReader

__all__ = [
    "Annotation",
    "TraceScores",
    "annotation_record",
    "evaluation_record",
    "sample_of_trace",
    "score_traces",
]

HUMAN = "human"


@dataclass(frozen=True, slots=True)
class Annotation:
    """What a person says of a span: a score or a label (or both) and a note."""

    name: str = HUMAN
    score: float | None = None
    label: str = ""
    note: str = ""
    passed: bool | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("an annotation needs a name")
        if self.score is not None and not math.isfinite(self.score):
            raise ValueError("an annotation's score must be a finite number")
        if self.score is None and not self.label and not self.note:
            raise ValueError("an annotation needs a score, a label or a note")


def evaluation_record(trace_id: str, span_id: str, attributes: dict[str, object],
                      body: str = "") -> LogRecord:
    """A ``gen_ai.evaluation.result`` event record tied to a span."""
    return LogRecord(time.time_ns(), body, 9, "INFO", trace_id, span_id,
                     sc.EVENT_EVALUATION_RESULT, dict(attributes),
                     scope_name=sc.INSTRUMENTATION_NAME)


def annotation_record(trace_id: str, span_id: str, annotation: Annotation) -> LogRecord:
    """The record that stores a person's annotation of a span."""
    attributes = evaluation_result_attributes(
        annotation.name, HUMAN, passed=annotation.passed, value=annotation.score,
        label=annotation.label, explanation=annotation.note)
    return evaluation_record(trace_id, span_id, attributes, annotation.note)


@dataclass(frozen=True, slots=True)
class TraceScores:
    """A stored trace scored after the fact: the span judged (None: nothing to judge) and the
    scores, each also as the record that stores it."""

    trace_id: str
    span_id: str | None
    scores: tuple[Score, ...]
    records: tuple[LogRecord, ...]


def sample_of_trace(spans: Sequence[SpanRecord], views: Mapping[str, SpanView] | None = None
                    ) -> tuple[SpanRecord, Sample] | None:
    """The trace's first agent run (else its root) as a sample: its last user message as input,
    its answer as output, every span of the trace for trajectory scorers. A run span that
    carries no messages (a chain of LangChain's, a plain root) takes them from its model calls:
    the first one's last user message, the last one's answer."""
    if not spans:
        return None
    views = views if views is not None else read_trace(spans)
    judged = next((s for s in spans if views[s.span_id].kind is OperationKind.AGENT),
                  next((s for s in spans if not s.parent_span_id), spans[0]))
    view = views[judged.span_id]
    asked = [m for m in view.input_messages if m.role == "user"]
    answered = view.output_messages
    if not asked or not answered:
        calls = sorted((s for s in spans if views[s.span_id].kind is OperationKind.LLM),
                       key=lambda s: s.start_ns)
        if calls and not asked:
            asked = [m for m in views[calls[0].span_id].input_messages if m.role == "user"]
        if calls and not answered:
            answered = views[calls[-1].span_id].output_messages
    usage = Usage()
    for span in spans:
        seen = views[span.span_id]
        if seen.kind is OperationKind.LLM:
            usage = usage + Usage(seen.usage.input_tokens or 0, seen.usage.output_tokens or 0)
    case = Case(message_text(asked[-1]) if asked else "", None, {}, judged.trace_id[:12])
    output = message_text(answered[-1]) if answered else ""
    return judged, Sample(case, output, spans, (judged.duration_ns or 0) / 1e9, usage)


def score_traces(reader: StoreReader, trace_ids: Sequence[str], scorers: Sequence[Scorer]
                 ) -> list[TraceScores]:
    """Score each trace's agent run (``sample_of_trace``) with ``scorers``."""
    scored = []
    for trace_id in trace_ids:
        found = sample_of_trace(reader.trace_spans(trace_id))
        if found is None:
            scored.append(TraceScores(trace_id, None, (), ()))
            continue
        span, sample = found
        scores = tuple(asyncio.run(_score_all(scorers, sample)))
        records = tuple(evaluation_record(trace_id, span.span_id,
                                          evaluation_attributes(score, "rescore"),
                                          score.explanation) for score in scores)
        scored.append(TraceScores(trace_id, span.span_id, scores, records))
    return scored


async def _score_all(scorers: Sequence[Scorer], sample: Sample) -> list[Score]:
    scores = []
    for scorer in scorers:
        try:
            scores.append(await scorer.score(sample))
        except Exception as exc:  # a scorer's bug fails its score, not the others
            scores.append(scorer.unscored(f"the scorer raised {type(exc).__name__}: {exc}"))
    return scores
