"""What the app needs from a session, whether agents run in this process or in a worker."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # the app's start need not import the agent framework (pydantic and all)
    from lumos_core import Agent, Message
    from lumos_core.debug import Decision
    from lumos_core.worker_protocol import (  # its ~30 message classes: ~20 ms to define
        AgentDescription,
        BreakAt,
        Paused,
        StepShape,
        SubAgentDescription,
        ToolDescription,
        WorkflowDescription,
    )


def workflow_store_beside(store_path: Path) -> Path:
    """Where the studio keeps workflow runs: ``workflows.db`` beside its store, so a project's
    suspended runs are found again by the next studio session."""
    return store_path.parent / "workflows.db"

@dataclass(frozen=True, slots=True)
class AgentInfo:
    """An agent or a workflow as the UI lists it (the object itself may live in another process).

    A workflow (``kind == "workflow"``) has ``steps`` instead of a model and tools; with an input
    schema, its input is JSON and ``input_example`` shows the shape.
    """

    name: str
    model: str
    tools: tuple[str, ...] = ()
    description: str = ""
    has_memory: bool = False  # threads live in the agent's memory, not in the studio
    kind: Literal["agent", "workflow"] = "agent"
    steps: tuple[str, ...] = ()
    has_input_schema: bool = False
    input_example: str = ""
    snapshot_path: str = ""  # a workflow's saved runs ("": the session's file beside the store)
    shape: tuple[StepShape, ...] = ()  # a workflow's steps with what they contain (the graph)
    sub_agents: tuple[SubAgentDescription, ...] = ()  # an agent's agents as tools or hand-offs
    max_steps: int = 0  # an agent's bound on model calls per run
    callable_tools: tuple[ToolDescription, ...] = ()  # what ``c`` in the agents can call

    @classmethod
    def of(cls, agent: Agent) -> AgentInfo:
        from lumos_core.session_catalog import describe

        return cls.from_wire(describe(agent))

    @classmethod
    def from_wire(cls, described: AgentDescription | WorkflowDescription) -> AgentInfo:
        """From ``session_catalog``'s ``describe`` or ``describe_workflow``: one description for
        both kinds of session."""
        from lumos_core.worker_protocol import WorkflowDescription

        if isinstance(described, WorkflowDescription):
            return cls(
                described.name,
                "",
                description=described.description,
                kind="workflow",
                steps=described.steps,
                has_input_schema=described.has_input_schema,
                input_example=described.input_example,
                snapshot_path=described.snapshot_path,
                shape=described.shape,
            )
        return cls(
            described.name,
            described.model,
            described.tools,
            described.description,
            described.memory,
            sub_agents=described.sub_agents,
            max_steps=described.max_steps,
            callable_tools=described.callable_tools,
        )


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How one chat turn ended: an answer, an error (with traceback) or a cancellation."""

    output: str | None = None
    trace_id: str | None = None
    messages: tuple[Message, ...] = ()
    error: str | None = None
    traceback: str = ""
    cancelled: bool = False
    raised: str = ""  # the exception's class when user code raised (not the model, not a crash)
    thread_id: str | None = None  # the conversation thread the turn ran in (agents with memory)
    message: str = ""  # the error without its class name, when there is one


@dataclass(frozen=True, slots=True)
class PauseNote:
    """A pause of a running turn at a breakpoint and what was decided there, noted by the studio
    where the run paused. An edit or a stub is not ``taken`` (nor shown) until the run goes on
    with it: the run may refuse it and ask again."""

    point: str  # where it paused: "before_tool", "after_step", …
    target: str  # the tool, step or agent it paused at
    decision: str  # as the chat words it: "continue", "step", "edited to …", "aborted", …
    taken: bool = True


@dataclass(frozen=True, slots=True)
class StreamUpdate:
    """A piece of a running turn, for the chat: more answer text, a tool call starting or
    ending, a workflow's step starting or ending, or (from the studio's debugger) a pause.
    ``text`` pieces concatenate to what the model wrote so far."""

    text: str = ""
    tool: str | None = None  # the tool's name, on a tool event
    arguments: dict[str, Any] = field(default_factory=dict)
    finished: bool = False  # the tool returned (``failed`` when its result is an error)
    failed: bool = False
    step: str | None = None  # in a workflow: the step it comes from
    step_status: str = ""  # a step event: "running", then "success", "failed" or "suspended"
    pause: PauseNote | None = None  # a pause, in order with the run's other pieces


StreamListener = Callable[[StreamUpdate], None]
#: What to do at a breakpoint; called on a thread of its own, so it may block until a person
#: decides. A refused edit comes back as another pause with ``refused`` set.
PauseHandler = Callable[["Paused"], "Decision"]


@dataclass(frozen=True, slots=True)
class WorkflowOutcome:
    """How one workflow run (or resume) ended. ``status`` is None when nothing ran: the input or
    resume request was refused (``error`` says why) or the session could not run it."""

    status: Literal["success", "failed", "suspended"] | None = None
    run_id: str | None = None
    output: Any = None  # JSON data (pydantic models dumped)
    suspended: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    failed_step: str | None = None
    traceback: str = ""
    trace_id: str | None = None
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """The agent file failed to load: where, and the source around it."""

    message: str
    path: str
    line: int | None = None
    frame: str = ""
    details: str = ""


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Something the app should show: new agents, a reload, a load problem, worker output."""

    agents: tuple[AgentInfo, ...] | None = None
    problem: LoadProblem | None = None
    reloaded_in: float | None = None
    output: str | None = None
    notice: str | None = None
    stale: bool = False
    extra: dict[str, object] = field(default_factory=dict)


Listener = Callable[[SessionEvent], None]


class Session(ABC):
    """A source of agents to chat with. ``run`` blocks: call it from a thread worker."""

    source: str
    agents: tuple[AgentInfo, ...] = ()
    listener: Listener | None = None

    def emit(self, event: SessionEvent) -> None:
        if self.listener is not None:
            self.listener(event)

    def start(self) -> None:  # noqa: B027 (a no-op by default)
        """Load the agents (and start watching, for sessions that reload)."""

    @abstractmethod
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
        """Run one turn of ``agent`` in ``thread_id``; never raises for errors in user code.

        ``history`` is the conversation so far for agents without memory (empty otherwise).
        ``on_event`` hears the answer as it streams (on the session's own thread); ``breakpoints``
        pause it and ``on_pause`` decides at each (none: it goes on).
        """

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
        """Run ``workflow`` on ``input``, or resume its suspended run ``resume`` with
        ``resume_data``; blocks like ``run`` and never raises for errors in user code.
        ``on_event`` hears its steps start and end, and its agent steps' text and tools."""
        return WorkflowOutcome(error="this session cannot run workflows")

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
        """Run ``agent`` again from a model call that was sent ``messages`` (ending with the
        user's message or the tools' results); the run links to ``origin`` (its trace and span
        ids). Memory is left alone (``lumos_core.agent_fork``)."""
        return RunOutcome(error="this session cannot fork agent runs")

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
        """Run the saved run ``run_id`` again from ``step`` as a new run (``Workflow.fork``):
        with ``edited``, ``step`` gets ``input`` instead of the input it had."""
        return WorkflowOutcome(error="this session cannot fork workflow runs")

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
        """Call ``agent``'s ``tool`` by hand (``Agent.call_tool``), repeating the recorded call
        ``repeats`` (its trace and span ids) if given: ``output`` is the result's text, an error
        result is ``error`` (a tool that raised, ``raised`` and ``traceback`` too)."""
        return RunOutcome(error="this session cannot call tools")

    def cancel(self) -> bool:
        """Stop the running turn; False when this session cannot cancel."""
        return False

    def stop(self) -> None:  # noqa: B027 (a no-op by default)
        """Release processes and watchers."""
