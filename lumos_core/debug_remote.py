"""A debugger across the worker's pipe: breakpoints come with a run command (``BreakAt``), each
pause goes to the studio as ``Paused`` and waits for its ``Decide``.

``PauseRelay`` lives in the worker (one per run that has breakpoints); ``decide_message`` and
``decision_of`` turn ``lumos_core.debug`` decisions into the protocol's and back, for either side.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import orjson

from lumos_core.debug import (
    Abort,
    Breakpoint,
    Continue,
    Debugger,
    Decision,
    Edit,
    PausePoint,
    PauseRequest,
    Skip,
    StepNext,
)
from lumos_core.worker_protocol import BreakAt, Decide, Paused, Report
from lumos_core.workflows.snapshots import to_json


def breakpoints_of(breaks: tuple[BreakAt, ...]) -> list[Breakpoint]:
    return [
        Breakpoint(
            PausePoint(b.point), b.target,
            None if b.field is None else field_equals(b.field, b.equals),
        )
        for b in breaks
    ]


def field_equals(path: str, equals: str) -> Callable[[PauseRequest], bool]:
    """A breakpoint's condition: the paused value's field at ``path`` (dotted: ``city``,
    ``order.id``, ``items.0``) reads ``equals``: a string as it is, anything else as JSON."""
    keys = [k for k in path.split(".") if k]

    def holds(request: PauseRequest) -> bool:
        found: Any = json_value(request.value)
        for key in keys:
            if isinstance(found, dict) and key in found:
                found = found[key]
            elif isinstance(found, list) and key.isdigit() and int(key) < len(found):
                found = found[int(key)]
            else:
                return False
        text = found if isinstance(found, str) else orjson.dumps(found).decode()
        return text == equals

    return holds


def json_value(value: Any) -> Any:
    """What a pause shows, as JSON data (a ``ModelCall`` as its fields, models dumped)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return orjson.loads(to_json(value))


def paused_message(run_id: int, request: PauseRequest) -> Paused:
    """A pause as the studio is told of it (its value as JSON data)."""
    return Paused(
        run_id, request.point.value, request.target, json_value(request.value),
        agent=request.agent, workflow=request.workflow, trace_id=request.trace_id,
        span_id=request.span_id, refused=request.refused,
    )


def decision_of(message: Decide) -> Decision:
    match message.action:
        case "edit":
            return Edit(message.value)
        case "skip":
            return Skip(message.value)
        case "abort":
            return Abort(message.value if isinstance(message.value, str) else
                         "aborted in the debugger")
        case "step":
            return StepNext()
    return Continue()


def decide_message(run_id: int, decision: Decision) -> Decide:
    match decision:
        case Edit(value=value):
            return Decide(run_id, "edit", value)
        case Skip(result=result):
            return Decide(run_id, "skip", result)
        case Abort(reason=reason):
            return Decide(run_id, "abort", reason)
        case StepNext():
            return Decide(run_id, "step")
    return Decide(run_id, "continue")


class PauseRelay:
    """One run's debugger in the worker: a pause is sent, and waits for the studio's answer."""

    def __init__(self, run_id: int, send: Callable[[Report], None],
                 breaks: tuple[BreakAt, ...]) -> None:
        self.run_id = run_id
        self.send = send
        self.debugger = Debugger(breakpoints_of(breaks), self._ask)
        self._waiting: tuple[asyncio.AbstractEventLoop, asyncio.Future[Decision]] | None = None
        self._lock = threading.Lock()
        # Parallel tool calls or steps may pause at once: the studio sees one pause at a time,
        # so each ``Decide`` answers the pause it was shown.
        self._one_at_a_time = asyncio.Lock()
        self._turn: asyncio.Task[Any] | None = None  # the run's task whose pause has the turn
        self._asking = False

    async def _ask(self, request: PauseRequest) -> Decision:
        """Send the pause and wait for its answer, in turn. The turn is kept until the debugger
        has applied the answer: a refused edit is asked again (``request.refused``) before
        another call's pause goes, so a later pause tells the studio the edits before it were
        taken."""
        task = asyncio.current_task()
        if self._turn is not task or task is None:
            await self._one_at_a_time.acquire()
            self._turn = task
        self._asking = True
        loop = asyncio.get_running_loop()
        try:
            answer: asyncio.Future[Decision] = loop.create_future()
            with self._lock:
                self._waiting = (loop, answer)
            self.send(paused_message(self.run_id, request))
            return await answer
        finally:
            self._asking = False
            # After this task's next steps: it applies the answer, and a refused edit asks
            # again at once, still in turn.
            loop.call_soon(self._end_turn, task)

    def _end_turn(self, task: asyncio.Task[Any] | None) -> None:
        if self._turn is task and not self._asking:
            self._turn = None
            self._one_at_a_time.release()

    def decided(self, message: Decide) -> None:
        """The studio's answer (on the worker's reader thread)."""
        with self._lock:
            waiting, self._waiting = self._waiting, None
        if waiting is None:
            return  # no pause is waiting: a late or stray answer
        loop, answer = waiting
        loop.call_soon_threadsafe(_settle, answer, decision_of(message))


def _settle(answer: asyncio.Future[Decision], decision: Decision) -> None:
    if not answer.done():
        answer.set_result(decision)
