"""A new store is made from the schema snapshot, and is the store the migrations make."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lumos_studio.store import Store, schema_current
from lumos_studio.store.schema import SCHEMA_VERSION, ensure_schema, migrate
from lumos_studio.store.schema_migrations import MIGRATIONS
from tests.builders import weather_trace
from tests.scripts import SCRIPTS, load_script

ROOT = SCRIPTS.parent


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _everything(connection: sqlite3.Connection) -> tuple[object, ...]:
    """What tells two stores' schemas apart: every object SQLite keeps (the full-text shadow
    tables too), the kinds of the tables, the rows of every table one can read, the version."""
    objects = sorted(connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
    kinds = sorted((name, kind) for _, name, kind, *_ in connection.execute("PRAGMA table_list")
                   if not name.startswith("sqlite_"))
    rows = {name: sorted(connection.execute(f'SELECT * FROM "{name}"'))
            for name, kind in kinds if kind in ("table", "shadow")}
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    return objects, kinds, rows, version


def test_the_committed_snapshot_is_what_the_migrations_make_today() -> None:
    committed = (ROOT / "lumos_studio" / "store" / "schema_current.py").read_text("utf-8")
    assert committed == load_script("gen_schema_snapshot").render(), (
        "lumos_studio/store/schema_current.py is stale: run "
        ".venv/bin/python scripts/gen_schema_snapshot.py")
    assert schema_current.SNAPSHOT_VERSION == SCHEMA_VERSION
    checked = subprocess.run([sys.executable, str(SCRIPTS / "gen_schema_snapshot.py"), "--check"],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert checked.returncode == 0, checked.stderr


def test_a_new_store_from_the_snapshot_is_the_migrated_one(tmp_path: Path) -> None:
    migrated = _connect(tmp_path / "migrated.db")
    migrate(migrated, 0)
    fresh = _connect(tmp_path / "fresh.db")
    ensure_schema(fresh)
    assert _everything(fresh) == _everything(migrated)
    assert fresh.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_new_store_does_not_run_the_migrations(tmp_path: Path) -> None:
    """sqlite-utils (the migrations' library) stays unloaded: the point of the snapshot."""
    sys.modules.pop("sqlite_utils", None)
    for name in [n for n in sys.modules if n.startswith("sqlite_utils.")]:
        sys.modules.pop(name)
    ensure_schema(_connect(tmp_path / "fresh.db"))
    assert "sqlite_utils" not in sys.modules


def test_an_older_store_is_still_migrated_step_by_step(tmp_path: Path) -> None:
    import sqlite_utils

    path = tmp_path / "old.db"
    old = _connect(path)
    MIGRATIONS[0](sqlite_utils.Database(old))  # what the first studio wrote
    old.execute("PRAGMA user_version = 1")
    old.close()
    store = Store(path)
    store.writer.submit_many(weather_trace())
    store.writer.flush()
    assert len(store.reader.list_traces()) == 1
    store.close()
    reference = _connect(tmp_path / "reference.db")
    migrate(reference, 0)
    assert _everything(_connect(path))[:2] == _everything(reference)[:2]


def test_a_snapshot_of_another_version_is_not_used(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration added without the snapshot written again: new stores still get every
    migration (the first test above fails meanwhile, saying what to run)."""
    from lumos_studio.store import schema_snapshot

    monkeypatch.setattr(schema_snapshot, "SNAPSHOT_VERSION", SCHEMA_VERSION - 1)
    monkeypatch.setattr(schema_snapshot, "STATEMENTS", ("CREATE TABLE wrong (x)",))
    connection = _connect(tmp_path / "new.db")
    ensure_schema(connection)
    names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "wrong" not in names and {"spans", "traces", "logs"} <= names
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_another_process_made_meanwhile_is_checked_again_not_made_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two processes opening one new file: the second saw it empty, then waited for the first's
    transaction; it finds the store made and current, instead of failing on a table that
    exists."""
    from lumos_studio.store import schema

    path = tmp_path / "new.db"
    first, second = _connect(path), _connect(path)
    looked: list[int] = []
    create = schema.create_current

    def made_by_the_first_meanwhile(connection: sqlite3.Connection, version: int
                                    ) -> bool | None:
        looked.append(version)
        if connection is second and len(looked) == 1:
            ensure_schema(first)  # the other process, between the look and the transaction
        return create(connection, version)

    monkeypatch.setattr(schema, "create_current", made_by_the_first_meanwhile)
    ensure_schema(second)
    assert second.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    reference = _connect(tmp_path / "reference.db")
    migrate(reference, 0)
    assert _everything(second) == _everything(reference)
