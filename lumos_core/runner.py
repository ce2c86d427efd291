"""The worker process: imports a user's agent file and runs agents on request.

``python -m lumos_core.runner --path agents.py --control-fd N --otlp-endpoint URL``

The studio talks to it over a socket passed as ``--control-fd`` (JSON lines), never over stdout:
user code prints, and those prints become log records tied to the span they ran in. Spans and logs
leave through the standard OTLP/HTTP exporters. If user code breaks, the worker reports it and
stays alive to say so; the studio restarts workers, the worker never restarts itself.

Messages are the typed ones of ``lumos_core.worker_protocol`` (one JSON object a line). Studio →
worker: ``Load``, ``RunAgent``, ``RunWorkflow`` / ``ResumeWorkflow`` / ``ForkWorkflow``,
``Decide``, ``Cancel``, ``Shutdown``; a line that is none of them is refused on stderr. Worker →
studio: ``Ready`` (agents and workflows) or ``LoadError``; while a turn runs, ``Delta`` (answer
text, coalesced to one message every ``DELTA_INTERVAL`` at most), ``ToolCall``, ``ToolResult``,
``StepUpdate`` and ``Paused`` (at a breakpoint); then one of
``AgentResult``, ``WorkflowResult``, ``Failed`` or ``Cancelled``. With telemetry on, the worker
also tells the studio each span's start and end at once (``Resource``, ``SpanStarted``,
``SpanEnded``): OTLP exports in batches, and a worker that dies leaves the studio to close the
spans it had open, and to keep those it had ended but not yet exported.

The worker caps its own data memory (``--memory-limit-mb``); a run past it fails with a message
saying so. The studio starts it in a process group of its own and kills the group.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import logging
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from lumos_core.agent import Agent, AgentRunError, RunCompleted
from lumos_core.agent_fork import AgentFork
from lumos_core.debug import attached
from lumos_core.debug_remote import PauseRelay
from lumos_core.loader import AgentFileError, load_definitions
from lumos_core.memory_limit import apply_memory_limit, memory_limit_from_env, memory_message
from lumos_core.messages import message_from_dict, message_to_dict
from lumos_core.models.base import ModelError
from lumos_core.run_guard import OpenSpans, current_run, jsonable_attributes, reporting_spans
from lumos_core.run_reports import DeltaRelay, Send, workflow_reply
from lumos_core.session_catalog import describe, describe_workflow, use_snapshot_store
from lumos_core.worker_protocol import (
    AgentResult,
    Cancel,
    Cancelled,
    Command,
    Decide,
    Failed,
    ForkWorkflow,
    Load,
    LoadError,
    ProtocolError,
    Ready,
    Report,
    Resource,
    ResumeWorkflow,
    RunAgent,
    RunEnd,
    RunWorkflow,
    Shutdown,
    decode,
    encode,
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


class _PrintToLog(io.TextIOBase):
    """A stdout/stderr stand-in: each printed line becomes a log record in the current span,
    and with ``echo`` (``lumos-studio run``) is also written there, as a script's would be."""

    def __init__(self, stream_name: str, level: int, echo: TextIO | None = None) -> None:
        self._logger = logging.getLogger(f"print.{stream_name}")
        self._level = level
        self._stream_name = stream_name
        self._echo = echo
        self._buffer = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            self._line(line)
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            line, self._buffer = self._buffer, ""
            self._line(line)

    def _line(self, line: str) -> None:
        self._logger.log(self._level, line, extra={"log.iostream": self._stream_name})
        if self._echo is not None:
            self._echo.write(line + "\n")
            self._echo.flush()


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
            case RunAgent() | RunWorkflow() | ResumeWorkflow() | ForkWorkflow():
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

    def _run(self, command: RunAgent | RunWorkflow | ResumeWorkflow | ForkWorkflow) -> None:
        run_id = command.id
        job = (
            self._agent_job(command)
            if isinstance(command, RunAgent)
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


def _channel(fd: int) -> tuple[Send, Any]:
    sock = socket.socket(fileno=fd)
    reader = sock.makefile("rb")
    lock = threading.Lock()

    def send(message: Report) -> None:
        data = encode(message)
        with lock:
            sock.sendall(data)

    return send, reader


def _command(line: bytes) -> Command | None:
    """The command a line holds; a line that is none is refused (None), saying why on the
    process's own stderr, which the studio shows as the worker's output."""
    try:
        message = decode(line)
    except ProtocolError as exc:
        _refuse(str(exc))
        return None
    if isinstance(message, Load | RunAgent | RunWorkflow | ResumeWorkflow | ForkWorkflow | Cancel
                  | Shutdown | Decide):
        return message
    _refuse(f"{message.tag!r} is a message from the worker, not a command")
    return None


def _refuse(reason: str) -> None:
    stream = sys.__stderr__
    if stream is not None:
        print(f"lumos worker: refused a command: {reason}", file=stream, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lumos_core.runner", description=__doc__)
    parser.add_argument("--path", type=Path, required=True, help="agent file or package")
    parser.add_argument("--control-fd", type=int, required=True, help="socket to the studio")
    parser.add_argument("--otlp-endpoint", help="OTLP/HTTP base URL (no export when absent)")
    parser.add_argument(
        "--workflow-store",
        type=Path,
        help="snapshot file for workflows that keep the default one (the studio's)",
    )
    parser.add_argument(
        "--memory-limit-mb",
        type=int,
        default=memory_limit_from_env(),
        help="cap on the worker's data memory in MB, 0 for none (default: $LUMOS_WORKER_MEMORY_MB "
        "or 4096)",
    )
    parser.add_argument(
        "--echo-prints",
        action="store_true",
        help="also write what the user's code prints to this process's stderr (lumos-studio "
        "run shows it; the studio keeps it as log records only)",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="start warm and import the file only on a 'load' command (fast reloads)",
    )
    args = parser.parse_args(argv)
    apply_memory_limit(args.memory_limit_mb)

    from lumos_core.telemetry.export import configure_otlp  # the studio imports this module too

    send, commands = _channel(args.control_fd)
    telemetry = None
    open_spans: OpenSpans | None = None
    if args.otlp_endpoint:
        telemetry = configure_otlp(args.otlp_endpoint, service_name=args.path.stem)
        open_spans = reporting_spans(send)
        telemetry.tracer_provider.add_span_processor(open_spans)
        send(Resource(jsonable_attributes(telemetry.tracer_provider.resource.attributes)))
    echo = sys.__stderr__ if args.echo_prints else None
    sys.stdout = _PrintToLog("stdout", logging.INFO, echo)
    sys.stderr = _PrintToLog("stderr", logging.WARNING, echo)

    if args.wait:
        first = commands.readline()
        if not first or not isinstance(_command(first), Load):
            return 0
    started = time.perf_counter()
    try:
        definitions = load_definitions(args.path)
    except AgentFileError as exc:
        send(LoadError(str(exc), str(exc.path), exc.line, exc.code_frame(), exc.details))
        definitions = None
    if definitions is not None:
        use_snapshot_store(definitions.workflows, args.workflow_store)
        send(
            Ready(
                pid=os.getpid(),
                agents=tuple(describe(a) for a in definitions.agents.values()),
                workflows=tuple(describe_workflow(w) for w in definitions.workflows.values()),
                load_seconds=time.perf_counter() - started,
            )
        )
        if telemetry is not None:
            telemetry.flush()
    worker = Worker(
        definitions.agents if definitions else {},
        telemetry,
        send,
        definitions.workflows if definitions else {},
        open_spans=open_spans,
        memory_limit_mb=args.memory_limit_mb,
    )
    for line in commands:
        if not line.strip():
            continue
        command = _command(line)
        if command is not None and not worker.handle(command):
            break
    if telemetry is not None:
        telemetry.flush()
        telemetry.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
