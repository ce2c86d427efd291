"""One worker process (``python -m lumos_core.runner``), the socket to it and its output.

What it says goes to its owner (the ``WorkerSession``): each message, its output, its end. The
process runs in a process group of its own so that a kill takes a tool's children with it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Protocol

from lumos_core.telemetry import semconv as sc
from lumos_core.worker_protocol import Command, Load, ProtocolError, Shutdown, decode, encode
from lumos_studio.sessions.base import AgentInfo, SessionEvent
from lumos_studio.sessions.worker_spans import ReportedSpans


class WorkerOwner(Protocol):
    """What a worker process reports to (the session that started it), from its threads."""

    echo_prints: bool

    def on_worker_message(self, worker: WorkerProcess, message: object) -> None: ...

    def on_worker_exit(self, worker: WorkerProcess) -> None: ...

    def emit(self, event: SessionEvent) -> None: ...


class WorkerProcess:
    """One ``python -m lumos_core.runner`` child and the socket to it."""

    _ids = itertools.count(1)

    def __init__(
        self,
        path: Path,
        endpoint: str | None,
        owner: WorkerOwner,
        workflow_store: Path | None = None,
        memory_limit_mb: int = 0,
    ) -> None:
        self.number = next(self._ids)
        self.owner = owner
        self.agents: tuple[AgentInfo, ...] | None = None
        self.load_requested_at = 0.0
        self.end_reason: str | None = None  # why the studio ended it (None: it ended itself)
        self.spans = ReportedSpans()
        ours, theirs = socket.socketpair()
        command = [
            sys.executable,
            "-m",
            "lumos_core.runner",
            "--path",
            str(path),
            "--control-fd",
            str(theirs.fileno()),
            "--wait",
            "--memory-limit-mb",
            str(memory_limit_mb),
        ]
        if endpoint:
            command += ["--otlp-endpoint", endpoint]
        if owner.echo_prints:
            command.append("--echo-prints")
        if workflow_store is not None:
            command += ["--workflow-store", str(workflow_store)]
        self.process = subprocess.Popen(
            command,
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=_worker_environment(),
            start_new_session=True,  # its own process group: killed whole, with a tool's children
        )
        theirs.close()
        self._socket = ours
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read_messages, daemon=True).start()
        threading.Thread(target=self._read_output, daemon=True).start()

    def send(self, message: Command) -> bool:
        try:
            with self._send_lock:
                self._socket.sendall(encode(message))
            return True
        except OSError:
            return False

    def load(self) -> None:
        self.load_requested_at = time.perf_counter()
        self.send(Load())

    def stop(self, grace: float = 1.0) -> None:
        """Ask politely, then kill; what the tools started goes with it either way."""
        self.end_reason = self.end_reason or "killed"
        self.send(Shutdown())
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
        self.kill_group()
        self._socket.close()

    def kill(self, reason: str = "killed") -> None:
        self.end_reason = self.end_reason or reason
        self.kill_group()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def kill_group(self) -> None:
        """Kill its process group: processes a tool started, even after the worker is gone
        (a group's id is not handed out again while any member lives; once none does, pids are
        allocated in order, so another process taking it within moments is very unlikely)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def _read_messages(self) -> None:
        try:
            with self._socket.makefile("rb") as lines:
                for line in lines:
                    if line.strip():
                        self.owner.on_worker_message(self, decode(line))
        except ProtocolError as exc:  # a worker that speaks nonsense is ended like a dead one
            self.owner.emit(SessionEvent(notice=f"the worker sent a bad message: {exc}"))
            self.kill("it sent a bad message")
        except (OSError, ValueError):
            pass  # killed or closed: the same as an exit
        self.owner.on_worker_exit(self)

    def _read_output(self) -> None:
        """Output that bypassed the print capture (crashes, C extensions, faulthandler)."""
        assert self.process.stdout is not None
        with self.process.stdout:
            for raw in self.process.stdout:
                text = raw.decode(errors="replace").rstrip()
                if text:
                    self.owner.emit(SessionEvent(output=text))


def _worker_environment() -> dict[str, str]:
    """The studio's environment, unbuffered, and the studio's pid on the worker's resource: spans
    left running by a studio that is gone are then told from those of other programs."""
    attributes = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    ours = f"{sc.LUMOS_STUDIO_PID}={os.getpid()}"
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "OTEL_RESOURCE_ATTRIBUTES": f"{attributes},{ours}" if attributes else ours,
    }
