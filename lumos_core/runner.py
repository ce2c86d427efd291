"""The worker process: imports a user's agent file and runs agents on request.

``python -m lumos_core.runner --path agents.py --control-fd N --otlp-endpoint URL``

The studio talks to it over a socket passed as ``--control-fd`` (JSON lines), never over stdout:
user code prints, and those prints become log records tied to the span they ran in. Spans and logs
leave through the standard OTLP/HTTP exporters. If user code breaks, the worker reports it and
stays alive to say so; the studio restarts workers, the worker never restarts itself.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from lumos_core.agent import Agent
from lumos_core.loader import AgentFileError, load_agents
from lumos_core.messages import message_from_dict, message_to_dict
from lumos_core.telemetry.export import OtlpTelemetry, configure_otlp

Send = Callable[[dict[str, Any]], None]


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
    """A stdout/stderr stand-in: each printed line becomes a log record in the current span."""

    def __init__(self, stream_name: str, level: int) -> None:
        self._logger = logging.getLogger(f"print.{stream_name}")
        self._level = level
        self._stream_name = stream_name
        self._buffer = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            self._logger.log(self._level, line, extra={"log.iostream": self._stream_name})
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            line, self._buffer = self._buffer, ""
            self._logger.log(self._level, line, extra={"log.iostream": self._stream_name})


def describe(agent: Agent) -> dict[str, Any]:
    return {
        "name": agent.name,
        "model": agent.model.model_name,
        "tools": list(agent.tools),
        "description": agent.description or "",
        "memory": agent.memory is not None,
    }


class Worker:
    """Serves run/cancel/shutdown commands for the agents of one loaded file."""

    def __init__(self, agents: dict[str, Agent], telemetry: OtlpTelemetry | None, send: Send):
        self.agents = agents
        self.telemetry = telemetry
        self.send = send
        self.roots = _RootTraceRecorder()
        if telemetry is not None:
            telemetry.tracer_provider.add_span_processor(self.roots)
        self._runs: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = {}
        self._lock = threading.Lock()

    def handle(self, command: dict[str, Any]) -> bool:
        """Act on one command; False when the worker should exit."""
        kind = command.get("type")
        if kind == "run":
            threading.Thread(target=self._run, args=(command,), daemon=True).start()
        elif kind == "cancel":
            with self._lock:
                running = self._runs.get(command.get("id", -1))
            if running is not None:
                loop, task = running
                loop.call_soon_threadsafe(task.cancel)
        elif kind == "shutdown":
            return False
        return True

    def _run(self, command: dict[str, Any]) -> None:
        run_id = command["id"]
        agent = self.agents.get(command.get("agent", ""))
        if agent is None:
            self.send({"type": "failed", "id": run_id, "error": "no such agent", "trace_id": None})
            return
        history = [message_from_dict(m) for m in command.get("history", [])]
        started = time.perf_counter()

        async def go() -> Any:
            task = asyncio.current_task()
            assert task is not None
            with self._lock:
                self._runs[run_id] = (asyncio.get_running_loop(), task)
            return await agent.run(
                command["message"], message_history=history, thread_id=command.get("thread_id")
            )

        reply: dict[str, Any]
        try:
            result = asyncio.run(go())
        except asyncio.CancelledError:
            reply = {"type": "cancelled", "id": run_id, "trace_id": self._trace_id()}
        except Exception as exc:
            reply = {
                "type": "failed",
                "id": run_id,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": "".join(traceback.format_exception(exc)),
                "trace_id": self._trace_id(),
            }
        else:
            reply = {
                "type": "result",
                "id": run_id,
                "output": result.output,
                "trace_id": result.trace_id,
                "messages": [message_to_dict(m) for m in result.messages],
                "usage": [result.usage.input_tokens, result.usage.output_tokens],
            }
        finally:
            with self._lock:
                self._runs.pop(run_id, None)
        reply["seconds"] = time.perf_counter() - started
        sys.stdout.flush()
        if self.telemetry is not None:
            self.telemetry.flush()  # the trace is stored before the answer is shown
        self.send(reply)

    def _trace_id(self) -> str | None:
        return self.roots.by_thread.pop(threading.get_ident(), None)


def _channel(fd: int) -> tuple[Send, Any]:
    sock = socket.socket(fileno=fd)
    reader = sock.makefile("rb")
    lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        data = orjson.dumps(message) + b"\n"
        with lock:
            sock.sendall(data)

    return send, reader


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lumos_core.runner", description=__doc__)
    parser.add_argument("--path", type=Path, required=True, help="agent file or package")
    parser.add_argument("--control-fd", type=int, required=True, help="socket to the studio")
    parser.add_argument("--otlp-endpoint", help="OTLP/HTTP base URL (no export when absent)")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="start warm and import the file only on a 'load' command (fast reloads)",
    )
    args = parser.parse_args(argv)

    send, commands = _channel(args.control_fd)
    telemetry = None
    if args.otlp_endpoint:
        telemetry = configure_otlp(args.otlp_endpoint, service_name=args.path.stem)
    sys.stdout = _PrintToLog("stdout", logging.INFO)
    sys.stderr = _PrintToLog("stderr", logging.WARNING)

    if args.wait:
        first = commands.readline()
        if not first or orjson.loads(first).get("type") != "load":
            return 0
    started = time.perf_counter()
    try:
        agents = load_agents(args.path)
    except AgentFileError as exc:
        send(
            {
                "type": "load_error",
                "message": str(exc),
                "path": str(exc.path),
                "line": exc.line,
                "frame": exc.code_frame(),
                "details": exc.details,
            }
        )
        agents = None
    if agents is not None:
        send(
            {
                "type": "ready",
                "pid": os.getpid(),
                "agents": [describe(a) for a in agents.values()],
                "load_seconds": time.perf_counter() - started,
            }
        )
        if telemetry is not None:
            telemetry.flush()
    worker = Worker(agents or {}, telemetry, send)
    for line in commands:
        if not line.strip():
            continue
        if not worker.handle(orjson.loads(line)):
            break
    if telemetry is not None:
        telemetry.flush()
        telemetry.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
