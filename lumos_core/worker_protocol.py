"""The messages between the studio and its worker process (``lumos_core.runner``), typed once.

Both sides import this module: the worker (which imports only ``lumos_core``) and
``lumos_studio.sessions.worker``. Each message is a frozen dataclass; on the wire it is one JSON
object a line, its kind under ``"type"`` (the tag lives here only). ``decode`` refuses what is not
a known message with every field of the right type (``ProtocolError`` says what was wrong): a
worker running user code is not trusted to speak correctly.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import orjson

from lumos_core.typed_json import ShapeError, build

Json = Any  # JSON data: what ``orjson`` reads and writes


class ProtocolError(ValueError):
    """A line that is not a message of this protocol; the message says what was wrong."""


# --- descriptions (inside ``Ready``) ---


@dataclass(frozen=True, slots=True)
class SubAgentDescription:
    """An agent another agent runs: as a tool (``tool`` names it), or handed the run
    (``handoff``)."""

    agent: str
    tool: str
    handoff: bool = False


@dataclass(frozen=True, slots=True)
class ToolDescription:
    """A tool the studio can call by hand: its name, what it does, and an example of its
    arguments as JSON (defaults filled in, placeholders for the rest)."""

    name: str
    description: str = ""
    example: str = "{}"


@dataclass(frozen=True, slots=True)
class AgentDescription:
    """An agent as the studio lists it; ``max_steps`` bounds its model calls per run (its loop)."""

    name: str
    model: str
    tools: tuple[str, ...] = ()
    description: str = ""
    memory: bool = False
    sub_agents: tuple[SubAgentDescription, ...] = ()
    max_steps: int = 0
    callable_tools: tuple[ToolDescription, ...] = ()  # all its tools but hand-offs


@dataclass(frozen=True, slots=True)
class StepShape:
    """A workflow step as the studio draws it: its kind (``workflows.steps.StepKind``) and the
    steps it runs, in order. ``condition`` names a branch case's test ("" for the default) or a
    while loop's; ``bound`` is a loop's ``max_iterations`` / ``max_items``."""

    name: str
    kind: str
    children: tuple[StepShape, ...] = ()
    condition: str = ""
    bound: int = 0


@dataclass(frozen=True, slots=True)
class WorkflowDescription:
    """A workflow as the studio lists it: its top-level steps and, with an input schema, an
    example of the JSON it takes; ``snapshot_path`` is where its runs are saved, ``shape`` every
    step with what it contains (for the graph)."""

    name: str
    description: str = ""
    steps: tuple[str, ...] = ()
    has_input_schema: bool = False
    input_example: str = ""
    snapshot_path: str = ""
    shape: tuple[StepShape, ...] = ()


# --- studio → worker ---

PointName = Literal[
    "before_step", "after_step", "before_model", "after_model", "before_tool", "after_tool"
]


@dataclass(frozen=True, slots=True)
class BreakAt:
    """A breakpoint sent with a run (``lumos_core.debug.Breakpoint``): ``target`` a step, a
    tool or an agent name, None for any; with ``field``, only when the paused value's field (a
    dotted path: an argument, an input's field) reads ``equals`` (text, or JSON for others)."""

    point: PointName
    target: str | None = None
    field: str | None = None
    equals: str = ""


@dataclass(frozen=True, slots=True)
class Load:
    """Import the file now (a warm worker waits for this)."""

    tag: ClassVar[str] = "load"


@dataclass(frozen=True, slots=True)
class RunAgent:
    """One agent turn; ``history`` holds messages as ``message_to_dict`` writes them. With
    ``fork``, the turn is a fork (``lumos_core.agent_fork``): ``history`` is what the model is
    sent first, ``message`` is unused, and the run links to ``fork_trace_id``/``fork_span_id``."""

    tag: ClassVar[str] = "run"
    id: int
    agent: str
    message: str
    history: tuple[dict[str, Any], ...] = ()
    thread_id: str | None = None
    resource_id: str | None = None
    breakpoints: tuple[BreakAt, ...] = ()
    fork: bool = False
    fork_trace_id: str | None = None
    fork_span_id: str | None = None


@dataclass(frozen=True, slots=True)
class RunWorkflow:
    tag: ClassVar[str] = "run_workflow"
    id: int
    workflow: str
    input: Json = None
    breakpoints: tuple[BreakAt, ...] = ()


@dataclass(frozen=True, slots=True)
class ResumeWorkflow:
    tag: ClassVar[str] = "resume_workflow"
    id: int
    workflow: str
    run_id: str
    step: str | None = None
    resume_data: Json = None
    breakpoints: tuple[BreakAt, ...] = ()


@dataclass(frozen=True, slots=True)
class ForkWorkflow:
    """Run a saved run again from ``step`` as a new run (``Workflow.fork``); ``input`` is the
    step's new input when ``edited``, else it gets the input it had."""

    tag: ClassVar[str] = "fork_workflow"
    id: int
    workflow: str
    run_id: str
    step: str
    input: Json = None
    edited: bool = False
    breakpoints: tuple[BreakAt, ...] = ()


@dataclass(frozen=True, slots=True)
class CallTool:
    """One of ``agent``'s tools called by hand (``Agent.call_tool``); ``repeats_trace_id`` and
    ``repeats_span_id`` name the recorded call it repeats. Answered by an ``AgentResult`` whose
    output is the tool's result text, or a ``Failed`` (an error result: ``refused``)."""

    tag: ClassVar[str] = "call_tool"
    id: int
    agent: str
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)
    repeats_trace_id: str | None = None
    repeats_span_id: str | None = None
    breakpoints: tuple[BreakAt, ...] = ()


@dataclass(frozen=True, slots=True)
class Cancel:
    tag: ClassVar[str] = "cancel"
    id: int


@dataclass(frozen=True, slots=True)
class Shutdown:
    tag: ClassVar[str] = "shutdown"


@dataclass(frozen=True, slots=True)
class Decide:
    """The answer to a ``Paused`` run: ``value`` is the edit, or the stub of a skip."""

    tag: ClassVar[str] = "decide"
    id: int
    action: Literal["continue", "step", "edit", "skip", "abort"]
    value: Json = None


# --- worker → studio: loading ---


@dataclass(frozen=True, slots=True)
class Resource:
    """The worker's OpenTelemetry resource, sent once before any span."""

    tag: ClassVar[str] = "resource"
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ready:
    tag: ClassVar[str] = "ready"
    pid: int
    agents: tuple[AgentDescription, ...] = ()
    workflows: tuple[WorkflowDescription, ...] = ()
    load_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class LoadError:
    tag: ClassVar[str] = "load_error"
    message: str
    path: str
    line: int | None = None
    frame: str = ""
    details: str = ""


# --- worker → studio: while a run goes (``step`` names a workflow's step the piece is from) ---


@dataclass(frozen=True, slots=True)
class Delta:
    """Answer text, coalesced."""

    tag: ClassVar[str] = "delta"
    id: int
    text: str
    step: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    tag: ClassVar[str] = "tool_call"
    id: int
    name: str
    arguments: Json = None
    step: str | None = None


@dataclass(frozen=True, slots=True)
class ToolResult:
    tag: ClassVar[str] = "tool_result"
    id: int
    name: str
    is_error: bool = False
    step: str | None = None


@dataclass(frozen=True, slots=True)
class StepUpdate:
    """A workflow step started, finished, failed or suspended (``status``)."""

    tag: ClassVar[str] = "step"
    id: int
    step: str
    status: str


@dataclass(frozen=True, slots=True)
class Paused:
    """A run stopped at a breakpoint, waiting for a ``Decide`` (``lumos_core.debug``):
    ``value`` is what is about to be used, as JSON; ``refused`` why the last edit was not."""

    tag: ClassVar[str] = "paused"
    id: int
    point: PointName
    target: str
    value: Json = None
    agent: str | None = None
    workflow: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class SpanStarted:
    tag: ClassVar[str] = "span_started"
    trace_id: str
    span_id: str
    name: str
    start_ns: int
    run: int | None = None
    parent_span_id: str | None = None
    kind: str = "INTERNAL"
    attributes: dict[str, Any] = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""


@dataclass(frozen=True, slots=True)
class SpanEnded:
    tag: ClassVar[str] = "span_ended"
    trace_id: str
    span_id: str
    end_ns: int
    status_code: str = "UNSET"
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


# --- worker → studio: how a run ended (one of these per run) ---


@dataclass(frozen=True, slots=True)
class AgentResult:
    tag: ClassVar[str] = "result"
    id: int
    output: Json = None
    trace_id: str | None = None
    thread_id: str | None = None
    messages: tuple[dict[str, Any], ...] = ()
    usage: tuple[int, ...] = ()  # input tokens, output tokens
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class WorkflowResult:
    tag: ClassVar[str] = "workflow_result"
    id: int
    run_id: str | None
    status: Literal["success", "failed", "suspended"]
    output: Json = None
    suspended: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    failed_step: str | None = None
    trace_id: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Failed:
    """A run that failed: ``refused`` before anything ran (a bad input or resume), ``memory``
    past the worker's limit, ``raised`` the user code's exception class, ``message`` the
    model's or the loop's own words."""

    tag: ClassVar[str] = "failed"
    id: int
    error: str
    trace_id: str | None = None
    refused: bool = False
    memory: bool = False
    message: str = ""
    raised: str = ""
    traceback: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Cancelled:
    tag: ClassVar[str] = "cancelled"
    id: int
    trace_id: str | None = None
    killed: bool = False  # the run did not stop, so its worker was killed
    seconds: float = 0.0


Command = (
    Load | RunAgent | RunWorkflow | ResumeWorkflow | ForkWorkflow | CallTool | Cancel | Shutdown
    | Decide
)
RunStream = Delta | ToolCall | ToolResult | StepUpdate | Paused
RunEnd = AgentResult | WorkflowResult | Failed | Cancelled
Report = Resource | Ready | LoadError | RunStream | SpanStarted | SpanEnded | RunEnd
Message = Command | Report

_KINDS: dict[str, type[Any]] = {
    kind.tag: kind for kind in typing.get_args(Command) + typing.get_args(Report)
}


def encode(message: Message) -> bytes:
    """One message as its line on the wire (ending in a newline)."""
    body = {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}
    return orjson.dumps({"type": message.tag, **body}, default=_plain) + b"\n"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"{type(value).__name__} is not JSON data")


def decode(line: bytes | str) -> Message:
    """The message a line holds; ``ProtocolError`` when it is not one (not JSON, not an object,
    an unknown ``type``, a missing, unknown or mistyped field)."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"a message is a JSON object, not {type(data).__name__}")
    tag = data.pop("type", None)
    kind = _KINDS.get(tag) if isinstance(tag, str) else None
    if kind is None:
        raise ProtocolError(f"unknown message type {tag!r}")
    try:
        message: Message = build(kind, data, tag)
    except ShapeError as exc:
        raise ProtocolError(str(exc)) from None
    return message
