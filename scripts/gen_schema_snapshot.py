"""Write lumos_studio/store/schema_current.py: the statements that make a new store at the
current schema in one transaction (``store.schema_snapshot``), taken from a store the
migrations made.

Run from the repository root after adding a migration (a test fails while the file is stale)::

    .venv/bin/python scripts/gen_schema_snapshot.py          # rewrites the file
    .venv/bin/python scripts/gen_schema_snapshot.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

from generated_file import write_or_check

OUTPUT = Path(__file__).resolve().parents[1] / "lumos_studio" / "store" / "schema_current.py"

HEADER = '''\
"""The statements that make a new store at schema ``SNAPSHOT_VERSION`` (``schema_snapshot``).

Written by scripts/gen_schema_snapshot.py from a store the migrations made: do not edit.
"""

'''


def migrated_statements() -> tuple[int, tuple[str, ...]]:
    """A store made by the migrations, one by one, and the statements that make it again."""
    from lumos_studio.store.schema import SCHEMA_VERSION, migrate
    from lumos_studio.store.schema_snapshot import snapshot_statements

    with tempfile.TemporaryDirectory(prefix="lumos-schema-") as tmp:
        connection = sqlite3.connect(Path(tmp) / "migrated.db", isolation_level=None)
        try:
            migrate(connection, 0)
            return SCHEMA_VERSION, snapshot_statements(connection)
        finally:
            connection.close()


def render() -> str:
    version, statements = migrated_statements()
    lines = [HEADER, f"SNAPSHOT_VERSION = {version}\n\n", "STATEMENTS: tuple[str, ...] = (\n"]
    lines.extend(f"    {statement!r},\n" for statement in statements)
    lines.append(")\n")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    return write_or_check(OUTPUT, render, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
