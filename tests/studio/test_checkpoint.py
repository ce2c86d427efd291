"""The checkpointer: it waits for commits to pause, but never lets the WAL grow without bound."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lumos_studio.store.checkpoint import Checkpointer

CHUNK = b"x" * 100_000


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A WAL connection that, like the store's writer, never checkpoints itself."""
    connection = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    Checkpointer.take_over(connection)
    connection.execute("CREATE TABLE chunks (data BLOB)")
    yield connection
    connection.close()


def commit_and_poke(writer: sqlite3.Connection, checkpointer: Checkpointer) -> None:
    writer.execute("INSERT INTO chunks VALUES (?)", (CHUNK,))
    checkpointer.poke()


def test_checkpoints_wait_until_commits_pause(writer: sqlite3.Connection, tmp_path: Path) -> None:
    checkpointer = Checkpointer(tmp_path / "s.db", quiet=1.0)
    try:
        for _ in range(30):  # a burst: a commit every 20 ms, well inside the quiet time
            commit_and_poke(writer, checkpointer)
            time.sleep(0.02)
        assert checkpointer.checkpoints == 0

        deadline = time.monotonic() + 10
        while checkpointer.checkpoints == 0:
            assert time.monotonic() < deadline, "no checkpoint once the commits paused"
            time.sleep(0.05)
        assert checkpointer.restarts == 0
    finally:
        checkpointer.close()


def test_a_wal_past_the_limit_is_checkpointed_and_restarted_under_load(
    writer: sqlite3.Connection, tmp_path: Path
) -> None:
    checkpointer = Checkpointer(tmp_path / "s.db", quiet=60, wal_checkpoint_size=300_000)
    wal = tmp_path / "s.db-wal"
    try:
        deadline = time.monotonic() + 10
        while checkpointer.restarts == 0:  # commits that never pause
            assert time.monotonic() < deadline, "the WAL was never restarted"
            commit_and_poke(writer, checkpointer)
            time.sleep(0.01)
        for _ in range(100):  # 10 MB more: each restarted log reuses the start of the file
            commit_and_poke(writer, checkpointer)
            time.sleep(0.01)
        assert checkpointer.restarts > 1
        assert wal.stat().st_size < 30 * len(CHUNK)
    finally:
        checkpointer.close()
    assert writer.execute("SELECT count(*) FROM chunks").fetchone()[0] > 100
