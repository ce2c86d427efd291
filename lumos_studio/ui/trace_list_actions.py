"""What the trace list asks of the studio for the traces marked in it: pin, delete, save to a
file, compare two side by side.

A mixin of ``StudioApp`` (``app.py`` keeps the wiring); edits go through the store's writer in a
worker, whose commit refreshes the list like any other change.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from lumos_studio.store import Store
from lumos_studio.ui.messages import TracesDeleted
from lumos_studio.ui.read_only import ReadOnlyStore
from lumos_studio.ui.trace_loading import TRACE_LOGS
from lumos_studio.ui.widgets.logs_pane import LogsPane
from lumos_studio.ui.widgets.memory_pane import MemoryPane
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_browser import TraceBrowser
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    _AppBase = App[None]  # what the mixin relies on, checked against Textual's own types
else:
    _AppBase = object

SAVE_DIR = Path("traces")


class TraceListActions(_AppBase):
    """Pin, delete, save and compare the trace list's traces for ``StudioApp``."""

    # Provided by StudioApp.
    store: Store | ReadOnlyStore
    trace_id: str | None

    if TYPE_CHECKING:
        @property
        def main(self) -> Screen[None]: ...
        def _screens_gone(self) -> bool: ...
        def load_trace_list(self) -> None: ...

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

    def on_trace_list_save_requested(self, message: TraceList.SaveRequested) -> None:
        if self._screens_gone():  # a pane's late message while the app closes
            return
        from lumos_studio.replay.save import trace_file

        ids = message.trace_ids
        agents = {t.trace_id: t.agent_name for t in self.main.query_one(TraceList).summaries}
        stamp = time.strftime("%Y%m%d-%H%M%S")
        label = agents.get(ids[0]) or "trace" if len(ids) == 1 else f"{len(ids)}-traces"
        self.save_to_file(ids, trace_file(SAVE_DIR, label, stamp))

    @work(thread=True, group="save")
    def save_to_file(self, trace_ids: list[str], path: Path) -> None:
        from lumos_studio.replay.save import save_traces

        try:
            saved = save_traces(self.store.reader, trace_ids, path)
        except OSError as exc:
            self.call_from_thread(self.notify, f"could not save: {exc}", severity="error")
            return
        self.call_from_thread(
            self.notify,
            f"saved {saved.traces} trace(s), {saved.spans} spans, {saved.logs} logs to "
            f"{saved.path}",
            title="Saved",
        )

    def on_trace_list_compare_requested(self, message: TraceList.CompareRequested) -> None:
        self.open_comparison(message.before, message.after)

    @work(thread=True, group="compare")
    def open_comparison(self, before: str, after: str) -> None:
        from lumos_studio.ui.screens.compare import CompareScreen

        reader = self.store.reader
        left, right = reader.trace_spans(before), reader.trace_spans(after)
        left_logs = reader.logs(trace_id=before, limit=TRACE_LOGS)
        right_logs = reader.logs(trace_id=after, limit=TRACE_LOGS)

        async def show() -> None:
            await self.push_screen(
                CompareScreen(left, right, left_title=before[:12], right_title=after[:12],
                              left_logs=left_logs, right_logs=right_logs)
            )

        # mypy solves Textual's ``Callable[..., T | Awaitable[T]]`` to Never for a coroutine.
        self.call_from_thread(show)  # type: ignore[arg-type]
