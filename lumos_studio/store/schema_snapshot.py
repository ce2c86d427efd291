"""A new store made at the current schema in one transaction, from a snapshot of what the
migrations leave, instead of running them one by one.

Every migration from version 1 ran for a new store: sqlite-utils imported (~80 ms) and fifteen
transactions (~60 ms), paid by every ``replay`` (a temporary store each), a first start, and
every test that opens a store. ``schema_current.STATEMENTS`` is a migrated store's
``sqlite_master`` (and the rows the migrations insert), taken by ``snapshot_statements``;
``scripts/gen_schema_snapshot.py`` writes it again after a migration is added, and a test fails
while it differs from what the migrations make.
"""

from __future__ import annotations

import sqlite3

from lumos_studio.store.schema_current import SNAPSHOT_VERSION, STATEMENTS

__all__ = ["create_current", "snapshot_statements"]


def create_current(connection: sqlite3.Connection, version: int) -> bool | None:
    """Make the schema of ``version`` in an empty database from the snapshot, in one
    transaction: True once made; False (nothing done) when the snapshot is of another version;
    None when the database was no longer empty (another process made it meanwhile)."""
    if version != SNAPSHOT_VERSION:
        return False
    with connection:
        connection.execute("BEGIN IMMEDIATE")
        if connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            return None
        for statement in STATEMENTS:
            connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SNAPSHOT_VERSION}")
    return True


def snapshot_statements(connection: sqlite3.Connection) -> tuple[str, ...]:
    """The statements that make a store like this migrated one: its tables, indexes, triggers
    and virtual tables in the order they were made (not the tables SQLite makes for them:
    internal and full-text shadow tables), then the rows of its plain tables."""
    # Each table's kind and whether it is WITHOUT ROWID (no rowid to keep its rows' order by).
    tables = {name: (kind, without_rowid) for _schema, name, kind, _columns, without_rowid, _strict
              in connection.execute("PRAGMA table_list")}
    made = [sql for name, sql in connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")
        if tables.get(name, ("",))[0] != "shadow" and not name.startswith("sqlite_")]
    rows: list[str] = []
    for name, (kind, without_rowid) in sorted(tables.items()):
        if kind != "table" or name.startswith("sqlite_"):
            continue
        columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{name}")')]
        values = " || ', ' || ".join(f'quote("{column}")' for column in columns)
        order = "" if without_rowid else " ORDER BY rowid"
        rows.extend(f'INSERT INTO "{name}" VALUES ({literal})' for (literal,) in connection.execute(
            f'SELECT {values} FROM "{name}"{order}'))
    return (*made, *rows)
