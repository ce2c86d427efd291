"""WAL checkpoints on a thread of their own, so the writer never waits on an fsync.

SQLite's automatic checkpoint runs inside the commit that crosses the threshold: it copies the
WAL into the database file and fsyncs it while the writer, and every receiver waiting for that
commit, waits. On bulk ingest that was a third of the writer's wall time (``bench/ingest.py``).
Here the writer's connection checkpoints never; it pokes this thread after each commit, which
runs a PASSIVE checkpoint (one that never blocks the writer or readers) on its own connection.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# At most this often: each checkpoint ends with an fsync, worth batching under a trickle of
# small live commits. Bulk ingest keeps the thread busy back to back anyway.
MIN_INTERVAL = 0.2
# The WAL file is cut back to this size after the log restarts (it otherwise stays at its peak).
WAL_SIZE_LIMIT = 64 * 1024 * 1024


class Checkpointer:
    """Copies committed WAL frames into the database file in the background."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA busy_timeout=5000")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.checkpoints = 0
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
        self._connection.close()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.checkpoints += 1
            except sqlite3.Error as exc:  # busy or closing: the next poke tries again
                log.debug("checkpoint skipped: %s", exc)
            if self._stop.wait(MIN_INTERVAL):  # let frames gather; a close ends it at once
                return
