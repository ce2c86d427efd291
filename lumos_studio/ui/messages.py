"""Messages that cross from workers and the store's writer thread into the UI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.message import Message

from lumos_studio.memory_view import MemoryView
from lumos_studio.metrics import Metrics
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.sessions.base import RunOutcome, SessionEvent, StreamUpdate, WorkflowOutcome
from lumos_studio.store import TracePage, TraceQuery, TraceSummary
from lumos_studio.store.span_headers import SpanHeader, SpanHeaders
from lumos_studio.ui.decoded_trace import DecodedTrace


class TracesChanged(Message):
    """The writer committed spans of these traces (coalesced, at most ~10 per second)."""

    def __init__(self, trace_ids: frozenset[str]) -> None:
        super().__init__()
        self.trace_ids = trace_ids


class TraceListLoaded(Message):
    """Rows for the trace list; the studio's come as a ``page`` of its query, with the newest
    trace of the whole store (which a new run is followed by, whatever the list's order)."""

    def __init__(
        self,
        summaries: list[TraceSummary],
        page: TracePage | None = None,
        newest: TraceSummary | None = None,
    ) -> None:
        super().__init__()
        self.summaries = summaries
        self.page = page
        self.newest = newest if page is not None else (summaries[0] if summaries else None)


class TraceCountLoaded(Message):
    """The total of a trace list page that came without it (``TracePage.counted``)."""

    def __init__(self, query: TraceQuery, total: int) -> None:
        super().__init__()
        self.query = query
        self.total = total


class TracesDeleted(Message):
    """The writer deleted these traces (``ok``) or could not."""

    def __init__(self, trace_ids: list[str], ok: bool) -> None:
        super().__init__()
        self.trace_ids = trace_ids
        self.ok = ok


class TraceLoaded(Message):
    """A trace's spans as its tree shows them (headers: no span decoded), and its log records
    (earlier GenAI forms carry messages in them)."""

    def __init__(self, trace_id: str, spans: Sequence[SpanHeader], logs: Sequence[LogRecord] = (),
                 complete: bool = True, decoded: DecodedTrace | None = None) -> None:
        super().__init__()
        self.trace_id = trace_id
        self.spans = spans  # when not ``complete``: the first spans only, the rest is coming
        self.logs = logs
        self.complete = complete
        self.decoded = decoded  # the spans whole, read by the worker when the debugger or the
        # graph will ask for them (``StudioApp.decoded_trace``)
        self.searches = (spans.searching_ids() if isinstance(spans, SpanHeaders)  # (memory's)
                         else tuple(h.span_id for h in spans if h.searches))


class SpanLoaded(Message):
    """One span of the shown trace, whole, for the detail; with the trace's logs when they
    are newer than the detail's."""

    def __init__(self, span: SpanRecord, logs: Sequence[LogRecord] | None = None) -> None:
        super().__init__()
        self.span = span
        self.logs = logs


class MemoryLoaded(Message):
    """The memory of the shown trace's thread, at the selected span."""

    def __init__(self, trace_id: str, view: MemoryView) -> None:
        super().__init__()
        self.trace_id = trace_id
        self.view = view


class MetricsLoaded(Message):
    """Fresh session metrics for the strip."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self.metrics = metrics


class TurnFinished(Message):
    """A chat turn ended (answer, error or cancellation)."""

    def __init__(self, agent_name: str, text: str, outcome: RunOutcome) -> None:
        super().__init__()
        self.agent_name = agent_name
        self.text = text
        self.outcome = outcome


class SessionChanged(Message):
    """The session reported something (new agents, a reload, a load problem, output)."""

    def __init__(self, event: SessionEvent) -> None:
        super().__init__()
        self.event = event


class TurnStreamed(Message):
    """A piece of the running turn ``turn`` (text or a tool event), from the run's thread."""

    def __init__(self, agent_name: str, turn: int, update: StreamUpdate) -> None:
        super().__init__()
        self.agent_name = agent_name
        self.turn = turn
        self.update = update


class WorkflowTurnFinished(Message):
    """A workflow run (``resumed``: the run id it resumed) ended, was refused or cancelled."""

    def __init__(
        self, workflow: str, text: str, outcome: WorkflowOutcome, resumed: str | None = None
    ) -> None:
        super().__init__()
        self.workflow = workflow
        self.text = text
        self.outcome = outcome
        self.resumed = resumed


class SuspendedRunsFound(Message):
    """Workflow runs an earlier session left suspended: name → (run id, step → payload)."""

    def __init__(self, runs: dict[str, tuple[str, dict[str, Any]]]) -> None:
        super().__init__()
        self.runs = runs
