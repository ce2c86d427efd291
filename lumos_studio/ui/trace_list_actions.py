"""What the trace list asks of the studio for the traces marked in it: pin, delete (save to a
file and compare two side by side: ``trace_exchange``).

A mixin of ``StudioApp`` (``app.py`` keeps the wiring); edits go through the store's writer in a
worker, whose commit refreshes the list like any other change.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from lumos_studio.counts import counted
from lumos_studio.display import safe_str
from lumos_studio.sessions.base import Session
from lumos_studio.sessions.demo import DEMO_SOURCE
from lumos_studio.store import Store, StoreReader
from lumos_studio.ui.messages import TracesDeleted
from lumos_studio.ui.read_only import ReadOnlyStore
from lumos_studio.ui.trace_exchange import TraceExchange
from lumos_studio.ui.widgets.logs_pane import LogsPane
from lumos_studio.ui.widgets.memory_pane import MemoryPane
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_browser import TraceBrowser
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

if TYPE_CHECKING:
    from lumos_studio.dataset_cases import LeftOut, RunCase
    from lumos_studio.ui.screens.dataset_add import CasesAdded

MAX_CASES_AT_ONCE = 200  # marked runs made cases in one dialog
INLINE_SPANS = 500  # one run this small is made a case on the UI thread (~2 ms read)


def eval_command(source: str, added: CasesAdded) -> str:
    """The command that runs the dataset against the agents this studio runs."""
    agents = "--demo" if source == DEMO_SOURCE else source if Path(source).exists() else "FILE"
    return f"lumos-studio eval {agents} {added.path} --agent {added.name}"


class TraceListActions(TraceExchange):
    """Pin and delete the trace list's traces for ``StudioApp`` (save and compare:
    ``TraceExchange``)."""

    # Provided by StudioApp.
    store: Store | ReadOnlyStore
    trace_id: str | None

    session: Session

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

    def on_trace_list_dataset_requested(self, message: TraceList.DatasetRequested) -> None:
        ids = message.trace_ids
        size = next((t.span_count for t in self.main.query_one(TraceList).summaries
                     if t.trace_id == ids[0]), None)
        if len(ids) == 1 and size is not None and size <= INLINE_SPANS:
            # One small run reads in a few milliseconds: here, without a thread's round trip
            # (which took as long as the rest of the dialog).
            self._open_dataset_add(*self._cases_of(ids), False)
        else:
            self.read_cases(ids)

    @work(thread=True, group="dataset")
    def read_cases(self, trace_ids: list[str]) -> None:
        """The runs as cases, read off the UI thread; then the dialog to edit and add them."""
        runs, left_out = self._cases_of(trace_ids[:MAX_CASES_AT_ONCE])
        self.call_from_thread(self._open_dataset_add, runs, left_out,
                              len(trace_ids) > MAX_CASES_AT_ONCE)

    def _cases_of(self, trace_ids: list[str]
                  ) -> tuple[tuple[RunCase, ...], tuple[LeftOut, ...]]:
        """The runs as cases, and those none is made of, with why."""
        from lumos_studio.dataset_cases import stored_run_cases

        runs, left_out = stored_run_cases(self.store.reader, trace_ids)
        return tuple(runs), tuple(left_out)

    def _open_dataset_add(self, runs: tuple[RunCase, ...], left_out: tuple[LeftOut, ...],
                          cut: bool) -> None:
        from lumos_studio.dataset_cases import left_out_counts  # read_cases imported it
        from lumos_studio.ui.screens.dataset_add import DatasetAddScreen

        if self._screens_gone():
            return
        if not runs:
            # One run says why; several are counted by why, as the dialog's title counts them.
            reason = left_out[0].reason if len(left_out) == 1 else left_out_counts(left_out)
            self.notify(f"Nothing to add: {safe_str(reason)}.", title="Dataset", markup=False)
            return
        if cut:
            self.notify(f"The first {MAX_CASES_AT_ONCE} marked runs only: add the rest after.",
                        title="Dataset")

        def added(result: CasesAdded | None) -> None:
            if result is not None:
                self.notify(f"Added {counted(result.added, 'case')} to {result.path} "
                            f"({result.total} in all). Run them: "
                            f"{eval_command(self.session.source, result)}",
                            title="Dataset", markup=False, timeout=12)

        self.push_screen(DatasetAddScreen(runs, left_out), added)

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
