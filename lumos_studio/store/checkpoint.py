"""WAL checkpoints on a thread of their own, once commits pause, so ingest never waits on one.

SQLite's automatic checkpoint runs inside the commit that crosses the threshold: it copies the
WAL into the database file and fsyncs it while the writer, and every receiver waiting for that
commit, waits. Here the writer's connection checkpoints never; it pokes this thread after each
commit, and the thread checkpoints (PASSIVE: it blocks nobody) once no commit came for
``QUIET_BEFORE_CHECKPOINT``.

Why wait for a pause: a checkpoint fsyncs the WAL and the database, so during a burst the disk
and the kernel's write-back would compete with ingest for the two CPUs; and every commit
rewrites the pages random ids land on (the span and trace indexes), so one checkpoint after the
burst copies each such page once instead of once per commit. Commits that never pause may not
grow the WAL without bound: past ``WAL_CHECKPOINT_SIZE`` the thread checkpoints anyway, then
has the writer restart the log between two of its transactions (``restart_if_due``).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

# How long commits pause before a checkpoint: receivers' batches arrive closer together than
# this during a burst, and an agent's spans end closer together during a run.
QUIET_BEFORE_CHECKPOINT = 0.2
# A WAL this large is checkpointed and restarted even while commits keep coming: ~150,000 GenAI
# spans at full speed; SQLite's own default is 1,000 pages (here 64 MiB), PostgreSQL's 1 GB.
# Larger than ``WAL_SIZE_LIMIT``: the file's size then tells how far the log has grown.
WAL_CHECKPOINT_SIZE = 1024 * 1024 * 1024
# The WAL file is cut back to this size after the log restarts (it otherwise stays at its peak).
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# Before the writer restarts an oversized log, passes copy what was committed during the last
# one, until one is this short (seconds) or after this many.
SHORT_PASS = 0.1
CATCH_UP_PASSES = 3
# How long a restart waits for the writer's transaction and for readers (new commits wait too).
RESTART_WAIT_MS = 1_000


class Checkpointer:
    """Copies committed WAL frames into the database file in the background."""

    def __init__(
        self,
        path: Path,
        quiet: float = QUIET_BEFORE_CHECKPOINT,
        wal_checkpoint_size: int = WAL_CHECKPOINT_SIZE,
    ) -> None:
        self.quiet = quiet
        self.wal_checkpoint_size = wal_checkpoint_size
        self._wal = Path(f"{path}-wal")
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._restart_at = wal_checkpoint_size  # WAL size that forces the next restart
        self._restart_due = False  # set here, acted on by the writer (``restart_if_due``)
        self.checkpoints = 0  # passes run
        self.forced = 0  # restarts tried because the WAL grew past ``_restart_at``
        self.restarts = 0  # of those, the ones that restarted the log
        self._thread = threading.Thread(target=self._run, name="lumos-store-checkpoint",
                                        daemon=True)
        self._thread.start()

    @staticmethod
    def take_over(writer_connection: sqlite3.Connection) -> None:
        """Stop ``writer_connection`` from checkpointing inside its commits."""
        writer_connection.execute("PRAGMA wal_autocheckpoint=0")
        writer_connection.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")

    def poke(self) -> None:
        """New frames were committed: checkpoint soon."""
        self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Run a last checkpoint and stop."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        if not self._thread.is_alive():  # never closed under a checkpoint still running
            self._connection.close()

    def restart_if_due(self, writer_connection: sqlite3.Connection) -> None:
        """Restart the log if this thread found it oversized: the writer calls this between
        two of its transactions, on its own connection.

        From this thread's connection a restart lost the race for the write lock to a writer
        whose transactions follow each other closely, and gave up. The pass this thread ran
        first copied all but the frames committed since, which the restart copies while the
        writer waits. If a reader holds an old snapshot, the restart waits at most
        ``RESTART_WAIT_MS`` for it, and is not tried again until the WAL has grown by another
        ``wal_checkpoint_size``.
        """
        if not self._restart_due:
            return
        self._restart_due = False
        self.forced += 1
        writer_timeout = writer_connection.execute("PRAGMA busy_timeout").fetchone()[0]
        writer_connection.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
        try:
            restarted = _checkpoint(writer_connection, "RESTART")
        finally:
            writer_connection.execute(f"PRAGMA busy_timeout={writer_timeout}")
        if restarted:
            self.restarts += 1
            self._restart_at = self.wal_checkpoint_size
        else:
            self._restart_at = self._wal_size() + self.wal_checkpoint_size

    @property
    def restart_due(self) -> bool:
        """The log has grown past its limit and waits for the writer's restart
        (``restart_if_due``)."""
        return self._restart_due

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            # The writer's restart would find this pass in its way; once closing, no restart
            # comes, and the last pass runs (skipped, it left ``close`` waiting its timeout).
            if self._restart_due and not self._stop.is_set():
                continue
            oversized = self._wait_for_quiet()
            copied = self._passive()
            if oversized:
                # Even when the pass copied all it saw: commits that came during it (a pass over
                # a GiB takes seconds) keep the log from restarting by itself, and it grew to
                # 3 GiB so. Short passes first copy most of those, so the writer's restart
                # copies few while it holds ingest back.
                for _ in range(CATCH_UP_PASSES):
                    began = time.monotonic()
                    self._passive()
                    if time.monotonic() - began < SHORT_PASS:
                        break
                self._restart_due = True
            elif copied:  # the writer restarts the log itself; a reader that held it is gone
                self._restart_at = self.wal_checkpoint_size
            if self._stop.is_set():
                return

    def _passive(self) -> bool:
        self.checkpoints += 1
        return _checkpoint(self._connection, "PASSIVE")

    def _wait_for_quiet(self) -> bool:
        """Until no commit came for ``quiet`` seconds, or closing; True if the WAL grew past
        the size that forces a restart first."""
        while not self._stop.is_set():
            if self._wal_size() >= self._restart_at:
                return True
            if not self._wake.wait(self.quiet):
                return False
            self._wake.clear()
        return False

    def _wal_size(self) -> int:
        try:
            return os.stat(self._wal).st_size
        except OSError:
            return 0


def _checkpoint(connection: sqlite3.Connection, mode: str) -> bool:
    """Whether the checkpoint copied every frame it saw (RESTART: and restarted the log)."""
    try:
        busy, frames, copied = connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    except sqlite3.Error as exc:  # closing, or busy past the timeout: poked again later
        log.debug("%s checkpoint skipped: %s", mode, exc)
        return False
    return not busy and copied >= frames
