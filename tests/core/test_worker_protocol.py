"""The worker protocol: every message survives the wire, and what is not a message is refused."""

from __future__ import annotations

import dataclasses
import typing

import orjson
import pytest

from lumos_core import worker_protocol as wp

EXAMPLES: list[wp.Message] = [
    wp.Load(),
    wp.RunAgent(1, "weather", "Paris?", ({"role": "user", "parts": []},), "t1", None,
                (wp.BreakAt("before_tool", "get_weather"), wp.BreakAt("before_model"))),
    wp.RunWorkflow(2, "trip", {"city": "Rome", "days": [1, 2]}),
    wp.RunAgent(1, "weather", "", ({"role": "user", "parts": []},), fork=True,
                fork_trace_id="t" * 32, fork_span_id="s" * 16),
    wp.ResumeWorkflow(3, "trip", "r1", step="approve", resume_data={"ok": True}),
    wp.ForkWorkflow(3, "trip", "r1", "book", {"days": 3}, True,
                    (wp.BreakAt("before_step", "book", "days", "3"),)),
    wp.CallTool(3, "weather", "get_weather", {"city": "Rome", "days": [1]}, "t" * 32, "s" * 16,
                (wp.BreakAt("before_tool", "get_weather"),)),
    wp.Cancel(4),
    wp.Shutdown(),
    wp.Decide(5, "edit", {"city": "Rome"}),
    wp.Paused(5, "before_step", "plan", {"a": [1]}, workflow="trip", refused="no"),
    wp.Resource({"service.name": "agents", "pids": [1, 2]}),
    wp.Ready(
        7,
        (wp.AgentDescription("weather", "scripted", ("get_weather",), "says", True,
                             callable_tools=(wp.ToolDescription("get_weather", "Weather.",
                                                                '{"city":"…"}'),)),),
        (wp.WorkflowDescription("trip", "plans", ("plan", "book"), True, '{"a":1}', "/x.db"),),
        0.25,
    ),
    wp.LoadError("boom", "/a.py", 3, "frame", "details"),
    wp.Delta(1, "Sun", step="plan"),
    wp.ToolCall(1, "get_weather", {"city": "Rome"}),
    wp.ToolResult(1, "get_weather", is_error=True, step="plan"),
    wp.StepUpdate(2, "plan", "done"),
    wp.SpanStarted("t" * 32, "s" * 16, "chat scripted", 10, run=1, parent_span_id=None,
                   attributes={"a": 1}),
    wp.SpanEnded("t" * 32, "s" * 16, 20, "ERROR", "cancelled", {"a": [1, 2]}),
    wp.AgentResult(1, "Sunny", "t" * 32, "th", ({"role": "assistant", "parts": []},), (3, 4), 0.5),
    wp.WorkflowResult(2, "r1", "suspended", None, {"approve": {"q": "?"}}, None, None, None, 1.0),
    wp.Failed(1, "ValueError: x", refused=True, memory=False, raised="ValueError", seconds=2.0),
    wp.Cancelled(1, None, killed=True),
]


def test_every_message_kind_has_an_example() -> None:
    kinds = typing.get_args(wp.Command) + typing.get_args(wp.Report)
    assert {type(m) for m in EXAMPLES} == set(kinds)


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: m.tag)
def test_a_message_comes_back_equal_from_its_line(message: wp.Message) -> None:
    line = wp.encode(message)
    assert line.endswith(b"\n") and b"\n" not in line[:-1]
    assert orjson.loads(line)["type"] == message.tag
    assert wp.decode(line) == message


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "a message is a JSON object, not list"),
        (b'{"id": 1}', "unknown message type None"),
        (b'{"type": "explode"}', "unknown message type 'explode'"),
        (b'{"type": 3}', "unknown message type 3"),
        (b'{"type": "cancel"}', "cancel: missing field 'id'"),
        (b'{"type": "cancel", "id": "1"}', "cancel.id: str where int belongs"),
        (b'{"type": "cancel", "id": true}', "cancel.id: bool where int belongs"),
        (b'{"type": "cancel", "id": 1, "extra": 2}', "cancel: unknown field 'extra'"),
        (b'{"type": "delta", "id": 1, "text": null}', "delta.text: NoneType where str belongs"),
        (b'{"type": "ready", "pid": 1, "agents": [{"name": "a"}]}',
         "ready.agents[0]: missing field 'model'"),
        (b'{"type": "ready", "pid": 1, "agents": {"name": "a"}}',
         "ready.agents: dict where list belongs"),
        (b'{"type": "workflow_result", "id": 1, "run_id": "r", "status": "exploded"}',
         "workflow_result.status: 'exploded' is not one of"),
        (b'{"type": "run", "id": 1, "agent": "a", "message": "m", '
         b'"breakpoints": [{"point": "somewhere"}]}',
         "run.breakpoints[0].point: 'somewhere' is not one of"),
        (b'{"type": "span_ended", "trace_id": "t", "span_id": "s", "end_ns": 1, '
         b'"attributes": [1]}', "span_ended.attributes: list where dict belongs"),
    ],
)
def test_what_is_not_a_message_is_refused_saying_why(line: bytes, reason: str) -> None:
    with pytest.raises(wp.ProtocolError, match=None) as refused:
        wp.decode(line)
    assert str(refused.value).startswith(reason)


def test_a_float_field_takes_a_whole_number_and_holds_a_float() -> None:
    ready = wp.decode(b'{"type": "ready", "pid": 1, "load_seconds": 2}')
    assert isinstance(ready, wp.Ready) and ready.load_seconds == 2.0
    assert isinstance(ready.load_seconds, float)


def test_messages_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        wp.Cancel(1).id = 2  # type: ignore[misc]
