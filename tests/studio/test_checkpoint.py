"""The checkpointer: it waits for commits to pause, but never lets the WAL grow without bound."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lumos_studio.store import checkpoint as checkpoint_module
from lumos_studio.store.checkpoint import Checkpointer

CHUNK = b"x" * 100_000


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A WAL connection that, like the store's writer, never checkpoints itself."""
    connection = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    Checkpointer.take_over(connection)
    # Here the forcing size is smaller than the store's WAL_SIZE_LIMIT: a restarted log cuts
    # the file right back, so its size keeps telling how far the log has grown.
    connection.execute("PRAGMA journal_size_limit=0")
    connection.execute("CREATE TABLE chunks (data BLOB)")
    yield connection
    connection.close()


def commit_and_poke(writer: sqlite3.Connection, checkpointer: Checkpointer) -> None:
    """What the store's writer does after each commit."""
    writer.execute("INSERT INTO chunks VALUES (?)", (CHUNK,))
    checkpointer.restart_if_due(writer)
    checkpointer.poke()


def biggest_wal_under_load(
    writer: sqlite3.Connection, checkpointer: Checkpointer, wal: Path
) -> int:
    """10 MB of commits that never pause for a minute; the WAL's largest size meanwhile."""
    biggest = 0
    for _ in range(100):
        commit_and_poke(writer, checkpointer)
        biggest = max(biggest, wal.stat().st_size)
        time.sleep(0.01)
    return biggest


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


def test_a_wal_past_the_limit_is_checkpointed_under_load_and_the_log_restarts(
    writer: sqlite3.Connection, tmp_path: Path
) -> None:
    checkpointer = Checkpointer(tmp_path / "s.db", quiet=60, wal_checkpoint_size=300_000)
    try:
        biggest = biggest_wal_under_load(writer, checkpointer, tmp_path / "s.db-wal")
        assert checkpointer.checkpoints >= 2  # the commits never paused for ``quiet``
        assert biggest < 30 * len(CHUNK)  # not the 10 MB an unbounded WAL would reach
    finally:
        checkpointer.close()
    assert writer.execute("SELECT count(*) FROM chunks").fetchone()[0] == 100


def test_a_reader_on_an_old_snapshot_holds_commits_back_once_per_limit(
    writer: sqlite3.Connection, tmp_path: Path
) -> None:
    checkpointer = Checkpointer(tmp_path / "s.db", quiet=60, wal_checkpoint_size=1_000_000)
    reader = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    try:
        commit_and_poke(writer, checkpointer)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM chunks").fetchone()  # pins this snapshot
        deadline = time.monotonic() + 10
        while checkpointer.forced == 0:  # past the limit: a restart is tried, and fails
            assert time.monotonic() < deadline, "no restart tried past the limit"
            commit_and_poke(writer, checkpointer)
            time.sleep(0.01)
        for _ in range(5):  # half a limit more: no second try, which would hold commits back
            commit_and_poke(writer, checkpointer)
            time.sleep(0.01)
        assert (checkpointer.forced, checkpointer.restarts) == (1, 0)
    finally:
        reader.close()
        checkpointer.close()


def test_closing_while_a_restart_is_due_runs_the_last_pass_and_stops(
    writer: sqlite3.Connection, tmp_path: Path
) -> None:
    """The writer's last commit came before the log grew past its limit: no restart follows,
    and ``close`` must not wait for one."""
    checkpointer = Checkpointer(tmp_path / "s.db", quiet=60, wal_checkpoint_size=300_000)
    try:
        deadline = time.monotonic() + 10
        while not checkpointer.restart_due:  # commits, and no restart between them
            assert time.monotonic() < deadline, "the log never grew past its limit"
            writer.execute("INSERT INTO chunks VALUES (?)", (CHUNK,))
            checkpointer.poke()
            time.sleep(0.01)
        passes = checkpointer.checkpoints
    finally:
        checkpointer.close()
    assert checkpointer.checkpoints == passes + 1  # the last pass, at close
    assert checkpointer.restart_due  # left for the next writer to do, as before


def test_commits_during_a_pass_do_not_keep_the_log_from_restarting(
    writer: sqlite3.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under load, commits land while a pass copies: the pass reports all it saw copied, yet the
    # log is never fully copied when the writer next begins, so it cannot restart by itself.
    checkpoint = checkpoint_module._checkpoint

    def pass_with_a_commit_meanwhile(connection: sqlite3.Connection, mode: str) -> bool:
        copied = checkpoint(connection, mode)
        if mode == "PASSIVE":
            other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
            other.execute("INSERT INTO chunks VALUES (?)", (CHUNK,))
            other.close()
        return copied

    monkeypatch.setattr(checkpoint_module, "_checkpoint", pass_with_a_commit_meanwhile)
    checkpointer = Checkpointer(tmp_path / "s.db", quiet=60, wal_checkpoint_size=300_000)
    try:
        biggest = biggest_wal_under_load(writer, checkpointer, tmp_path / "s.db-wal")
        assert checkpointer.restarts >= 1
        assert biggest < 30 * len(CHUNK)  # not the 10 MB an unbounded WAL would reach
    finally:
        checkpointer.close()
