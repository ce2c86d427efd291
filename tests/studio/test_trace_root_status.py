"""A run is an ERROR in the trace list only when its root failed, not a child it got past."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import SpanRecord
from lumos_studio.store import Store, StoreTarget, TraceQuery
from lumos_studio.store.trace_filter import parse_filter
from tests.builders import MS, T0, make_span, weather_trace

RECOVERED = "1" * 32  # a tool failed, the agent answered anyway: root OK
FAILED = "2" * 32  # the root failed
ORPHAN = "3" * 32  # only a failed child arrived (its root not stored yet)
LIVE = "4" * 32  # a tool failed, the root still runs


def _traces() -> list[SpanRecord]:
    recovered = weather_trace(RECOVERED, T0)
    recovered[2] = dataclasses.replace(recovered[2], status_code="ERROR")
    recovered[0] = dataclasses.replace(recovered[0], status_code="OK")
    failed = weather_trace(FAILED, T0 + 10**9)
    failed[0] = dataclasses.replace(failed[0], status_code="ERROR")
    orphan = [dataclasses.replace(weather_trace(ORPHAN, T0 + 2 * 10**9)[2], status_code="ERROR")]
    live = weather_trace(LIVE, T0 + 3 * 10**9)
    live[2] = dataclasses.replace(live[2], status_code="ERROR")
    live[0] = dataclasses.replace(live[0], end_ns=None)
    return [*recovered, *failed, *orphan, *live]


def _statuses(store: Store, query: str = "") -> dict[str, str]:
    page = store.reader.find_traces(TraceQuery(parse_filter(query)))
    return {t.trace_id: t.status for t in page.summaries}


def test_the_list_says_error_only_when_the_root_failed(store: Store) -> None:
    store.writer.submit_many(_traces())
    store.writer.flush()

    assert _statuses(store) == {RECOVERED: "OK", FAILED: "ERROR", ORPHAN: "ERROR",
                                LIVE: "RUNNING"}
    assert {t.trace_id: t.status for t in store.reader.list_traces()}[RECOVERED] == "OK"
    newest = store.reader.newest_trace()
    assert newest is not None and newest.trace_id == LIVE and newest.status == "RUNNING"


def test_the_status_filter_agrees_with_the_list(store: Store) -> None:
    store.writer.submit_many(_traces())
    store.writer.flush()

    assert set(_statuses(store, "status:error")) == {FAILED, ORPHAN}
    assert set(_statuses(store, "status:ok")) == {RECOVERED}
    assert set(_statuses(store, "status:running")) == {LIVE}


WAITING = "5" * 32  # a workflow suspended, waiting for a person
DONE = "6" * 32  # a workflow that ended, the word "suspended" in its input


def _workflow(trace_id: str, status: str, start: int) -> list[SpanRecord]:
    attributes = {sc.OPERATION_NAME: sc.OP_INVOKE_WORKFLOW, sc.LUMOS_WORKFLOW_NAME: "trip",
                  sc.LUMOS_WORKFLOW_STATUS: status,
                  sc.LUMOS_WORKFLOW_INPUT: '{"note": "suspended for now"}'}
    root = make_span("invoke_workflow trip", trace_id=trace_id, span_id="7" * 16, start=start,
                     attributes=attributes)
    step = make_span("step plan", trace_id=trace_id, span_id="8" * 16, parent="7" * 16,
                     start=start + MS, attributes={sc.LUMOS_WORKFLOW_STEP_NAME: "plan"})
    return [root, step]


@pytest.fixture
def any_store(store_target: StoreTarget) -> Iterator[Store]:
    opened = Store.open(store_target)
    yield opened
    opened.close()


def test_status_suspended_finds_the_runs_the_list_shows_suspended(any_store: Store) -> None:
    any_store.writer.submit_many([*_traces(), *_workflow(WAITING, "suspended", T0 + 4 * 10**9),
                                  *_workflow(DONE, "success", T0 + 5 * 10**9)])
    any_store.writer.flush()

    listed = _statuses(any_store)
    assert (listed[WAITING], listed[DONE]) == ("SUSPENDED", "OK")
    assert _statuses(any_store, "status:suspended") == {WAITING: "SUSPENDED"}
    assert set(_statuses(any_store, "status:ok")) == {RECOVERED, DONE}
    assert set(_statuses(any_store, "status:suspended|error")) == {WAITING, FAILED, ORPHAN}
    page = any_store.reader.find_traces(TraceQuery(parse_filter("status:suspended")))
    assert page.total == any_store.reader.count_matches(page.query) == 1
