"""Agents in a worker process that is replaced, not patched, when their source changes.

One warm spare process is kept ready (interpreter, lumos_core and OpenTelemetry already imported),
so a reload only imports the user's file: well under a second. A load that fails leaves the last
good worker serving, its agents marked stale, until the file is fixed.

Every run ends: a worker that dies (a crash, ``os._exit``, a kill) is restarted, its runs fail
saying so, and the spans it had open are closed ERROR with the reason (``worker exited with code
N``, ``cancelled``, ``killed``) through ``record`` (the store writer's ``submit``); the worker
tells the studio of each span as it starts and ends (see ``lumos_core.runner``), so spans it had
not yet exported are written too. Workers run in a process group of their own, killed whole, so a
tool's child processes go with them; ``memory_limit_mb`` caps each one's memory. Sending runs
and waiting for their replies is the base class's, ``sessions.worker_runs``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path

from lumos_core.debug import Continue, Decision
from lumos_core.debug_remote import decide_message
from lumos_core.memory_limit import memory_limit_from_env
from lumos_core.worker_protocol import (
    AgentDescription,
    AgentResult,
    Cancelled,
    Delta,
    Failed,
    LoadError,
    Paused,
    Ready,
    Resource,
    RunEnd,
    SpanEnded,
    SpanStarted,
    StepUpdate,
    ToolCall,
    ToolResult,
    WorkflowDescription,
    WorkflowResult,
)
from lumos_studio.records import SpanRecord
from lumos_studio.sessions.base import (
    AgentInfo,
    LoadProblem,
    PauseHandler,
    SessionEvent,
    StreamListener,
    StreamUpdate,
)
from lumos_studio.sessions.watch import FileWatcher
from lumos_studio.sessions.worker_process import WorkerProcess
from lumos_studio.sessions.worker_runs import WorkerRuns

RESTART_ATTEMPTS = 3  # workers that die while loading, in a row, before the studio gives up

RecordSpan = Callable[[SpanRecord], object]


class WorkerSession(WorkerRuns):
    """Runs the agents and workflows of ``path`` in a worker; reloads on save when ``watch`` is
    on. Workflows keeping the default snapshot file use ``workflow_store`` (the studio's) instead.
    ``record`` stores the spans the studio closes for a dead worker; ``memory_limit_mb`` (default
    ``$LUMOS_WORKER_MEMORY_MB`` or 4096, 0 for none) caps each worker. ``only`` keeps the agents
    and workflows it names; a name the file does not define is said as a notice, or as a load
    problem when none is left. With ``explain_empty`` (the studio), a file that defines none at
    all is a load problem too, saying how to define one.
    """

    def __init__(
        self,
        path: Path,
        otlp_endpoint: str | None,
        *,
        watch: bool = True,
        only: tuple[str, ...] = (),
        workflow_store: Path | None = None,
        record: RecordSpan | None = None,
        memory_limit_mb: int | None = None,
        restart: bool = True,
        echo_prints: bool = False,
        explain_empty: bool = False,
    ) -> None:
        self.path = path.resolve()
        self.explain_empty = explain_empty
        self.echo_prints = echo_prints  # what user code prints also comes as output (run)
        self.record = record
        self.restart = restart  # a worker that dies is replaced (off for one-shot runs)
        self.memory_limit_mb = (
            memory_limit_from_env() if memory_limit_mb is None else memory_limit_mb
        )
        self._failed_starts = 0  # workers that died loading, in a row
        self.workflow_store = workflow_store.resolve() if workflow_store is not None else None
        self.only = only
        self.source = str(self.path)
        self.endpoint = otlp_endpoint
        self.watch = watch
        self.current: WorkerProcess | None = None
        self._candidate: WorkerProcess | None = None
        self._spare: WorkerProcess | None = None
        self._pending: dict[int, tuple[threading.Event, list[RunEnd]]] = {}
        self._listeners: dict[int, StreamListener] = {}
        self._pause_handlers: dict[int, PauseHandler] = {}
        self._run_workers: dict[int, WorkerProcess] = {}
        self._active_run: int | None = None
        self._run_ids = itertools.count(1)
        self._lock = threading.RLock()
        self._watcher: FileWatcher | None = None
        self._stopped = False

    # --- lifecycle ---

    def start(self) -> None:
        self.reload()
        if self.watch:
            root = self.path if self.path.is_dir() else self.path.parent
            self._watcher = FileWatcher(root, self._on_files_changed)
            self._watcher.start()

    def stop(self) -> None:
        self._stopped = True
        if self._watcher is not None:
            self._watcher.stop()
        with self._lock:
            workers = [w for w in (self.current, self._candidate, self._spare) if w is not None]
            self.current = self._candidate = self._spare = None
        for worker in workers:
            worker.stop(grace=0.5)

    def reload(self) -> None:
        """Load the file in the warm spare; it replaces the current worker once ready."""
        with self._lock:
            if self._stopped:
                return
            if self._candidate is not None:
                self._candidate.kill()
            spare = self._spare
            alive = spare is not None and spare.process.poll() is None
            candidate = spare if spare is not None and alive else self._new_process()
            self._candidate = candidate
            self._spare = self._new_process()
        candidate.load()

    def _new_process(self) -> WorkerProcess:
        return WorkerProcess(
            self.path, self.endpoint, self, self.workflow_store, self.memory_limit_mb
        )

    def _on_files_changed(self, changed: list[str]) -> None:
        names = ", ".join(sorted({Path(p).name for p in changed}))
        self.emit(SessionEvent(notice=f"{names} changed, reloading…"))
        self.reload()

    # --- messages from workers (on their reader threads) ---

    def on_worker_message(self, worker: WorkerProcess, message: object) -> None:
        match message:
            case Ready():
                self._on_ready(worker, message)
            case LoadError():
                with self._lock:
                    if worker is self._candidate:
                        self._candidate = None
                worker.stop(grace=0.2)
                problem = LoadProblem(
                    message.message, message.path, message.line, message.frame, message.details
                )
                self.emit(
                    SessionEvent(agents=self.agents, problem=problem, stale=bool(self.agents))
                )
            case Delta() | ToolCall() | ToolResult() | StepUpdate():
                self._on_stream(message)
            case Paused():
                with self._lock:
                    handler = self._pause_handlers.get(message.id)
                threading.Thread(
                    target=self._answer_pause, args=(worker, message, handler), daemon=True
                ).start()
            case SpanStarted() | SpanEnded() | Resource():
                worker.spans.heard(message)
            case AgentResult() | WorkflowResult() | Failed() | Cancelled():
                worker.spans.exported()  # the worker flushed before it answered
                if isinstance(message, Cancelled):  # spans of a run that did not unwind
                    self._close_spans(worker, "cancelled", run=message.id)
                with self._lock:
                    waiting = self._pending.get(message.id)
                if waiting is not None:
                    waiting[1].append(message)
                    waiting[0].set()

    def _answer_pause(
        self, worker: WorkerProcess, paused: Paused, handler: PauseHandler | None
    ) -> None:
        """Ask the run's pause handler (continue when it has none) and send its decision."""
        decision: Decision = Continue()
        if handler is not None:
            try:
                decision = handler(paused)
            except Exception as exc:  # a handler's bug must not leave the run paused forever
                self.emit(SessionEvent(notice=f"pause handler failed: {exc!r}"))
        worker.send(decide_message(paused.id, decision))

    def _close_spans(self, worker: WorkerProcess, reason: str, run: int | None = None) -> None:
        """Store the records ending what a stopped worker (or run) left (``ReportedSpans``)."""
        records = worker.spans.closing(reason, run)
        if self.record is None:
            return
        for record in records:
            try:
                self.record(record)
            except Exception as exc:  # the reader thread must survive a store's trouble
                self.emit(SessionEvent(notice=f"could not close a span: {exc!r}"))
                return

    def _on_stream(self, message: Delta | ToolCall | ToolResult | StepUpdate) -> None:
        """A piece of a running turn, passed on in the order the worker sent it."""
        with self._lock:
            listener = self._listeners.get(message.id)
        if listener is None:
            return
        match message:  # a workflow's piece names the step it comes from
            case Delta():
                update = StreamUpdate(text=message.text, step=message.step)
            case StepUpdate():
                update = StreamUpdate(step=message.step or "?", step_status=message.status)
            case ToolCall():
                update = StreamUpdate(
                    tool=message.name, arguments=message.arguments or {}, step=message.step
                )
            case ToolResult():
                update = StreamUpdate(
                    tool=message.name, finished=True, failed=message.is_error, step=message.step
                )
        try:
            listener(update)
        except Exception as exc:  # the reader thread must survive a listener's bug
            self.emit(SessionEvent(notice=f"stream listener failed: {exc!r}"))

    def _on_ready(self, worker: WorkerProcess, message: Ready) -> None:
        described: list[AgentDescription | WorkflowDescription] = [
            *message.agents, *message.workflows
        ]
        agents = tuple(
            AgentInfo.from_wire(a) for a in described if not self.only or a.name in self.only
        )
        with self._lock:
            if worker is not self._candidate:
                return
            old, self.current, self._candidate = self.current, worker, None
            self.agents = worker.agents = agents
            self._failed_starts = 0
        elapsed = time.perf_counter() - worker.load_requested_at
        problem, notice = self._unoffered(message, agents)
        self.emit(SessionEvent(agents=agents, reloaded_in=elapsed, problem=problem,
                               notice=notice))
        if old is not None:
            threading.Thread(target=self._retire, args=(old,), daemon=True).start()

    def _unoffered(self, ready: Ready, offered: tuple[AgentInfo, ...]
                   ) -> tuple[LoadProblem | None, str | None]:
        """What to say when a good load offers less than asked: a file that defines no agents or
        workflows (``explain_empty``), or ``--agent`` names it does not define (a problem when
        none is left, else a notice); a save may yet define them, so the studio stays open."""
        agents = [a.name for a in ready.agents]
        workflows = [w.name for w in ready.workflows]
        if not agents and not workflows:
            if not self.explain_empty:
                return None, None
            return LoadProblem(
                f"{self.path.name} defines no agents or workflows", str(self.path),
                details="The studio lists the Agent and Workflow objects assigned at the top "
                        "level of the file, e.g.\n"
                        "from lumos_core import Agent\n"
                        'assistant = Agent(name="assistant", model="scripted")',
            ), None
        unknown = [name for name in dict.fromkeys(self.only)
                   if name not in agents and name not in workflows]
        if not unknown:
            return None, None
        from lumos_studio.sessions.discovery import unknown_name  # the framework's loader too

        said = "; ".join(unknown_name(name, self.path.name, agents, workflows)
                         for name in unknown)
        if offered:
            return None, said
        return LoadProblem(
            said, str(self.path),
            details=f"--agent keeps only what it names: define {unknown[0]!r} in the file, "
                    f"or start dev with --agent {(agents or workflows)[0]}",
        ), None

    def _retire(self, worker: WorkerProcess) -> None:
        """Let a replaced worker finish the turn it is running, then stop it."""
        while True:
            with self._lock:
                busy = any(w is worker for w in self._run_workers.values())
            if not busy:
                break
            time.sleep(0.05)
        worker.stop()

    def on_worker_exit(self, worker: WorkerProcess) -> None:
        """A worker's socket closed: close its spans and fail its runs, saying why; if it was
        serving (or about to), bring up a new one."""
        code = worker.process.wait()
        worker.kill_group()  # what its tools started dies with it
        exited = f"worker exited with code {code}"
        with self._lock:  # one step: a run never sees no worker and none starting
            orphaned = [r for r, w in self._run_workers.items() if w is worker]
            was_current = worker is self.current
            was_candidate = worker is self._candidate
            if was_current:
                self.current = None
            if was_candidate:
                self._candidate = None
                if worker.end_reason is None:
                    self._failed_starts += 1
            if worker is self._spare:
                self._spare = None
            restart = (
                (was_current or was_candidate)
                and self.restart
                and not self._stopped
                and self._failed_starts < RESTART_ATTEMPTS
            )
            if restart:
                self.reload()
        tools = {run_id: worker.spans.running_tool(run_id) for run_id in orphaned}
        self._close_spans(worker, worker.end_reason or exited)
        for run_id in orphaned:
            tool = tools[run_id]
            error = "the " + exited + (f" while running tool {tool!r}" if tool else "")
            self.on_worker_message(
                worker, Failed(run_id, error + ("; restarted" if restart and was_current else ""))
            )
        if restart and was_current and worker.end_reason is None:  # a kill by us was told
            self.emit(SessionEvent(notice=f"the {exited}; restarted"))
        elif was_candidate and not restart and not self._stopped:  # it died importing the file
            problem = LoadProblem(f"the {exited} while loading {self.path.name}", str(self.path))
            self.emit(SessionEvent(agents=self.agents, problem=problem, stale=bool(self.agents)))
