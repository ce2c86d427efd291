"""The worker's runs: each ``RunAgent``, ``CallTool`` or workflow command on a thread and event
loop of its own, streamed to the studio as it goes, ended by one reply (``AgentResult``,
``WorkflowResult``, ``Failed`` or ``Cancelled``); ``Cancel`` and a breakpoint's ``Decide``
reach the run they name.

Apart from the process around it (``lumos_core.runner``: arguments, the socket, prints as logs,
loading the file), which hands every command it reads to ``Worker.handle``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from lumos_core.agent import Agent, AgentRunError, RunCompleted
from lumos_core.agent_fork import AgentFork
from lumos_core.debug import attached
from lumos_core.debug_remote import PauseRelay
from lumos_core.memory_limit import memory_message
from lumos_core.messages import message_from_dict, message_to_dict
from lumos_core.models.base import ModelError
from lumos_core.run_guard import OpenSpans, current_run
from lumos_core.run_reports import DeltaRelay, Send, workflow_reply
from lumos_core.worker_protocol import (
    AgentResult,
    CallTool,
    Cancel,
    Cancelled,
    Command,
    Decide,
    Failed,
    ForkWorkflow,
    Load,
    ResumeWorkflow,
    RunAgent,
    RunEnd,
    RunWorkflow,
    Shutdown,
)
from lumos_core.workflows import Workflow, WorkflowError

if TYPE_CHECKING:
    from lumos_core.telemetry.export import OtlpTelemetry

Job = Callable[[int], Awaitable[RunEnd]]  # a run's work, given its id: the reply


class _RootTraceRecorder(SpanProcessor):
    """Remembers the trace id of the root span each thread started, for failed runs' reports."""

    def __init__(self) -> None:
        self.by_thread: dict[int, str] = {}

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if span.parent is None:
            self.by_thread[threading.get_ident()] = format(span.context.trace_id, "032x")

    def on_end(self, span: ReadableSpan) -> None:
        pass


class Worker:
    """Serves run/cancel/shutdown commands for the agents and workflows of one loaded file."""

    def __init__(
        self,
        agents: dict[str, Agent],
        telemetry: OtlpTelemetry | None,
        send: Send,
        workflows: dict[str, Workflow] | None = None,
        *,
        open_spans: OpenSpans | None = None,
        memory_limit_mb: int = 0,
    ):
        self.agents = agents
        self.open_spans = open_spans
        self.memory_limit_mb = memory_limit_mb
        self.workflows = workflows or {}
        self.telemetry = telemetry
        self.send = send
        self.roots = _RootTraceRecorder()
        if telemetry is not None:
            telemetry.tracer_provider.add_span_processor(self.roots)
        self._runs: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = {}
        self._relays: dict[int, PauseRelay] = {}  # runs with breakpoints
        self._lock = threading.Lock()

    def handle(self, command: Command) -> bool:
        """Act on one command; False when the worker should exit."""
        match command:
            case RunAgent() | RunWorkflow() | ResumeWorkflow() | ForkWorkflow() | CallTool():
                threading.Thread(target=self._run, args=(command,), daemon=True).start()
            case Cancel(id=run_id):
                with self._lock:
                    running = self._runs.get(run_id)
                if running is not None:
                    loop, task = running
                    loop.call_soon_threadsafe(self._cancel, run_id, task)
            case Decide(id=run_id):
                with self._lock:
                    relay = self._relays.get(run_id)
                if relay is not None:
                    relay.decided(command)
            case Shutdown():
                return False
            case Load():
                pass  # already loaded
        return True

    def _cancel(self, run_id: int, task: asyncio.Task[Any]) -> None:
        """On the run's loop: its open spans end ERROR 'cancelled' as the cancellation unwinds."""
        if self.open_spans is not None:
            self.open_spans.mark("cancelled", run_id)
        task.cancel()

    def _run(
        self, command: RunAgent | RunWorkflow | ResumeWorkflow | ForkWorkflow | CallTool
    ) -> None:
        run_id = command.id
        job = (
            self._agent_job(command) if isinstance(command, RunAgent)
            else self._tool_job(command) if isinstance(command, CallTool)
            else self._workflow_job(command)
        )
        if isinstance(job, str):
            self.send(Failed(run_id, job))
            return
        started = time.perf_counter()
        relay = PauseRelay(run_id, self.send, command.breakpoints) if command.breakpoints else None

        async def go() -> RunEnd:
            task = asyncio.current_task()
            assert task is not None
            with self._lock:
                self._runs[run_id] = (asyncio.get_running_loop(), task)
                if relay is not None:
                    self._relays[run_id] = relay
            current_run.set(run_id)  # the spans it starts are this run's (``OpenSpans``)
            with attached(relay.debugger if relay is not None else None):
                return await job(run_id)

        reply: RunEnd
        try:
            reply = asyncio.run(go())
        except asyncio.CancelledError:
            reply = Cancelled(run_id, self._trace_id())
        except WorkflowError as exc:  # refused before anything ran: a bad input or resume
            reply = Failed(run_id, str(exc), self._trace_id(), refused=True)
        except MemoryError as exc:
            limit = self.memory_limit_mb
            error = memory_message(limit) if limit else f"MemoryError: {exc}"
            reply = Failed(run_id, error, self._trace_id(), memory=True)
        except (ModelError, AgentRunError) as exc:  # the model or the loop, not user code
            reply = Failed(
                run_id,
                f"{type(exc).__name__}: {exc}",
                self._trace_id(),
                message=str(exc),
                traceback="".join(traceback.format_exception(exc)),
            )
        except Exception as exc:
            reply = Failed(
                run_id,
                f"{type(exc).__name__}: {exc}",
                self._trace_id(),
                raised=type(exc).__name__,
                traceback="".join(traceback.format_exception(exc)),
            )
        finally:
            with self._lock:
                self._runs.pop(run_id, None)
                self._relays.pop(run_id, None)
        reply = dataclasses.replace(reply, seconds=time.perf_counter() - started)
        sys.stdout.flush()
        if self.telemetry is not None:
            self.telemetry.flush()  # the trace is stored before the answer is shown
        self.send(reply)

    def _agent_job(self, command: RunAgent) -> Job | str:
        """The coroutine function for an agent turn, streamed through a ``DeltaRelay``."""
        agent = self.agents.get(command.agent)
        if agent is None:
            return "no such agent"
        history = [message_from_dict(m) for m in command.history]
        fork = None
        if command.fork:
            try:
                fork = AgentFork(tuple(history), command.fork_trace_id, command.fork_span_id)
            except ValueError as exc:
                return str(exc)
            history = []

        async def job(run_id: int) -> RunEnd:
            relay = DeltaRelay(run_id, self.send)
            result = None
            try:
                async for event in agent.stream(
                    command.message, message_history=history,
                    thread_id=command.thread_id, resource_id=command.resource_id, fork=fork,
                ):
                    if isinstance(event, RunCompleted):
                        result = event.result
                    else:
                        relay.event(event)
            finally:
                relay.flush()  # every delta goes out before the result (or the cancellation)
            assert result is not None
            return AgentResult(
                id=run_id,
                output=result.output,
                trace_id=result.trace_id,
                thread_id=result.thread_id,
                messages=tuple(message_to_dict(m) for m in result.messages),
                usage=(result.usage.input_tokens, result.usage.output_tokens),
            )

        return job

    def _tool_job(self, command: CallTool) -> Job | str:
        """A tool called by hand: its result text the reply's output, an error result a
        ``Failed`` (refused: the tool said no, nothing crashed)."""
        agent = self.agents.get(command.agent)
        if agent is None:
            return "no such agent"
        repeats = None
        if command.repeats_trace_id and command.repeats_span_id:
            repeats = (command.repeats_trace_id, command.repeats_span_id)

        async def job(run_id: int) -> RunEnd:
            result = await agent.call_tool(command.tool, command.arguments, repeats=repeats)
            if result.is_error:
                return Failed(run_id, result.text, result.trace_id, refused=True,
                              message=result.text)
            return AgentResult(id=run_id, output=result.text, trace_id=result.trace_id)

        return job

    def _workflow_job(self, command: RunWorkflow | ResumeWorkflow | ForkWorkflow) -> Job | str:
        workflow = self.workflows.get(command.workflow)
        if workflow is None:
            return "no such workflow"

        async def job(run_id: int) -> RunEnd:
            relay = DeltaRelay(run_id, self.send)
            try:
                if isinstance(command, ResumeWorkflow):
                    run = await workflow.resume(
                        command.run_id, step=command.step,
                        resume_data=command.resume_data, on_event=relay.workflow_event,
                    )
                elif isinstance(command, ForkWorkflow):
                    edited = {"input": command.input} if command.edited else {}
                    run = await workflow.fork(
                        command.run_id, command.step, on_event=relay.workflow_event, **edited
                    )
                else:
                    run = await workflow.run(command.input, on_event=relay.workflow_event)
            finally:
                relay.flush()
            return workflow_reply(run, run_id)

        return job

    def _trace_id(self) -> str | None:
        return self.roots.by_thread.pop(threading.get_ident(), None)
