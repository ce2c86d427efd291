"""The read-only studio (``lumos-studio --read-only``, and ``web``'s read-token visitors): a store
opened with a reader only, no agents, and every key that would write refused in one line.

Other processes (``serve``, a team's studios) write the store; the read-only studio sees their
commits by watching the store's files (``StoreWatch``), since it has no writer to hear them from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lumos_core import Message
from lumos_studio.sessions.base import PauseHandler, RunOutcome, Session, StreamListener

if TYPE_CHECKING:
    from lumos_core.worker_protocol import BreakAt
    from lumos_studio.store import StoreReader, StoreTarget, StoreWriter

READ_ONLY = "read-only"
WHY = "this studio is read-only (it only reads the store)"


class ReadOnlyStoreError(RuntimeError):
    """Something asked a read-only store for its writer: a write path the refusals missed."""


class ReadOnlyStore:
    """What the app holds instead of a ``Store``: the path and a reader, no writer thread."""

    def __init__(self, reader: StoreReader, target: StoreTarget | None = None) -> None:
        self.reader = reader
        self.path = reader.path
        self.target: StoreTarget = reader.path if target is None else target
        self._watch: CommitWatch | None = None

    @property
    def label(self) -> str:
        """The store as the header names it (a URL without its password)."""
        return str(self.target)

    def watch(self) -> CommitWatch:
        """What tells this studio that another process committed to the store (one, closed
        with the store: on PostgreSQL it holds a connection)."""
        if self._watch is None:
            if isinstance(self.target, Path):
                self._watch = StoreWatch(self.target)
            else:
                from lumos_studio.store.postgres.watch import PostgresWatch

                self._watch = PostgresWatch(self.target)
        return self._watch

    @property
    def writer(self) -> StoreWriter:
        """Never there: raising here keeps a missed write path from writing anything."""
        raise ReadOnlyStoreError(WHY)

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
        self.reader.close()

    def __enter__(self) -> ReadOnlyStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ReadOnlySession(Session):
    """No agents: nothing runs in a read-only studio."""

    source = READ_ONLY

    def run(
        self,
        agent: str,
        text: str,
        history: tuple[Message, ...],
        thread_id: str | None = None,
        on_event: StreamListener | None = None,
        resource_id: str | None = None,
        *,
        breakpoints: tuple[BreakAt, ...] = (),
        on_pause: PauseHandler | None = None,
    ) -> RunOutcome:
        return RunOutcome(error=WHY)


class CommitWatch(Protocol):
    """Asked once a second by a read-only studio: did another process commit since?"""

    def changed(self) -> bool: ...

    def close(self) -> None: ...


class StoreWatch:
    """Tells when another process committed to the store: SQLite's WAL file grows with each
    commit and the database file changes when the log is checkpointed into it. Two ``stat``
    calls, cheap enough for the UI thread once a second."""

    def __init__(self, path: Path) -> None:
        self._files = (path, path.with_name(f"{path.name}-wal"))
        self._seen = self._state()

    def _state(self) -> tuple[tuple[int, int], ...]:
        state = []
        for file in self._files:
            try:
                stat = os.stat(file)
            except OSError:
                state.append((0, 0))
            else:
                state.append((stat.st_mtime_ns, stat.st_size))
        return tuple(state)

    def changed(self) -> bool:
        """Whether anything was committed since the last call."""
        state = self._state()
        if state == self._seen:
            return False
        self._seen = state
        return True

    def close(self) -> None:
        """Nothing held: two ``stat`` calls a check."""


# The actions that would write (the store, the breakpoints or layout beside it, traces/) or run
# agents, by name, or by name and argument: why each is not there in a read-only studio.
_REFUSED: dict[str, str] = {
    "rerun": "runs nothing",
    "cancel_run": "runs nothing",
    "annotate_span": "stores no annotations",
    "annotate": "stores no annotations",
    "score_traces": "stores no scores",
    "open_experiments": "runs and scores no experiments",
    "pin": "pins nothing",
    "delete": "deletes nothing",
    "save": "saves no files",
    "add_to_dataset": "writes no dataset files",
    "breakpoints": "sets no breakpoints",
    "toggle_breakpoint": "sets no breakpoints",
    "request('breakpoint')": "sets no breakpoints",
    "request('fork')": "forks no runs and calls no tools",
    "call_tool": "calls no tools",
    "focus('chat-input')": "has no chat",
    "focus('agents')": "runs no agents",
    "toggle_pane('sessions')": "runs no agents",
}


def refusal(action_name: str, parameters: tuple[object, ...]) -> str | None:
    """One line saying why ``action_name`` is not available, or None when it only reads."""
    key = action_name
    if parameters:
        key = f"{action_name}({', '.join(repr(p) for p in parameters)})"
    reason = _REFUSED.get(key)
    return f"Not available: a read-only studio {reason}." if reason else None
