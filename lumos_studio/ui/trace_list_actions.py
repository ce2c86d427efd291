"""What the trace list asks of the studio for the traces marked in it: pin, delete (save to a
file and compare two side by side: ``trace_exchange``).

A mixin of ``StudioApp`` (``app.py`` keeps the wiring); edits go through the store's writer in a
worker, whose commit refreshes the list like any other change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from lumos_studio.store import Store, StoreReader
from lumos_studio.ui.messages import TracesDeleted
from lumos_studio.ui.read_only import ReadOnlyStore
from lumos_studio.ui.trace_exchange import TraceExchange
from lumos_studio.ui.widgets.logs_pane import LogsPane
from lumos_studio.ui.widgets.memory_pane import MemoryPane
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_browser import TraceBrowser
from lumos_studio.ui.widgets.waterfall import TraceWaterfall


class TraceListActions(TraceExchange):
    """Pin and delete the trace list's traces for ``StudioApp`` (save and compare:
    ``TraceExchange``)."""

    # Provided by StudioApp.
    store: Store | ReadOnlyStore
    trace_id: str | None

    if TYPE_CHECKING:
        def load_trace_list(self) -> None: ...

    @property
    def trace_reader(self) -> StoreReader:
        return self.store.reader

    def on_trace_browser_pin_requested(self, message: TraceBrowser.PinRequested) -> None:
        self.pin_traces(message.trace_ids, message.pinned)

    @work(thread=True, group="store-edit")
    def pin_traces(self, trace_ids: list[str], pinned: bool) -> None:
        """Through the writer; its commit refreshes the list like any other change."""
        if not self.store.writer.pin_traces(trace_ids, pinned):
            self.call_from_thread(self.notify, "could not pin", severity="error")

    def on_trace_browser_delete_requested(self, message: TraceBrowser.DeleteRequested) -> None:
        self.delete_traces(message.trace_ids)

    @work(thread=True, group="store-edit")
    def delete_traces(self, trace_ids: list[str]) -> None:
        self.post_message(TracesDeleted(trace_ids, self.store.writer.delete_traces(trace_ids)))

    def on_traces_deleted(self, message: TracesDeleted) -> None:
        if self._screens_gone():
            return
        if not message.ok:
            self.notify("could not delete (see the log)", severity="error")
            return
        deleted = frozenset(message.trace_ids)
        self.main.query_one(TraceBrowser).forget(deleted)
        if self.trace_id in deleted:  # the open trace is gone: empty the panes that showed it
            self.main.query_one(TraceWaterfall).show(self.trace_id, [])
            self.main.query_one(SpanDetail).clear()
            self.main.query_one(MemoryPane).refresh(recompose=True)  # "select a run"
            self.main.query_one(LogsPane).show_span(None, None)
            self.trace_id = None
        count = len(deleted)
        self.notify(f"deleted {count} trace{'s' * (count != 1)}", title="Traces")
        self.load_trace_list()
