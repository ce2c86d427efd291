"""Memory as it was at one instant of a run, and what the selected step changed.

Rebuilt from the ``lumos.memory.*`` log records (the core emits one per change, at once), so it
works live, after the fact, and on a replayed file alike. Pure: no Textual, no SQLite.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from lumos_core.memory.events import MemoryState, rebuild_memory_state
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.semantics import OperationKind, SpanView, read_span

Views = Mapping[str, SpanView]


@dataclass(frozen=True)
class SearchResult:
    """A recall or retrieval the run made: what it asked and what came back, with scores."""

    span_name: str
    query: str
    hits: tuple[tuple[str, float | None], ...]


@dataclass(frozen=True)
class MemoryView:
    """What the memory pane shows."""

    thread_id: str | None
    at_ns: int | None
    working_memory: str | None = None
    working_memory_diff: tuple[str, ...] = ()
    messages: tuple[tuple[str, str], ...] = ()
    new_messages: int = 0
    searches: tuple[SearchResult, ...] = ()
    events_applied: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


def _view(span: SpanRecord, views: Views | None) -> SpanView:
    view = views.get(span.span_id) if views else None
    return view if view is not None else read_span(span)


def conversation_of(spans: Sequence[SpanRecord], views: Views | None = None) -> str | None:
    """The thread a run belongs to: the first conversation id its spans name, in any dialect
    (``views`` by span id; spans without one are read here)."""
    for span in spans:
        conversation = _view(span, views).conversation_id
        if conversation:
            return conversation
    return None


def memory_view(
    spans: Sequence[SpanRecord],
    events: Sequence[LogRecord],
    selected: SpanRecord | None,
    views: Views | None = None,
    conversation_id: str | None = None,
) -> MemoryView:
    """Memory at the end of ``selected`` (or at the latest event), diffed with its start;
    ``views`` are the spans' views by span id (read here when missing). The run's thread is
    ``conversation_id`` when given (the store's), else the first its spans name; ``spans``
    need only be the run's searches then."""
    thread_id = conversation_id or conversation_of(spans, views)
    if thread_id is None:
        return MemoryView(None, None, notes=("This run has no conversation id, so no memory.",))
    if selected is None or selected.end_ns is None:
        until = None
        since = selected.start_ns if selected is not None else None
    else:
        until, since = selected.end_ns, selected.start_ns
    after, skipped = _rebuild(e for e in events if until is None or e.time_ns <= until)
    before = _rebuild(e for e in events if e.time_ns < since)[0] if since is not None else (
        MemoryState())
    notes = (f"{skipped} memory event{'s' * (skipped != 1)} could not be read and "
             f"{'were' if skipped != 1 else 'was'} skipped.",) if skipped else ()
    working = after.working_memory_of(thread_id)
    if thread_id not in after.threads and working is None:
        note = f"Nothing in memory for {thread_id} yet (the agent may have no memory)."
        return MemoryView(None, until, notes=(note, *notes),
                          searches=tuple(_searches(spans, until, views)))
    previous = before.working_memory_of(thread_id)
    messages = _messages(after, thread_id)
    return MemoryView(
        thread_id=thread_id,
        at_ns=until,
        working_memory=working,
        working_memory_diff=_diff(previous, working),
        messages=messages,
        new_messages=len(messages) - len(_messages(before, thread_id)),
        searches=tuple(_searches(spans, until, views)),
        events_applied=sum(1 for e in events if until is None or e.time_ns <= until),
        notes=notes,
    )


def _rebuild(events: Iterable[LogRecord]) -> tuple[MemoryState, int]:
    """Memory replayed event by event: one a sender got wrong is skipped, and counted, instead
    of failing the whole view (events come from any OTLP sender)."""
    state, skipped = MemoryState(), 0
    for event in events:
        try:
            rebuild_memory_state((event.body,), state)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            skipped += 1
    return state, skipped


def _messages(state: MemoryState, thread_id: str) -> tuple[tuple[str, str], ...]:
    thread = state.threads.get(thread_id)
    if thread is None:
        return ()
    return tuple((m.message.role, _text(m.message)) for m in thread.messages)


def _text(message: Any) -> str:
    text: str = message.text
    if text:
        return text
    calls = ", ".join(f"{c.name}({orjson.dumps(c.arguments).decode()})" for c in message.tool_calls)
    if calls:
        return f"→ {calls}"
    return " ".join(getattr(p, "result", "") for p in message.parts)


def _diff(before: str | None, after: str | None) -> tuple[str, ...]:
    if before == after:
        return ()
    lines = difflib.unified_diff(
        (before or "").splitlines(), (after or "").splitlines(), lineterm="", n=1
    )
    return tuple(line for line in lines if not line.startswith(("---", "+++", "@@")))


def _searches(spans: Sequence[SpanRecord], until: int | None, views: Views | None
              ) -> list[SearchResult]:
    """The last few memory searches and retrievals that returned documents, by ``until``."""
    found = []
    for span in spans:
        if until is not None and span.start_ns > until:
            continue
        view = _view(span, views)
        searched = view.kind is OperationKind.RETRIEVAL or (
            view.kind is OperationKind.MEMORY and view.operation_name.startswith("search"))
        if not searched or not (view.documents or view.query):
            continue
        hits = tuple((d.content or d.id, d.score) for d in view.documents)
        found.append(SearchResult(span.name, view.query, hits))
    return found[-3:]
