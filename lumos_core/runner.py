"""The worker process: imports a user's agent file and runs agents on request.

``python -m lumos_core.runner --path agents.py --control-fd N --otlp-endpoint URL``

The studio talks to it over a socket passed as ``--control-fd`` (JSON lines), never over stdout:
user code prints, and those prints become log records tied to the span they ran in. Spans and logs
leave through the standard OTLP/HTTP exporters. If user code breaks, the worker reports it and
stays alive to say so; the studio restarts workers, the worker never restarts itself.

Messages are the typed ones of ``lumos_core.worker_protocol`` (one JSON object a line). Studio →
worker: ``Load``, ``RunAgent``, ``RunWorkflow`` / ``ResumeWorkflow`` / ``ForkWorkflow``,
``CallTool``, ``Decide``, ``Cancel``, ``Shutdown``; a line that is none of them is refused on
stderr. Worker → studio: ``Ready`` (agents and workflows) or ``LoadError``; while a turn runs,
``Delta`` (answer text, coalesced to one message every ``run_reports.DELTA_INTERVAL`` at most),
``ToolCall``, ``ToolResult``, ``StepUpdate`` and ``Paused`` (at a breakpoint); then one of
``AgentResult``, ``WorkflowResult``, ``Failed`` or ``Cancelled``. With telemetry on, the worker
also tells the studio each span's start and end at once (``Resource``, ``SpanStarted``,
``SpanEnded``): OTLP exports in batches, and a worker that dies leaves the studio to close the
spans it had open, and to keep those it had ended but not yet exported.

The worker caps its own data memory (``--memory-limit-mb``); a run past it fails with a message
saying so. The studio starts it in a process group of its own and kills the group.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from lumos_core.loader import AgentFileError, load_definitions
from lumos_core.memory_limit import apply_memory_limit, memory_limit_from_env
from lumos_core.run_guard import OpenSpans, jsonable_attributes, reporting_spans
from lumos_core.run_reports import Send
from lumos_core.session_catalog import describe, describe_workflow, use_snapshot_store
from lumos_core.worker_protocol import (
    Command,
    Load,
    LoadError,
    ProtocolError,
    Ready,
    Report,
    Resource,
    decode,
    encode,
)
from lumos_core.worker_runs import Worker


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
    if isinstance(message, Command):  # the protocol's own list of what the studio sends
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
