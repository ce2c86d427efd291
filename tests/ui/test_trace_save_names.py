"""Saving a run from the trace list: the agent's name comes from a span, any program's, so it
never decides where the file goes (issue 13, finding 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumos_core.telemetry import semconv as sc
from lumos_studio.app import StudioApp
from lumos_studio.otlp import read_file
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.trace_list import TraceList
from tests.builders import make_span
from tests.ui.helpers import wait_for


@pytest.mark.parametrize("agent", ["../../../escaped", "/tmp/lumos-escaped"])
async def test_a_hostile_agent_name_saves_inside_traces(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, agent: str
) -> None:
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    store.writer.submit_many([make_span("invoke_agent x", trace_id="1" * 32,
                                        attributes={sc.AGENT_NAME: agent})])
    store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        await wait_for(pilot, lambda: traces.row_count == 1)
        traces.focus()
        await pilot.press("s")
        await wait_for(pilot, lambda: list((work / "traces").glob("*.jsonl")))
    (saved,) = (work / "traces").glob("*.jsonl")
    assert saved.name.startswith(("escaped-", "tmp-lumos-escaped-"))
    records, problems = read_file(saved)
    assert problems == [] and [r.trace_id for r in records] == ["1" * 32]
    written = {p for p in tmp_path.rglob("*") if p.is_file()} - {saved}
    assert all(p.name.startswith("studio.db") for p in written)
    assert not list(Path("/tmp").glob("lumos-escaped*"))
