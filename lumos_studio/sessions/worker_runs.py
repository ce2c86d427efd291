"""A worker session's runs: each command sent to the serving worker under a run id of its own,
the caller's thread waiting for the run's last reply, which becomes the session's outcome; and
cancelling, with a kill when the run does not stop.

The base of ``WorkerSession`` (``sessions.worker``), which starts, replaces and restarts the
workers, and hears their replies on their reader threads.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from lumos_core import Message
from lumos_core.messages import message_from_dict, message_to_dict
from lumos_core.worker_protocol import (
    AgentResult,
    BreakAt,
    CallTool,
    Cancelled,
    Command,
    Failed,
    ForkWorkflow,
    ResumeWorkflow,
    RunAgent,
    RunEnd,
    RunWorkflow,
    WorkflowResult,
)
from lumos_core.worker_protocol import Cancel as CancelRun
from lumos_studio.sessions.base import (
    PauseHandler,
    RunOutcome,
    Session,
    SessionEvent,
    StreamListener,
    WorkflowOutcome,
)
from lumos_studio.sessions.worker_process import WorkerProcess

CANCEL_GRACE = 2.0  # seconds a cancelled run gets before its worker is killed
RESTART_WAIT = 15.0  # seconds a run waits for a worker being (re)started
NOT_LOADED = "the agents are not loaded; fix the file and save"


class WorkerRuns(Session):
    """Runs, forks and cancels on the serving worker for ``WorkerSession``."""

    # Set by WorkerSession.
    current: WorkerProcess | None
    _candidate: WorkerProcess | None
    _stopped: bool
    _pending: dict[int, tuple[threading.Event, list[RunEnd]]]
    _listeners: dict[int, StreamListener]
    _pause_handlers: dict[int, PauseHandler]
    _run_workers: dict[int, WorkerProcess]
    _active_run: int | None
    _run_ids: itertools.count[int]
    _lock: threading.RLock

    # --- runs (called from a thread worker of the app) ---

    def run(
        self,
        agent: str,
        text: str,
        history: tuple[Message, ...],
        thread_id: str | None = None,
        on_event: StreamListener | None = None,
        resource_id: str | None = None,
        *,
        breakpoints: tuple[BreakAt, ...] = (),
        on_pause: PauseHandler | None = None,
    ) -> RunOutcome:
        """``breakpoints`` pause the run in the worker; ``on_pause`` decides at each."""

        def command(run_id: int) -> Command:
            return RunAgent(
                run_id,
                agent,
                text,
                history=tuple(message_to_dict(m) for m in history),
                thread_id=thread_id,
                resource_id=resource_id,
                breakpoints=breakpoints,
            )

        reply = self._request(command, on_event, on_pause)
        return _outcome(reply) if reply is not None else RunOutcome(error=NOT_LOADED)

    def run_workflow(
        self,
        workflow: str,
        input: Any,
        *,
        resume: str | None = None,
        resume_data: Any = None,
        on_event: StreamListener | None = None,
        breakpoints: tuple[BreakAt, ...] = (),
        on_pause: PauseHandler | None = None,
    ) -> WorkflowOutcome:
        def command(run_id: int) -> Command:
            if resume is None:
                return RunWorkflow(run_id, workflow, input, breakpoints)
            return ResumeWorkflow(
                run_id, workflow, resume, resume_data=resume_data, breakpoints=breakpoints
            )

        reply = self._request(command, on_event, on_pause)
        return _workflow_outcome(reply) if reply is not None else WorkflowOutcome(error=NOT_LOADED)

    def fork_agent(
        self,
        agent: str,
        messages: tuple[Message, ...],
        origin: tuple[str | None, str | None] = (None, None),
        *,
        on_event: StreamListener | None = None,
        breakpoints: tuple[BreakAt, ...] = (),
        on_pause: PauseHandler | None = None,
    ) -> RunOutcome:
        def command(run_id: int) -> Command:
            return RunAgent(
                run_id, agent, "", history=tuple(message_to_dict(m) for m in messages),
                breakpoints=breakpoints, fork=True, fork_trace_id=origin[0],
                fork_span_id=origin[1],
            )

        reply = self._request(command, on_event, on_pause)
        return _outcome(reply) if reply is not None else RunOutcome(error=NOT_LOADED)

    def fork_workflow(
        self,
        workflow: str,
        run_id: str,
        step: str,
        *,
        input: Any = None,
        edited: bool = False,
        on_event: StreamListener | None = None,
        breakpoints: tuple[BreakAt, ...] = (),
        on_pause: PauseHandler | None = None,
    ) -> WorkflowOutcome:
        def command(number: int) -> Command:
            return ForkWorkflow(number, workflow, run_id, step, input, edited, breakpoints)

        reply = self._request(command, on_event, on_pause)
        return _workflow_outcome(reply) if reply is not None else WorkflowOutcome(error=NOT_LOADED)

    def call_tool(
        self,
        agent: str,
        tool: str,
        arguments: dict[str, Any],
        repeats: tuple[str, str] | None = None,
        *,
        breakpoints: tuple[BreakAt, ...] = (),
        on_pause: PauseHandler | None = None,
    ) -> RunOutcome:
        trace_id, span_id = repeats or (None, None)

        def command(run_id: int) -> Command:
            return CallTool(run_id, agent, tool, arguments, trace_id, span_id, breakpoints)

        reply = self._request(command, None, on_pause)
        return _outcome(reply) if reply is not None else RunOutcome(error=NOT_LOADED)

    def _request(
        self,
        command: Callable[[int], Command],
        on_event: StreamListener | None,
        on_pause: PauseHandler | None = None,
    ) -> RunEnd | None:
        """Send a run command (made for the run's id) to the current worker and wait for its
        last reply (None: no worker is serving)."""
        deadline = time.monotonic() + RESTART_WAIT
        while True:
            with self._lock:
                worker = self.current
                starting = self._candidate is not None and not self._stopped
            if worker is not None or not starting or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # a worker is being (re)started: the run waits for it
        with self._lock:
            worker = self.current
            if worker is None:
                return None
            run_id = next(self._run_ids)
            done = threading.Event()
            replies: list[RunEnd] = []
            self._pending[run_id] = (done, replies)
            self._run_workers[run_id] = worker
            self._active_run = run_id
            if on_event is not None:
                self._listeners[run_id] = on_event
            if on_pause is not None:
                self._pause_handlers[run_id] = on_pause
        try:
            worker.send(command(run_id))
            done.wait()
        finally:
            with self._lock:
                self._pending.pop(run_id, None)
                self._run_workers.pop(run_id, None)
                self._listeners.pop(run_id, None)
                self._pause_handlers.pop(run_id, None)
                if self._active_run == run_id:
                    self._active_run = None
        return replies[0]

    def cancel(self) -> bool:
        with self._lock:
            run_id = self._active_run
            worker = self._run_workers.get(run_id) if run_id is not None else None
            waiting = self._pending.get(run_id) if run_id is not None else None
        if run_id is None or worker is None or waiting is None:
            return False
        worker.send(CancelRun(run_id))
        threading.Thread(
            target=self._kill_if_stuck, args=(worker, waiting, run_id), daemon=True
        ).start()
        return True

    def _kill_if_stuck(
        self, worker: WorkerProcess, waiting: tuple[threading.Event, list[RunEnd]], run_id: int
    ) -> None:
        if waiting[0].wait(CANCEL_GRACE):
            return
        waiting[1].append(Cancelled(run_id, killed=True))
        waiting[0].set()
        self.emit(SessionEvent(notice="the run did not stop; worker killed and restarted"))
        worker.kill("cancelled")


def _outcome(reply: RunEnd) -> RunOutcome:
    match reply:
        case AgentResult():
            messages = tuple(message_from_dict(m) for m in reply.messages)
            return RunOutcome(reply.output, reply.trace_id, messages, thread_id=reply.thread_id)
        case Cancelled():
            return RunOutcome(trace_id=reply.trace_id, cancelled=True)
        case Failed():
            return RunOutcome(
                trace_id=reply.trace_id,
                error=reply.error or "failed",
                traceback=reply.traceback,
                raised=reply.raised,
                message=reply.message,
            )
    return RunOutcome(error=f"the worker answered a turn with {reply.tag!r}")


def _workflow_outcome(reply: RunEnd) -> WorkflowOutcome:
    match reply:
        case WorkflowResult():
            return WorkflowOutcome(
                status=reply.status,
                run_id=reply.run_id,
                output=reply.output,
                suspended=reply.suspended,
                error=reply.error,
                failed_step=reply.failed_step,
                trace_id=reply.trace_id,
            )
        case Cancelled():
            return WorkflowOutcome(trace_id=reply.trace_id, cancelled=True)
        case Failed():
            return WorkflowOutcome(
                trace_id=reply.trace_id, error=reply.error or "failed", traceback=reply.traceback
            )
    return WorkflowOutcome(error=f"the worker answered a workflow with {reply.tag!r}")
