"""Agents and workflows imported into the studio's own process: the bundled demo, and tests."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import threading
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.trace import TracerProvider

from lumos_core import Message
from lumos_core.agent import AgentStreamEvent, RunCompleted, ToolCallFinished, ToolCallStarted
from lumos_core.agent_fork import AgentFork
from lumos_core.debug import Debugger, Decision, PauseRequest, attached
from lumos_core.debug_remote import breakpoints_of, paused_message
from lumos_core.models.base import TextDelta
from lumos_core.run_guard import OpenSpans, current_run
from lumos_core.run_reports import jsonable, workflow_reply
from lumos_core.session_catalog import describe_workflow, use_snapshot_store
from lumos_core.tool_calls import ToolCallResult
from lumos_core.worker_protocol import BreakAt
from lumos_core.workflows import StepStreamed, WorkflowError, WorkflowEvent, step_status
from lumos_studio.sessions.base import (
    AgentInfo,
    PauseHandler,
    RunOutcome,
    Session,
    StreamListener,
    StreamUpdate,
    WorkflowOutcome,
    workflow_store_beside,
)
from lumos_studio.sessions.discovery import AgentCatalog
from lumos_studio.store.writer import StoreWriter

T = TypeVar("T")


class InProcessSession(Session):
    """Runs agents and workflows on a thread of this process, traced into the studio's store.

    Workflows that keep the default snapshot file save their runs in ``workflow_store``.
    """

    def __init__(
        self,
        catalog: AgentCatalog,
        tracer_provider: TracerProvider | None = None,
        logger_provider: LoggerProvider | None = None,
        workflow_store: Path | None = None,
    ) -> None:
        self.catalog = catalog
        self.source = catalog.source
        self.tracer_provider = tracer_provider
        self.logger_provider = logger_provider
        use_snapshot_store(catalog.workflows, workflow_store)
        self.agents = (
            *(AgentInfo.of(a) for a in catalog.agents.values()),
            *(AgentInfo.from_wire(describe_workflow(w)) for w in catalog.workflows.values()),
        )
        self._log_handler: logging.Handler | None = None
        self._running: tuple[asyncio.AbstractEventLoop, asyncio.Task[Any], int] | None = None
        self._lock = threading.Lock()
        self._run_ids = itertools.count(1)
        # A cancelled run's open spans end ERROR "cancelled" (a cancellation alone leaves them
        # unset: ``CancelledError`` is not an exception to OpenTelemetry).
        self._open_spans = OpenSpans()
        if isinstance(tracer_provider, SdkTracerProvider):
            tracer_provider.add_span_processor(self._open_spans)

    @classmethod
    def recording(cls, catalog: AgentCatalog, writer: StoreWriter) -> InProcessSession:
        """A session whose spans and log records (memory events, logging) land in ``writer``,
        and whose workflow runs are saved in ``workflows.db`` beside the writer's store."""
        from lumos_studio.ingest import studio_logger_provider, studio_tracer_provider

        return cls(
            catalog,
            studio_tracer_provider(writer),
            studio_logger_provider(writer),
            workflow_store_beside(Path(writer.path)),
        )

    def start(self) -> None:
        """Python ``logging`` emitted inside an agent's spans becomes log records too."""
        if self.logger_provider is None or self._log_handler is not None:
            return
        # Imported here: OTel's instrumentation packages (wrapt, packaging) are not needed to
        # draw the studio's first frame.
        from opentelemetry.instrumentation.logging.handler import LoggingHandler

        handler = LoggingHandler(level=logging.INFO, logger_provider=self.logger_provider)
        handler.addFilter(_inside_a_span)
        root = logging.getLogger()
        root.addHandler(handler)
        if root.getEffectiveLevel() > logging.INFO:
            root.setLevel(logging.INFO)
        self._log_handler = handler

    def stop(self) -> None:
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler = None

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
        return self._agent_run(agent, text, history, thread_id, on_event, resource_id,
                               _debugger(breakpoints, on_pause))

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
        try:
            fork = AgentFork(messages, *origin)
        except ValueError as exc:
            return RunOutcome(error=str(exc))
        return self._agent_run(agent, "", (), None, on_event, None,
                               _debugger(breakpoints, on_pause), fork)

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
        chosen = self.catalog.agents.get(agent)
        if chosen is None:
            return RunOutcome(error=f"no agent named {agent!r}")

        async def go() -> ToolCallResult:
            return await chosen.call_tool(tool, arguments, tracer_provider=self.tracer_provider,
                                          repeats=repeats)

        try:
            result = self._run_cancellable(go, _debugger(breakpoints, on_pause))
        except asyncio.CancelledError:
            return RunOutcome(cancelled=True)
        except Exception as exc:  # the tool failed: report it, keep the studio up
            return RunOutcome(
                error=f"{type(exc).__name__}: {exc}", raised=type(exc).__name__, message=str(exc),
                traceback="".join(traceback.format_exception(exc)),
            )
        if result.is_error:
            return RunOutcome(trace_id=result.trace_id, error=result.text, message=result.text)
        return RunOutcome(result.text, result.trace_id)

    def _agent_run(
        self,
        agent: str,
        text: str,
        history: tuple[Message, ...],
        thread_id: str | None,
        on_event: StreamListener | None,
        resource_id: str | None,
        debugger: Debugger | None,
        fork: AgentFork | None = None,
    ) -> RunOutcome:
        chosen = self.catalog.agents[agent]

        async def go() -> Any:
            result = None
            async for event in chosen.stream(
                text,
                message_history=history,
                thread_id=thread_id,
                resource_id=resource_id,
                tracer_provider=self.tracer_provider,
                logger_provider=self.logger_provider,
                fork=fork,
            ):
                if isinstance(event, RunCompleted):
                    result = event.result
                elif on_event is not None and (update := stream_update(event)) is not None:
                    on_event(update)
            return result

        try:
            result = self._run_cancellable(go, debugger)
        except asyncio.CancelledError:
            return RunOutcome(cancelled=True)
        except Exception as exc:  # user code failed: report it, keep the studio up
            return RunOutcome(
                error=f"{type(exc).__name__}: {exc}",
                traceback="".join(traceback.format_exception(exc)),
            )
        return RunOutcome(result.output, result.trace_id, result.messages)

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
        chosen = self.catalog.workflows[workflow]
        providers = self._workflow_providers(on_event)

        async def go() -> Any:
            if resume is not None:
                return await chosen.resume(resume, resume_data=resume_data, **providers)
            return await chosen.run(input, **providers)

        return self._workflow_outcome(go, _debugger(breakpoints, on_pause))

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
        chosen = self.catalog.workflows[workflow]
        providers = self._workflow_providers(on_event)
        if edited:
            providers["input"] = input

        async def go() -> Any:
            return await chosen.fork(run_id, step, **providers)

        return self._workflow_outcome(go, _debugger(breakpoints, on_pause))

    def _workflow_providers(self, on_event: StreamListener | None) -> dict[str, Any]:
        def forward(event: WorkflowEvent) -> None:
            if on_event is not None and (update := workflow_update(event)) is not None:
                on_event(update)

        return {
            "tracer_provider": self.tracer_provider,
            "logger_provider": self.logger_provider,
            "on_event": forward,
        }

    def _workflow_outcome(
        self, go: Callable[[], Awaitable[Any]], debugger: Debugger | None
    ) -> WorkflowOutcome:
        try:
            run = self._run_cancellable(go, debugger)
        except asyncio.CancelledError:
            return WorkflowOutcome(cancelled=True)
        except WorkflowError as exc:  # refused before anything ran: a bad input or resume
            return WorkflowOutcome(error=str(exc))
        except Exception as exc:
            return WorkflowOutcome(
                error=f"{type(exc).__name__}: {exc}",
                traceback="".join(traceback.format_exception(exc)),
            )
        reply = workflow_reply(run)
        return WorkflowOutcome(
            status=reply.status,
            run_id=run.run_id,
            output=reply.output,
            suspended=reply.suspended,
            error=run.error,
            failed_step=run.failed_step,
            trace_id=run.trace_id,
        )

    def _run_cancellable(
        self, work: Callable[[], Awaitable[T]], debugger: Debugger | None = None
    ) -> T:
        """Run ``work`` on a fresh event loop in this thread, as the task ``cancel`` stops,
        pausing at ``debugger``'s breakpoints."""

        async def go() -> T:
            task = asyncio.current_task()
            assert task is not None
            run_id = next(self._run_ids)
            current_run.set(run_id)  # the spans it starts are this run's
            with self._lock:
                self._running = (asyncio.get_running_loop(), task, run_id)
            with attached(debugger):
                return await work()

        try:
            return _run_to_the_end_or_cancelled(go())
        finally:
            with self._lock:
                self._running = None

    def cancel(self) -> bool:
        """Cancels a run that is awaiting (a model call, an async tool, a tool's thread: the
        thread is left to end by itself); a sync tool running on the run's own loop finishes
        first, since threads cannot be interrupted. Worker sessions can kill."""
        with self._lock:
            running = self._running
        if running is None:
            return False
        loop, task, run_id = running

        def stop() -> None:
            self._open_spans.mark("cancelled", run_id)
            task.cancel()

        loop.call_soon_threadsafe(stop)
        return True


def _run_to_the_end_or_cancelled(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, but a cancelled run returns at once: ``asyncio.run`` waits for the
    threads of its loop's executor, and a tool blocked in one (``asyncio.to_thread``) held the
    cancelled run, and the chat, until the tool returned. Its thread is left to end by itself."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # as ``asyncio.run`` does, for code that asks for it
    executor = ThreadPoolExecutor(thread_name_prefix="lumos-run")
    loop.set_default_executor(executor)
    cancelled = False
    try:
        return loop.run_until_complete(main)
    except asyncio.CancelledError:
        cancelled = True
        raise
    finally:
        try:
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            executor.shutdown(wait=not cancelled, cancel_futures=True)
            asyncio.set_event_loop(None)
            loop.close()


def _debugger(breakpoints: tuple[BreakAt, ...], on_pause: PauseHandler | None) -> Debugger | None:
    """The run's debugger: each pause asks ``on_pause`` on a thread of its own, as a worker's
    pause does, so the studio answers both the same way."""
    if not breakpoints:
        return None
    if on_pause is None:
        return Debugger(breakpoints_of(breakpoints))

    async def decide(request: PauseRequest) -> Decision:
        # A thread of its own, not the loop's executor: a run cancelled while it waits ends at
        # once, where ``asyncio.run`` would wait for an executor thread still asking a person.
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Decision] = loop.create_future()

        def ask() -> None:
            decision = on_pause(paused_message(0, request))
            with contextlib.suppress(RuntimeError):  # the run's loop is gone: nobody waits
                loop.call_soon_threadsafe(_settle, answer, decision)

        threading.Thread(target=ask, daemon=True).start()
        return await answer

    return Debugger(breakpoints_of(breakpoints), decide)


def _settle(answer: asyncio.Future[Decision], decision: Decision) -> None:
    if not answer.done():
        answer.set_result(decision)


def workflow_update(event: WorkflowEvent) -> StreamUpdate | None:
    """What the chat shows of a workflow's event: its steps, its agent steps' stream."""
    if isinstance(event, StepStreamed):
        update = stream_update(event.event)
        return None if update is None else dataclasses.replace(update, step=event.step)
    return StreamUpdate(step=event.step, step_status=step_status(event))


def stream_update(event: AgentStreamEvent) -> StreamUpdate | None:
    """What the chat shows of an agent's stream event (None: nothing, e.g. tool-call pieces)."""
    if isinstance(event, TextDelta):
        return StreamUpdate(text=event.content) if event.content else None
    if isinstance(event, ToolCallStarted):
        return StreamUpdate(tool=event.call.name, arguments=jsonable(event.call.arguments))
    if isinstance(event, ToolCallFinished):
        result = event.result
        return StreamUpdate(tool=result.name, finished=True, failed=result.is_error)
    return None


def _inside_a_span(record: logging.LogRecord) -> bool:
    """Only what agents log while they run: the studio's own logging is not the user's."""
    return (
        trace.get_current_span().get_span_context().is_valid
        and not record.name.startswith("opentelemetry")
    )
