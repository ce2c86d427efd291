"""Workflow run snapshots in SQLite: what a suspended run needs to resume, in another process too.

One row per run, rewritten when a run (or a resumed segment) ends. Plain SQL on the connection
``lumos_core._sqlite`` opens (as for ``lumos_core.memory.store``): WAL and a busy timeout, so a
studio worker and a script can share the file.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson
from pydantic import BaseModel

from lumos_core._sqlite import SQLiteStore
from lumos_core.workflows.result import WorkflowError

DEFAULT_PATH: Final = Path(".lumos") / "workflows.db"
SCHEMA_VERSION: Final = 2  # 2: ``progress`` (loops under way)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS workflow_runs (
    run_id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    outputs TEXT NOT NULL,
    suspended TEXT NOT NULL,
    decisions TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    trace_id TEXT,
    span_id TEXT,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS workflow_runs_by_workflow ON workflow_runs (workflow, updated_ns);
"""
_JSON_COLUMNS: Final = ("input", "outputs", "suspended", "decisions", "progress")


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """A run's persisted state. ``status`` is ``running`` while a resume is under way.

    ``outputs``: completed steps' outputs by name; ``suspended``: step name -> payload;
    ``decisions``: branch name -> the name of the step it chose (``None``: no case held), so a
    resumed run follows the path it took before; ``progress``: loop name -> where it is (a run
    suspended inside a loop). ``trace_id``/``span_id`` are the last segment's
    ``invoke_workflow`` span, which a resumed segment links to.
    """

    run_id: str
    workflow: str
    status: str
    input: Any
    outputs: Mapping[str, Any]
    suspended: Mapping[str, Any]
    decisions: Mapping[str, str | None]
    error: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    created_ns: int = 0
    updated_ns: int = 0
    progress: Mapping[str, Any] = field(default_factory=dict)


class SnapshotStore(SQLiteStore):
    """Workflow runs in one SQLite file (default ``.lumos/workflows.db``) or ``":memory:"``."""

    default_path = DEFAULT_PATH
    schema = _SCHEMA
    schema_version = SCHEMA_VERSION
    error_type = WorkflowError
    purpose = "a workflow snapshot store"

    def __repr__(self) -> str:
        return f"SnapshotStore({self.path!r})"

    def _connection(self) -> sqlite3.Connection:
        fresh = self._conn is None
        conn = super()._connection()
        if fresh:  # a file of schema 1 gains the loops' column
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(workflow_runs)")}
            if "progress" not in columns:
                conn.execute(
                    "ALTER TABLE workflow_runs ADD COLUMN progress TEXT NOT NULL DEFAULT '{}'"
                )
        return conn

    def save(self, snapshot: RunSnapshot, *, strict: bool = True) -> None:
        """Insert or replace the run's row (keeping its creation time).

        ``strict``: fail on outputs that are not JSON data or pydantic models (a suspended run
        needs them back); otherwise they are stored as their ``str``.
        """
        encoded = {column: _dumps(getattr(snapshot, column), column, strict) for column in
                   _JSON_COLUMNS}
        now = time.time_ns()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO workflow_runs (run_id, workflow, status, input, outputs, suspended,"
                " decisions, progress, error, trace_id, span_id, created_ns, updated_ns)"
                " VALUES (:run_id, :workflow, :status, :input, :outputs, :suspended, :decisions,"
                " :progress, :error, :trace_id, :span_id, :now, :now)"
                " ON CONFLICT (run_id) DO UPDATE SET workflow = excluded.workflow,"
                " status = excluded.status, input = excluded.input, outputs = excluded.outputs,"
                " suspended = excluded.suspended, decisions = excluded.decisions,"
                " progress = excluded.progress,"
                " error = excluded.error, trace_id = excluded.trace_id,"
                " span_id = excluded.span_id, updated_ns = excluded.updated_ns",
                {
                    "run_id": snapshot.run_id, "workflow": snapshot.workflow,
                    "status": snapshot.status, "error": snapshot.error,
                    "trace_id": snapshot.trace_id, "span_id": snapshot.span_id,
                    **encoded, "now": now,
                },
            )

    def load(self, run_id: str) -> RunSnapshot | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM workflow_runs WHERE run_id = ?", (run_id,)).fetchone()
        return _snapshot(row) if row else None

    def runs(self, workflow: str | None = None, status: str | None = None) -> list[RunSnapshot]:
        """Runs, most recently updated first (of one workflow and/or status, or all)."""
        clauses, args = [], []
        if workflow is not None:
            clauses.append("workflow = ?")
            args.append(workflow)
        if status is not None:
            clauses.append("status = ?")
            args.append(status)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT * FROM workflow_runs{where} ORDER BY updated_ns DESC, run_id", args
            ).fetchall()
        return [_snapshot(r) for r in rows]

    def claim(self, run_id: str) -> bool:
        """Mark a suspended run ``running``; false if it is not suspended (any more), so two
        resumes of one run cannot both proceed."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE workflow_runs SET status = 'running', updated_ns = ?"
                " WHERE run_id = ? AND status = 'suspended'",
                (time.time_ns(), run_id),
            )
        return cursor.rowcount == 1


def to_json(value: Any, *, strict: bool = False) -> str:
    """``value`` as JSON; pydantic models are dumped, anything else unknown becomes its ``str``
    unless ``strict`` (then ``TypeError``)."""

    def default(obj: Any) -> Any:
        if isinstance(obj, BaseModel):
            return obj.model_dump(mode="json")
        if isinstance(obj, set | frozenset):
            return sorted(obj, key=repr)
        if strict:
            raise TypeError(f"{type(obj).__name__} is not JSON data")
        return str(obj)

    return orjson.dumps(value, default=default, option=orjson.OPT_NON_STR_KEYS).decode()


def _dumps(value: Any, column: str, strict: bool) -> str:
    try:
        return to_json(value, strict=strict)
    except TypeError as exc:
        culprit = ""
        if isinstance(value, Mapping):
            for key, item in value.items():
                try:
                    to_json(item, strict=True)
                except TypeError:
                    culprit = f" (step {key!r})"
                    break
        raise WorkflowError(
            f"cannot save the run's {column}{culprit}: {exc}; a run that suspends must keep its "
            "data as JSON values or pydantic models"
        ) from exc


def _snapshot(row: sqlite3.Row) -> RunSnapshot:
    return RunSnapshot(
        run_id=row["run_id"],
        workflow=row["workflow"],
        status=row["status"],
        input=orjson.loads(row["input"]),
        outputs=orjson.loads(row["outputs"]),
        suspended=orjson.loads(row["suspended"]),
        decisions=orjson.loads(row["decisions"]),
        progress=orjson.loads(row["progress"]),
        error=row["error"],
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        created_ns=row["created_ns"],
        updated_ns=row["updated_ns"],
    )
