"""Runs kept as evaluation cases: a stored trace becomes a line of a dataset file, the JSONL that
``lumos-studio eval`` and ``lumos_core.evals.Dataset.from_jsonl`` read.

A good run kept says what the agent should go on doing; a bad one, with its ``expected`` put
right by hand, what it should do instead. The case is read from the trace as scoring reads it
(``scoring.sample_of_trace``, any dialect): the last user message as ``input``, the answer as
``expected``, the tools the run called, in order and with their arguments, as
``metadata.expected_tools`` (what ``ToolTrajectory`` checks), and the trace it came from.
A run with no user message, and an experiment (its cases are its dataset's already, and the
trace holds all of them), are left out, each saying why (``LeftOut``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from lumos_core.evals import Dataset, DatasetError
from lumos_core.evals.dataset import case_lines, check_case
from lumos_studio.counts import counted
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.scoring import sample_of_trace
from lumos_studio.semantics import OperationKind, SpanView, read_trace
from lumos_studio.semantics.experiment import read_experiment_header
from lumos_studio.store import StoreReader

__all__ = ["DATASET_DIR", "RUN_LOGS", "LeftOut", "LeftOutKind", "RunCase", "append_cases",
           "case_of_trace", "dataset_path", "parse_cases", "stored_run_cases"]

DATASET_DIR = Path("datasets")
RUN_LOGS = 2_000  # log records read with a run (some dialects keep its messages there)
_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class RunCase:
    """A run as a case: ``case`` is the JSONL line's object; ``name`` the run's agent (else its
    span's name) as a file name takes it, which its dataset is named after by default."""

    name: str
    case: dict[str, Any]


class LeftOutKind(enum.Enum):
    """Why no case is made of a run."""

    NO_USER_MESSAGE = "no user message to make a case's input of"
    EXPERIMENT = "an experiment: its cases are its dataset's already"


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A run no case is made of; ``dataset``: an experiment's, as its root span names it."""

    trace_id: str
    kind: LeftOutKind
    dataset: str | None = None

    @property
    def reason(self) -> str:
        if self.kind is LeftOutKind.EXPERIMENT and self.dataset:
            return f"an experiment on {self.dataset}: its cases are that dataset's already"
        return self.kind.value


def left_out_counts(left_out: Sequence[LeftOut]) -> str:
    """The runs left out, counted by why: "1 run with no user message, 2 experiments"."""
    no_message = sum(1 for left in left_out if left.kind is LeftOutKind.NO_USER_MESSAGE)
    parts = [f"{counted(no_message, 'run')} with no user message"] if no_message else []
    experiments = len(left_out) - no_message
    if experiments:
        parts.append(counted(experiments, "experiment"))
    return ", ".join(parts)


def case_of_trace(spans: Sequence[SpanRecord], logs: Sequence[LogRecord] = ()
                  ) -> RunCase | LeftOut:
    """The trace's run as a case, or why none is made of it: no user message to give the
    case as its input, or an experiment's trace; ``logs``: the trace's log records (some
    dialects keep the messages there)."""
    trace_id = spans[0].trace_id if spans else ""
    for span in spans:
        experiment = None if span.parent_span_id else read_experiment_header(span)
        if experiment is not None:
            return LeftOut(trace_id, LeftOutKind.EXPERIMENT, experiment.dataset)
    views = read_trace(spans, logs)
    found = sample_of_trace(spans, views)
    if found is None or not found[1].case.input:
        return LeftOut(trace_id, LeftOutKind.NO_USER_MESSAGE)
    judged, sample = found
    metadata: dict[str, Any] = {"trace_id": judged.trace_id}
    tools = _tool_calls(judged, spans, views)
    if tools:
        metadata["expected_tools"] = tools
    name = _name_of(judged, views)
    case: dict[str, Any] = {"id": f"{name}-{judged.trace_id[:8]}", "input": sample.case.input}
    if sample.output:
        case["expected"] = sample.output
    case["metadata"] = metadata
    return RunCase(name, case)


def stored_run_cases(reader: StoreReader, trace_ids: Iterable[str],
                     ) -> tuple[list[RunCase], list[LeftOut]]:
    """The stored runs as cases, and those none is made of, with why."""
    runs: list[RunCase] = []
    left_out: list[LeftOut] = []
    for trace_id in trace_ids:
        found = case_of_trace(reader.trace_spans(trace_id),
                              reader.logs(trace_id=trace_id, limit=RUN_LOGS))
        if isinstance(found, LeftOut):
            left_out.append(replace(found, trace_id=trace_id))  # its spans may be none
        else:
            runs.append(found)
    return runs, left_out


def _name_of(span: SpanRecord, views: Mapping[str, SpanView]) -> str:
    """The run's agent (else its span's name) as a case id's and a file's first part."""
    name = views[span.span_id].agent_name or span.name
    return _NOT_IN_A_NAME.sub("-", name).strip("-.")[:40] or "run"


def _tool_calls(judged: SpanRecord, spans: Sequence[SpanRecord],
                views: Mapping[str, SpanView]) -> list[dict[str, Any]]:
    """The tools called inside ``judged``'s run, in the order they started."""
    by_id = {span.span_id: span for span in spans}
    calls = []
    for span in sorted(spans, key=lambda s: s.start_ns):
        call = views[span.span_id].tool_call
        if views[span.span_id].kind is not OperationKind.TOOL or call is None or not call.name:
            continue
        if _inside(span, judged.span_id, by_id):
            entry: dict[str, Any] = {"name": call.name}
            if call.arguments is not None:
                entry["arguments"] = call.arguments
            calls.append(entry)
    return calls


def _inside(span: SpanRecord, ancestor: str, by_id: Mapping[str, SpanRecord]) -> bool:
    seen: set[str] = set()
    parent = span.parent_span_id
    while parent is not None and parent not in seen:
        if parent == ancestor:
            return True
        seen.add(parent)
        above = by_id.get(parent)
        parent = above.parent_span_id if above is not None else None
    return False


def dataset_path(name: str) -> Path:
    """Where a run's case goes unless told: ``datasets/<agent>.jsonl``."""
    return DATASET_DIR / f"{name}.jsonl"


def parse_cases(text: str) -> list[dict[str, Any]] | str:
    """The edited lines as cases, or what is wrong with them (the line, and why)."""
    def where(number: int) -> str:
        return f"line {number}"

    cases: list[dict[str, Any]] = []
    try:
        for number, value in case_lines(text, where):
            check_case(value, where(number))
            cases.append(value)
    except DatasetError as exc:
        return str(exc)
    if not cases:
        return "no case to add: one JSON object a line, each with an \"input\""
    return cases


def append_cases(path: Path, cases: Sequence[Mapping[str, Any]]) -> int:
    """Append ``cases`` to the dataset file at ``path`` (made, with its folder, if missing);
    the number of cases it then holds. Raises ``DatasetError`` when the file is no dataset or
    already holds one of their ids (nothing is written then), ``OSError`` when it cannot be
    written."""
    held: tuple[str, ...] = ()
    ending = b"\n"
    if path.exists():
        before = path.read_bytes()
        if before.strip():
            held = tuple(case.id for case in Dataset.from_jsonl_bytes(before, path).cases)
        ending = before[-1:] or b"\n"
    new_ids = [str(case.get("id")) for case in cases if case.get("id") is not None]
    for case_id in new_ids:
        if case_id in held:
            raise DatasetError(f"{path} already holds a case {case_id!r}: give this one "
                               "another id")
    if len(set(new_ids)) < len(new_ids):
        raise DatasetError("two of the cases have the same id: give each its own")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as out:
        if ending != b"\n":
            out.write(b"\n")
        for case in cases:
            out.write(orjson.dumps(case) + b"\n")
    return len(held) + len(cases)
