"""Saving the trace list's traces to a file in ``traces/`` and comparing two side by side: what
the studio's list and the replay's ask of their app, from whichever store they show.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from lumos_studio.ui.trace_loading import TRACE_LOGS
from lumos_studio.ui.widgets.trace_list import TraceList

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from lumos_studio.store import StoreReader

    _AppBase = App[None]  # what the mixin relies on, checked against Textual's own types
else:
    _AppBase = object

SAVE_DIR = Path("traces")


class TraceExchange(_AppBase):
    """Save and compare for an app whose ``trace_reader`` reads the traces its list shows."""

    if TYPE_CHECKING:
        @property
        def main(self) -> Screen[None]: ...
        @property
        def trace_reader(self) -> StoreReader: ...
        def _screens_gone(self) -> bool: ...

    def exchange_blocked(self) -> str | None:
        """Why the traces cannot be saved or compared now (None: they can)."""
        return None

    def _refused(self) -> bool:
        """Said so, when saving or comparing must wait."""
        reason = self.exchange_blocked()
        if reason is not None:
            self.notify(reason, severity="warning")
        return reason is not None

    def on_trace_list_save_requested(self, message: TraceList.SaveRequested) -> None:
        if self._screens_gone() or self._refused():  # a late message while the app closes
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
            saved = save_traces(self.trace_reader, trace_ids, path)
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
        if not self._refused():
            self.open_comparison(message.before, message.after)

    @work(thread=True, group="compare")
    def open_comparison(self, before: str, after: str) -> None:
        from lumos_studio.ui.screens.compare import CompareScreen

        reader = self.trace_reader
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
