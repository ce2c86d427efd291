"""The studio's watch on the store beside its panes: the header names a store that cannot take
writes and the ``--forward`` targets' state, and a read-only studio, which has no writer to hear
commits from, notices what other processes commit.

A mixin of ``StudioApp`` (``app.py`` keeps the wiring and sets the checks' intervals).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.worker import Worker

from lumos_studio.display import VALUE_LIMIT, safe_str
from lumos_studio.store import Store
from lumos_studio.store.storage_error import StorageProblem
from lumos_studio.ui.messages import TracesChanged
from lumos_studio.ui.read_only import CommitWatch, ReadOnlyStore
from lumos_studio.ui.widgets.logs_pane import LogsPane

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from lumos_studio.forward import Forwarder

    _AppBase = App[None]  # what the mixin relies on, checked against Textual's own types
else:
    _AppBase = object


class StoreStatus(_AppBase):
    """The header's store and forwarding notes, and others' commits, for ``StudioApp``."""

    # Provided by StudioApp.
    store: Store | ReadOnlyStore
    forwarder: Forwarder | None
    trace_id: str | None
    _forward_shown: str
    _dropped_told: int
    _plain_sub_title: str
    _storage_shown: StorageProblem | None
    _span_commits: int
    _logs_written: int
    _watching: Worker[None] | None
    _store_watch: CommitWatch | None

    if TYPE_CHECKING:
        @property
        def main(self) -> Screen[None]: ...
        def _screens_gone(self) -> bool: ...

    def _show_storage_problem(self) -> None:
        """Name a full disk or a read-only store in the header (and once in a notification):
        until it is fixed, nothing the studio receives or runs is stored."""
        problem = self.store.writer.storage_error
        if problem == self._storage_shown:
            return
        self._storage_shown = problem
        self._update_sub_title()
        if problem is not None:
            self.notify(problem.message, title="Store", severity="error", timeout=15, markup=False)

    def _ask_store_watch(self) -> None:
        """Once a second; never a second check while one still waits for its answer."""
        if self._watching is None or self._watching.is_finished:
            self._watching = self._watch_store()

    @work(thread=True, group="store-watch")
    def _watch_store(self) -> None:
        """Read-only: asked off the UI thread (on PostgreSQL the check is a query, and a server
        that went away holds a new connection up to its timeout)."""
        assert self._store_watch is not None
        if self._store_watch.changed():
            self.call_from_thread(self._show_others_commit)

    def _show_others_commit(self) -> None:
        """Read-only: what other processes committed shows as a writer's commit would."""
        if not self._screens_gone():
            self._span_commits += 1
            self._logs_written += 1
            self.main.query_one(LogsPane).refresh_logs()
            shown = frozenset({self.trace_id}) if self.trace_id else frozenset()
            self.post_message(TracesChanged(shown))

    def _show_forwarding(self) -> None:
        """Where --forward sends, in the header; a target that fails or drops says so there,
        and once in a notification when records are dropped."""
        if self.forwarder is None:
            return
        statuses = self.forwarder.statuses()
        shown = " ".join(status.brief() for status in statuses)
        if shown != self._forward_shown:
            self._forward_shown = shown
            self._update_sub_title()
        dropped = sum(status.dropped_records for status in statuses)
        if dropped > self._dropped_told:
            self._dropped_told = dropped
            self.notify(f"{dropped:,} records were not forwarded: a --forward target's queue is "
                        "full (raise --forward-queue-mb)", title="Forwarding",
                        severity="warning", timeout=10)

    def _update_sub_title(self) -> None:
        problem = self._storage_shown
        warning = f" · ⚠ {problem.short}, nothing is stored" if problem is not None else ""
        forwarding = f" · {self._forward_shown}" if self._forward_shown else ""
        self.sub_title = self._plain_sub_title + safe_str(forwarding, VALUE_LIMIT) + warning

