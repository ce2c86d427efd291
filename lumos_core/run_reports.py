"""A run's reports to the studio: its stream events as ``Delta`` (answer text, coalesced),
``ToolCall``, ``ToolResult`` and ``StepUpdate`` messages, a finished workflow run as its
``WorkflowResult``, and outputs as JSON data.

Apart from the worker's command loop (``lumos_core.worker_runs``) because the in-process session
reports workflow runs and tool arguments the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson

from lumos_core.models.base import TextDelta
from lumos_core.run_results import ToolCallFinished, ToolCallStarted
from lumos_core.worker_protocol import (
    Delta,
    Report,
    StepUpdate,
    ToolCall,
    ToolResult,
    WorkflowResult,
)
from lumos_core.workflows import StepStreamed, WorkflowEvent, WorkflowRun, step_status
from lumos_core.workflows.snapshots import to_json

Send = Callable[[Report], None]

DELTA_INTERVAL = 0.04  # seconds between two ``delta`` messages of one run, at most


def jsonable(value: Any) -> Any:
    """A step's or workflow's output as JSON data (pydantic models dumped, the rest as text)."""
    return orjson.loads(to_json(value))


def workflow_reply(run: WorkflowRun, run_number: int = 0) -> WorkflowResult:
    """A finished workflow run (or resumed segment) as the worker reports it."""
    return WorkflowResult(
        id=run_number,
        run_id=run.run_id,
        status=run.status,
        output=jsonable(run.output if run.status != "failed" else None),
        suspended=jsonable(dict(run.suspended)),
        error=run.error,
        failed_step=run.failed_step,
        trace_id=run.trace_id,
    )


class DeltaRelay:
    """Sends one run's stream events: answer text coalesced to one ``delta`` message every
    ``interval`` at most (a fast model must not flood the socket), tool events at once, in order.
    Runs on the run's event loop."""

    def __init__(self, run_id: int, send: Send, interval: float = DELTA_INTERVAL) -> None:
        self.run_id = run_id
        self.send = send
        self.interval = interval
        self._text: list[str] = []
        self.step: str | None = None  # a workflow's step the pieces come from
        self._last_sent = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def event(self, event: Any) -> None:
        if isinstance(event, TextDelta):
            if not event.content:
                return
            self._text.append(event.content)
            wait = self._last_sent + self.interval - time.monotonic()
            if wait <= 0:
                self.flush()
            elif self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(wait, self.flush)
        elif isinstance(event, ToolCallStarted):
            self.flush()
            call = event.call
            self.send(ToolCall(self.run_id, call.name, jsonable(call.arguments), self.step))
        elif isinstance(event, ToolCallFinished):
            self.flush()
            result = event.result
            self.send(ToolResult(self.run_id, result.name, result.is_error, self.step))

    def workflow_event(self, event: WorkflowEvent) -> None:
        """A workflow's: its steps at once, what its agent steps write as ``event`` does, each
        piece tagged with its step (parallel steps write at the same time)."""
        if isinstance(event, StepStreamed):
            if event.step != self.step:
                self.flush()  # a delta holds one step's text
                self.step = event.step
            self.event(event.event)
            return
        self.flush()
        self.send(StepUpdate(self.run_id, event.step, step_status(event)))

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._text:
            text, self._text = "".join(self._text), []
            self._last_sent = time.monotonic()
            self.send(Delta(self.run_id, text, self.step))
