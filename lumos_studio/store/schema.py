"""The SQLite schema, created and migrated with sqlite-utils, versioned by ``PRAGMA user_version``.

Hot columns (ids, times, status, the GenAI fields panes filter on) are real columns; everything else
about a span stays in one JSON text column per kind of data, written once and parsed only when a
span is opened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlite_utils

SCHEMA_VERSION = 2

SPAN_COLUMNS: tuple[str, ...] = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "status_code",
    "status_message",
    "operation",
    "agent_name",
    "model",
    "tool_name",
    "input_tokens",
    "output_tokens",
    "service_name",
    "scope_name",
    "scope_version",
    "attributes",
    "events",
    "resource",
)


def _create_v1(db: sqlite_utils.Database) -> None:
    db["spans"].create(
        {
            "trace_id": str,
            "span_id": str,
            "parent_span_id": str,
            "name": str,
            "kind": str,
            "start_ns": int,
            "end_ns": int,
            "status_code": str,
            "status_message": str,
            "operation": str,
            "agent_name": str,
            "model": str,
            "tool_name": str,
            "input_tokens": int,
            "output_tokens": int,
            "service_name": str,
            "scope_name": str,
            "scope_version": str,
            "attributes": str,
            "events": str,
            "resource": str,
        },
        pk=("trace_id", "span_id"),
        not_null={"trace_id", "span_id", "name", "start_ns"},
    )
    db["traces"].create(
        {
            "trace_id": str,
            "root_name": str,
            "agent_name": str,
            "service_name": str,
            "start_ns": int,
            "end_ns": int,
            "span_count": int,
            "error_count": int,
            "running_count": int,
            "input_tokens": int,
            "output_tokens": int,
        },
        pk="trace_id",
    )
    db["traces"].create_index(["start_ns"], index_name="traces_by_start")


LOG_COLUMNS: tuple[str, ...] = (
    "fingerprint",
    "time_ns",
    "observed_time_ns",
    "severity_number",
    "severity_text",
    "body",
    "trace_id",
    "span_id",
    "event_name",
    "scope_name",
    "service_name",
    "attributes",
    "resource",
)


def _create_v2(db: sqlite_utils.Database) -> None:
    """Log records, tied to spans; ``fingerprint`` makes re-imports idempotent."""
    db["logs"].create(
        {
            "id": int,
            "fingerprint": int,
            "time_ns": int,
            "observed_time_ns": int,
            "severity_number": int,
            "severity_text": str,
            "body": str,
            "trace_id": str,
            "span_id": str,
            "event_name": str,
            "scope_name": str,
            "service_name": str,
            "attributes": str,
            "resource": str,
        },
        pk="id",
        not_null={"fingerprint", "time_ns"},
    )
    db["logs"].create_index(["fingerprint"], unique=True, index_name="logs_by_fingerprint")
    db["logs"].create_index(["time_ns"], index_name="logs_by_time")
    db["logs"].create_index(["trace_id", "span_id"], index_name="logs_by_span")


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_create_v1, _create_v2)


def ensure_schema(connection: sqlite3.Connection) -> None:
    """Bring the database up to ``SCHEMA_VERSION``; refuse one written by a newer studio."""
    db = sqlite_utils.Database(connection)
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"this store was written by a newer Lumos Studio (schema {version} > "
            f"{SCHEMA_VERSION}); upgrade lumos-studio or use another --db"
        )
    for target, migrate in enumerate(MIGRATIONS[version:], start=version + 1):
        with connection:
            migrate(db)
            connection.execute(f"PRAGMA user_version = {target}")
