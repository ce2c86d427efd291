"""Comparing two runs: spans aligned by structure, what changed per span, and a one-line summary.

Spans are matched under matched parents by name, in start order, with a sequence alignment, so an
inserted or removed step (one tool call fewer) shifts nothing else. Ids and times never match
across runs, so they are never compared; durations are compared with a tolerance.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import orjson

from lumos_studio.present import children_by_parent, format_duration
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.semantics import (
    Message,
    OperationKind,
    Part,
    SpanView,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    TraceViews,
    part_text,
    read_span,
)

Change = Literal["same", "changed", "added", "removed"]

#: A duration counts as changed past both thresholds (runs never take exactly as long).
DURATION_RELATIVE: Final = 0.2
DURATION_ABSOLUTE_NS: Final = 5_000_000


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One field that differs between the two sides (text as a person reads it)."""

    field: str
    left: str | None
    right: str | None


@dataclass(frozen=True, slots=True)
class AlignedRow:
    """One line of the side-by-side view: a span on either side or both, at a tree depth."""

    depth: int
    path: str
    left: SpanRecord | None
    right: SpanRecord | None
    diffs: tuple[FieldDiff, ...] = ()

    @property
    def change(self) -> Change:
        if self.left is None:
            return "added"
        if self.right is None:
            return "removed"
        return "changed" if self.diffs else "same"


@dataclass(frozen=True, slots=True)
class RunTotals:
    """What a summary compares for one run."""

    tokens: int
    latency_ns: int
    tool_calls: int
    model_calls: int
    errors: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """Both runs aligned row by row, with their totals."""

    rows: tuple[AlignedRow, ...]
    left: RunTotals
    right: RunTotals
    counts: dict[str, int] = field(default_factory=dict)
    left_views: Mapping[str, SpanView] = field(default_factory=dict)  #: by span id
    right_views: Mapping[str, SpanView] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return summary_line(self)


# ------------------------------------------------------------------------------------ alignment


Views = Mapping[str, SpanView]


def compare_runs(
    left: Iterable[SpanRecord],
    right: Iterable[SpanRecord],
    left_logs: Iterable[LogRecord] = (),
    right_logs: Iterable[LogRecord] = (),
    on_progress: Callable[[float], None] | None = None,
) -> Comparison:
    """Align two runs' spans (each run one trace, or several traces in time order), each span
    read once, in whatever dialect it was recorded. ``on_progress`` is told the share of the
    spans aligned, now and then: two 100,000-span runs take seconds."""
    return Aligning(left, right, left_logs, right_logs).finish(on_progress)


class Aligning:
    """Two runs being compared: ``more`` aligns the next rows, in the order they are shown, and
    reads only the spans they need (``TraceViews``); ``finish`` aligns the rest and counts.
    The compare screen shows a long comparison's first rows so, before the rest is aligned
    (two 100,000-span runs: ~8 s to align whole)."""

    def __init__(
        self,
        left: Iterable[SpanRecord],
        right: Iterable[SpanRecord],
        left_logs: Iterable[LogRecord] = (),
        right_logs: Iterable[LogRecord] = (),
    ) -> None:
        self.left, self.right = list(left), list(right)
        self.left_views = TraceViews(self.left, left_logs)
        self.right_views = TraceViews(self.right, right_logs)
        self.rows: list[AlignedRow] = []  # grows: read it from another thread as a copy
        self._spans_aligned = 0
        self._walk = self._aligned(children_by_parent(self.left),
                                   children_by_parent(self.right))

    @property
    def share(self) -> float:
        """How much of the two runs is aligned."""
        return self._spans_aligned / max(len(self.left) + len(self.right), 1)

    def more(self, count: int) -> bool:
        """Align up to ``count`` more rows; False once every row is in."""
        for _ in range(count):
            row = next(self._walk, None)
            if row is None:
                return False
            self.rows.append(row)
            self._spans_aligned += (row.left is not None) + (row.right is not None)
        return True

    def finish(self, on_progress: Callable[[float], None] | None = None) -> Comparison:
        """The whole comparison: the rest aligned (``on_progress`` told the share every
        ``PROGRESS_ROWS`` rows), every span read for the totals."""
        while self.more(PROGRESS_ROWS):
            if on_progress is not None:
                on_progress(self.share)
        counts = {change: 0 for change in ("same", "changed", "added", "removed")}
        for row in self.rows:
            counts[row.change] += 1
        return Comparison(tuple(self.rows), run_totals(self.left, self.left_views),
                          run_totals(self.right, self.right_views), counts,
                          self.left_views, self.right_views)

    def _aligned(
        self,
        left_children: Mapping[str | None, list[SpanRecord]],
        right_children: Mapping[str | None, list[SpanRecord]],
    ) -> Iterator[AlignedRow]:
        """The rows in tree order: siblings aligned under aligned parents, depth first."""
        left_views, right_views = self.left_views, self.right_views

        def walk(left_parent: str | None, right_parent: str | None, depth: int,
                 prefix: str) -> Iterator[AlignedRow]:
            lefts = left_children.get(left_parent, []) if left_parent != _NONE else []
            rights = right_children.get(right_parent, []) if right_parent != _NONE else []
            seen: dict[str, int] = {}
            for a, b in align_siblings(lefts, rights, left_views, right_views):
                name = (a or b).name  # type: ignore[union-attr]
                index = seen.get(name, 0)
                seen[name] = index + 1
                path = f"{prefix}/{name}[{index}]" if prefix else f"{name}[{index}]"
                diffs = span_diffs(a, b, left_views.get(a.span_id), right_views.get(b.span_id)
                                   ) if a and b else ()
                yield AlignedRow(depth, path, a, b, diffs)
                yield from walk(a.span_id if a else _NONE, b.span_id if b else _NONE,
                                depth + 1, path)

        return walk(None, None, 0, "")


PROGRESS_ROWS: Final = 1_000  # rows aligned between two reports of ``finish``'s progress
_NONE: Final = "\0no parent"  # a side that has no span here has no children either


def _view(span: SpanRecord, views: Views | None) -> SpanView:
    view = views.get(span.span_id) if views else None
    return view if view is not None else read_span(span)


def align_siblings(
    lefts: Sequence[SpanRecord],
    rights: Sequence[SpanRecord],
    left_views: Views | None = None,
    right_views: Views | None = None,
) -> list[tuple[SpanRecord | None, SpanRecord | None]]:
    """Pair siblings in start order by name and role (a tool's arguments, whether a model call
    asked for tools or answered), so the answer pairs with the answer when steps were dropped;
    unmatched runs are paired when their operations agree (other arguments, another tool at the
    same step), else listed as removed then added. Views not given are read here."""
    if not lefts or not rights:  # a leaf on both sides (most spans), or one side's alone
        return [*((span, None) for span in lefts), *((None, span) for span in rights)]
    left_of = {id(s): _view(s, left_views) for s in lefts}
    right_of = {id(s): _view(s, right_views) for s in rights}
    matcher = difflib.SequenceMatcher(
        a=[_align_key(s, left_of[id(s)]) for s in lefts],
        b=[_align_key(s, right_of[id(s)]) for s in rights],
        autojunk=False,
    )
    pairs: list[tuple[SpanRecord | None, SpanRecord | None]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.extend(zip(lefts[i1:i2], rights[j1:j2], strict=True))
            continue
        removed, added = list(lefts[i1:i2]), list(rights[j1:j2])
        while removed and added and _operation(removed[0], left_of[id(removed[0])]) == (
                _operation(added[0], right_of[id(added[0])])):
            pairs.append((removed.pop(0), added.pop(0)))
        pairs.extend((span, None) for span in removed)
        pairs.extend((None, span) for span in added)
    return pairs


def _align_key(span: SpanRecord, view: SpanView) -> tuple[str, str]:
    if view.kind is OperationKind.TOOL and view.tool_call is not None:
        return span.name, _json_text(view.tool_call.arguments) or ""
    if view.kind is OperationKind.LLM:
        return span.name, ",".join(view.finish_reasons)
    return span.name, ""


# ------------------------------------------------------------------------------------ per span


def span_diffs(
    left: SpanRecord,
    right: SpanRecord,
    left_view: SpanView | None = None,
    right_view: SpanView | None = None,
) -> tuple[FieldDiff, ...]:
    """What differs between two aligned spans, in the order a reader cares about (views not
    given are read here)."""
    diffs: list[FieldDiff] = []

    def check(name: str, a: str | None, b: str | None) -> None:
        if a != b:
            diffs.append(FieldDiff(name, a, b))

    lv = left_view if left_view is not None else read_span(left)
    rv = right_view if right_view is not None else read_span(right)
    check("name", left.name, right.name)
    check("status", _status(left), _status(right))
    check("system instructions", _parts_text(lv.system_instructions),
          _parts_text(rv.system_instructions))
    check("input messages", messages_text(lv.input_messages), messages_text(rv.input_messages))
    check("output messages", messages_text(lv.output_messages),
          messages_text(rv.output_messages))
    lcall, rcall = lv.tool_call, rv.tool_call
    check("tool arguments", _json_text(lcall.arguments) if lcall else None,
          _json_text(rcall.arguments) if rcall else None)
    check("tool result", _plain(lcall.result) if lcall else None,
          _plain(rcall.result) if rcall else None)
    check("model", lv.request_model or lv.response_model or None,
          rv.request_model or rv.response_model or None)
    check("input tokens", _count(lv.usage.input_tokens), _count(rv.usage.input_tokens))
    check("output tokens", _count(lv.usage.output_tokens), _count(rv.usage.output_tokens))
    if duration_changed(left.duration_ns, right.duration_ns):
        diffs.append(FieldDiff("duration", format_duration(left.duration_ns),
                               format_duration(right.duration_ns)))
    return tuple(diffs)


def duration_changed(left: int | None, right: int | None) -> bool:
    """Running vs finished, or a change past both ``DURATION_*`` thresholds."""
    if left is None or right is None:
        return (left is None) != (right is None)
    delta = abs(right - left)
    return delta >= DURATION_ABSOLUTE_NS and delta >= DURATION_RELATIVE * max(left, 1)


def messages_text(messages: Sequence[Message]) -> str | None:
    """Messages as ``role: text`` lines, so wording changes read as text changes (None when
    the span has none)."""
    if not messages:
        return None
    return "\n".join(f"{m.role or '?'}: {_part_text(p)}" for m in messages for p in m.parts)


def _part_text(part: Part) -> str:
    match part:
        case TextPart(text=text):
            return text
        case ToolCallPart(name=name, arguments=arguments):
            return f"call {name}({_json_text(arguments) or ''})"
        case ToolResultPart(result=result):
            return f"result {_plain(result) or ''}"
    return part_text(part)


def _parts_text(parts: Sequence[Part]) -> str | None:
    return "\n".join(_part_text(p) for p in parts) if parts else None


def _json_text(value: Any) -> str | None:
    """Arguments compared as data: key order and spacing are not changes (a string that holds
    JSON is that JSON)."""
    if isinstance(value, str):
        text = value
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
        if isinstance(value, str):
            return value
    if value is None:
        return None
    return _dumps(value)


def _count(value: int | None) -> str | None:
    return None if value is None else str(value)


def _plain(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else _dumps(value)



def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return str(value)


def _status(span: SpanRecord) -> str:
    return "RUNNING" if span.running else span.status_code


def _operation(span: SpanRecord, view: SpanView) -> str:
    """What a span does, for pairing: its kind, else the first word of its name."""
    if view.kind is not OperationKind.UNKNOWN:
        kind: str = view.kind.value
        return kind
    return span.name.split(" ", 1)[0]


# ------------------------------------------------------------------------------------- summary


def run_totals(spans: Sequence[SpanRecord], views: Views | None = None) -> RunTotals:
    """Tokens (model calls only, so agents' totals are not counted twice), wall time, counts."""
    of = {id(s): _view(s, views) for s in spans}
    chats = [s for s in spans if of[id(s)].kind is OperationKind.LLM]
    token_spans = chats or [s for s in spans if s.parent_span_id is None]
    tokens = sum((of[id(s)].usage.input_tokens or 0) + (of[id(s)].usage.output_tokens or 0)
                 for s in token_spans)
    ended = [s.end_ns for s in spans if s.end_ns is not None]
    latency = max(ended) - min(s.start_ns for s in spans) if ended else 0
    return RunTotals(
        tokens=tokens,
        latency_ns=max(latency, 0),
        tool_calls=sum(1 for s in spans if of[id(s)].kind is OperationKind.TOOL),
        model_calls=len(chats),
        errors=sum(1 for s in spans if s.status_code == "ERROR"),
    )


def percent_change(before: float, after: float) -> str:
    """``+12 %``, ``−30 %`` (a real minus sign), ``±0 %``; ``new`` when there was nothing."""
    if before == after:
        return "±0 %"
    if not before:
        return "new"
    change = round((after - before) / before * 100)
    if change == 0:
        return "±0 %"
    return f"+{change} %" if change > 0 else f"−{-change} %"


def _count_change(before: int, after: int, singular: str, plural: str) -> str | None:
    delta = after - before
    if not delta:
        return None
    noun = singular if abs(delta) == 1 else plural
    return f"{abs(delta)} {noun} {'more' if delta > 0 else 'fewer'}"


def summary_line(comparison: Comparison) -> str:
    """``tokens +12 %, latency −30 %, 1 tool call fewer, 2 spans changed``."""
    a, b = comparison.left, comparison.right
    parts = [f"tokens {percent_change(a.tokens, b.tokens)}",
             f"latency {percent_change(a.latency_ns, b.latency_ns)}"]
    for change in (
        _count_change(a.tool_calls, b.tool_calls, "tool call", "tool calls"),
        _count_change(a.model_calls, b.model_calls, "model call", "model calls"),
        _count_change(a.errors, b.errors, "error", "errors"),
    ):
        if change:
            parts.append(change)
    changed = comparison.counts.get("changed", 0)
    if changed:
        parts.append(f"{changed} span{'s' if changed != 1 else ''} changed")
    return ", ".join(parts)


def word_diff(left: str, right: str) -> list[tuple[Literal["same", "removed", "added"], str]]:
    """Word-level difference of two texts, for highlighting what changed inside a field."""
    a, b = _tokens(left), _tokens(right)
    out: list[tuple[Literal["same", "removed", "added"], str]] = []
    matcher = difflib.SequenceMatcher(str.isspace, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(("added", "".join(b[j1:j2])))
    return out


def _tokens(text: str) -> list[str]:
    """Words and the whitespace between them, so joining them gives the text back."""
    return _TOKEN.findall(text)


_TOKEN: Final = re.compile(r"\s+|\S+")
