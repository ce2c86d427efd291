"""A session made once the studio has drawn its first frame.

Building the bundled demo's session imports the agent framework (pydantic, the OTel SDK's
tracing) and the demo's agents: ~200 ms that the first frame does not need. The app calls
``start`` on a thread after that frame, as it does for a worker session, which also has no agents
until its first load; this one makes its session then and passes everything on to it.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lumos_studio.sessions.base import (
    LoadProblem,
    PauseHandler,
    RunOutcome,
    Session,
    SessionEvent,
    StreamListener,
    WorkflowOutcome,
)

if TYPE_CHECKING:
    from lumos_core import Message
    from lumos_core.worker_protocol import BreakAt

NOT_LOADED = "the agents are still loading: try again in a moment"


class DeferredSession(Session):
    """A session ``make`` builds when ``start`` is called; until then it has no agents."""

    def __init__(self, source: str, make: Callable[[], Session]) -> None:
        self.source = source
        self._make = make
        self._session: Session | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> None:
        try:
            session = self._make()
        except Exception as exc:  # the demo's own code: shown, never a crash
            self.emit(SessionEvent(problem=LoadProblem(
                message=f"{type(exc).__name__}: {exc}", path=self.source,
                details=traceback.format_exc(),
            )))
            return
        with self._lock:  # a stop meanwhile waits, then finds the session to stop
            if self._stopped:  # the app quit while it was being made
                session.stop()
                return
            session.listener = self.listener
            session.start()
            self._session = session
            self.agents = session.agents
        self.emit(SessionEvent(agents=self.agents))

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            session = self._session
        if session is not None:
            session.stop()

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
        if self._session is None:
            return RunOutcome(error=NOT_LOADED)
        return self._session.run(agent, text, history, thread_id, on_event, resource_id,
                                 breakpoints=breakpoints, on_pause=on_pause)

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
        if self._session is None:
            return WorkflowOutcome(error=NOT_LOADED)
        return self._session.run_workflow(
            workflow, input, resume=resume, resume_data=resume_data, on_event=on_event,
            breakpoints=breakpoints, on_pause=on_pause,
        )

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
        if self._session is None:
            return RunOutcome(error=NOT_LOADED)
        return self._session.fork_agent(agent, messages, origin, on_event=on_event,
                                        breakpoints=breakpoints, on_pause=on_pause)

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
        if self._session is None:
            return WorkflowOutcome(error=NOT_LOADED)
        return self._session.fork_workflow(
            workflow, run_id, step, input=input, edited=edited, on_event=on_event,
            breakpoints=breakpoints, on_pause=on_pause,
        )

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
        if self._session is None:
            return RunOutcome(error=NOT_LOADED)
        return self._session.call_tool(agent, tool, arguments, repeats, breakpoints=breakpoints,
                                       on_pause=on_pause)

    def cancel(self) -> bool:
        return self._session is not None and self._session.cancel()
