"""A trace's status says how its run ended: a suspended workflow is SUSPENDED, and spans a studio
that died left running are ended ERROR 'interrupted' when the store is opened again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from lumos_core.telemetry.semconv import LUMOS_STUDIO_PID
from lumos_studio.cli import cli
from lumos_studio.ingest.otlp_http import OtlpReceiver
from lumos_studio.records import SpanRecord
from lumos_studio.sessions.interrupted import INTERRUPTED
from lumos_studio.sessions.worker import WorkerSession
from lumos_studio.store import Store, TraceQuery
from tests.studio.test_worker_session import wait_until
from tests.studio.test_worker_streams_and_workflows import DEFINITIONS


def test_a_suspended_workflow_is_listed_as_suspended(tmp_path: Path) -> None:
    path = tmp_path / "defs.py"
    path.write_text(DEFINITIONS)
    db = tmp_path / "studio.db"
    store = Store(db)
    receiver = OtlpReceiver(store.writer, port=0).start()
    session = WorkerSession(path, receiver.endpoint, watch=False,
                            workflow_store=tmp_path / "wf.db", record=store.writer.submit)
    try:
        session.start()
        wait_until(lambda: session.agents)
        waiting = session.run_workflow("shop", {"item": "tea", "count": 5})
        done = session.run_workflow("shop", {"item": "tea", "count": 1})
        assert (waiting.status, done.status) == ("suspended", "success")

        def stored() -> bool:
            store.writer.flush()
            ids = {t.trace_id for t in store.reader.list_traces() if not t.running}
            return {waiting.trace_id, done.trace_id} <= ids

        wait_until(stored)
        listed = {t.trace_id: t.status for t in store.reader.list_traces()}
        assert listed[waiting.trace_id] == "SUSPENDED" and listed[done.trace_id] == "OK"
        page = {t.trace_id: t.status for t in store.reader.find_traces(TraceQuery()).summaries}
        assert page[waiting.trace_id] == "SUSPENDED"
    finally:
        session.stop()
        receiver.stop()
        store.close()

    traces = CliRunner().invoke(cli, ["--db", str(db), "traces"], catch_exceptions=False)
    row = next(line for line in traces.stdout.splitlines() if waiting.trace_id[:20] in line)
    assert "SUSPENDED" in row
    shown = CliRunner().invoke(cli, ["--db", str(db), "show", waiting.trace_id])
    assert "SUSPENDED  waiting at: confirm" in shown.stdout
    shown = CliRunner().invoke(cli, ["--db", str(db), "show", done.trace_id])
    assert "SUSPENDED" not in shown.stdout


def running(trace: str, pid: int | None) -> SpanRecord:
    resource = {"service.name": "agents"}
    if pid is not None:
        resource[LUMOS_STUDIO_PID] = str(pid)
    return SpanRecord(trace_id=trace * 32, span_id=trace * 16, parent_span_id=None,
                      name=f"invoke_agent {trace}", start_ns=time.time_ns(), end_ns=None,
                      resource=resource)


def test_spans_a_dead_studio_left_running_end_as_interrupted(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a studio that is no more
    db = tmp_path / "studio.db"
    with Store(db) as store:
        store.writer.submit_many([
            running("a", gone.pid),  # ours, its studio gone
            running("b", None),  # another program's: may still be running
            running("c", os.getpid()),  # a studio that is alive
        ])
        store.writer.flush()

    listed = CliRunner().invoke(cli, ["--db", str(db), "traces"], catch_exceptions=False)
    assert listed.exit_code == 0
    with Store(db) as store:
        spans = {s.name: s for t in "abc" for s in store.reader.trace_spans(t * 32)}
        statuses = {t.root_name: t.status for t in store.reader.list_traces()}
    closed = spans["invoke_agent a"]
    assert (closed.status_code, closed.status_message) == ("ERROR", INTERRUPTED)
    assert closed.end_ns is not None
    assert spans["invoke_agent b"].running and spans["invoke_agent c"].running
    assert statuses == {"invoke_agent a": "ERROR", "invoke_agent b": "RUNNING",
                        "invoke_agent c": "RUNNING"}
    assert "ERROR" in listed.stdout
