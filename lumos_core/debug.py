"""A debugger for runs: breakpoints in the agent loop and the workflow engine, a pause that shows
what is about to happen, and a decision (continue, step, edit, skip, abort).

Attach one with ``with attached(Debugger(...)):`` around a run (or ``Workflow.run(debugger=...)``);
agents and workflows read it once per run, and without one each pause point costs one ``is None``
check. A ``Debugger`` is driven either by a ``decide`` coroutine given to it, or from another
task through its queue of ``Pause`` objects (``await debugger.pauses.get()``, then
``pause.answer(...)``): both async and typed, so a terminal UI or a script can drive it alike.

An edit is validated like the value it replaces (a step's input against its schema, a tool's
arguments against its argument model, a model answer as a message); a bad edit is refused with
the reason, and the same pause is asked again with ``refused`` set. What was decided is recorded
on the span of the pause (``lumos.debug.{point}.*``), so the trace says what was changed by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from opentelemetry import trace

from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import capturing_spans


class PausePoint(StrEnum):
    """Where a run can pause. ``target`` of a pause is the step, the tool, or (for the model
    points) the agent."""

    BEFORE_STEP = "before_step"
    AFTER_STEP = "after_step"
    BEFORE_MODEL = "before_model"
    AFTER_MODEL = "after_model"
    BEFORE_TOOL = "before_tool"
    AFTER_TOOL = "after_tool"


@dataclass(frozen=True, slots=True)
class ModelCall:
    """The request about to go to the model (``BEFORE_MODEL``'s value): messages as
    ``message_to_dict`` writes them; an edit gives the messages to send instead."""

    instructions: str | None
    messages: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...]
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PauseRequest:
    """A run paused: where, and the value about to be used (a step's input or output, a
    ``ModelCall``, the model's answer as a message dict, a tool's arguments or result text).
    ``refused`` says why the last edit of this same pause was refused."""

    point: PausePoint
    target: str
    value: Any
    agent: str | None = None
    workflow: str | None = None
    run_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class Breakpoint:
    """Pause at ``point`` for ``target`` (any when None) when ``when(request)`` holds (always
    when None): a tool name, a step name, an argument's value, an input's field."""

    point: PausePoint
    target: str | None = None
    when: Callable[[PauseRequest], bool] | None = None

    def matches(self, request: PauseRequest) -> bool:
        if self.point is not request.point:
            return False
        if self.target is not None and self.target != request.target:
            return False
        return self.when is None or bool(self.when(request))


@dataclass(frozen=True, slots=True)
class Continue:
    """Go on to the next breakpoint."""


@dataclass(frozen=True, slots=True)
class StepNext:
    """Go on, and pause again at the very next pause point."""


@dataclass(frozen=True, slots=True)
class Edit:
    """Use ``value`` instead of what the pause showed (validated first)."""

    value: Any


@dataclass(frozen=True, slots=True)
class Skip:
    """Do not run what was about to run; ``result`` stands in for its result (validated)."""

    result: Any = None


@dataclass(frozen=True, slots=True)
class Abort:
    """End the run here (``RunAborted``)."""

    reason: str = "aborted in the debugger"


Decision = Continue | StepNext | Edit | Skip | Abort
Decide = Callable[[PauseRequest], Awaitable[Decision]]


class RunAborted(Exception):
    """A debugger decided to abort the run."""


class EditRefused(ValueError):
    """An edit or a stub does not fit; the message says why (for the next ``PauseRequest``)."""


@dataclass(frozen=True, slots=True)
class Resumed:
    """How a pause point goes on: with ``value`` (the original or an edit), or ``skipped``
    with ``value`` as the stubbed result."""

    value: Any
    skipped: bool = False


@dataclass(slots=True)
class Pause:
    """A pause waiting in ``Debugger.pauses`` for someone to ``answer`` it."""

    request: PauseRequest
    _answer: asyncio.Future[Decision] = field(repr=False)

    def answer(self, decision: Decision) -> None:
        """Decide (from any task of the run's event loop, or another thread)."""
        loop = self._answer.get_loop()
        loop.call_soon_threadsafe(self._settle, decision)

    def _settle(self, decision: Decision) -> None:
        if not self._answer.done():
            self._answer.set_result(decision)


Validate = Callable[[Any], Any]  # the value as it will be used; raises EditRefused/ValueError


class Debugger:
    """Breakpoints and a way to decide at each pause (``decide``, or the ``pauses`` queue)."""

    def __init__(
        self, breakpoints: Sequence[Breakpoint] = (), decide: Decide | None = None
    ) -> None:
        self.breakpoints = list(breakpoints)
        self.decide = decide
        self.stepping = False
        self.pauses: asyncio.Queue[Pause] = asyncio.Queue()
        self.history: list[tuple[PauseRequest, Decision]] = []

    def wants(self, request: PauseRequest) -> bool:
        return self.stepping or any(b.matches(request) for b in self.breakpoints)

    async def pause(
        self,
        request: PauseRequest,
        validate: Validate,
        stub: Validate | None = None,
    ) -> Resumed:
        """Pause if a breakpoint (or stepping) asks to; how to go on. ``validate`` checks an
        edit, ``stub`` a skip's result (None: nothing to skip at this point). Raises
        ``RunAborted`` on ``Abort``."""
        if not self.wants(request):
            return Resumed(request.value)
        span = trace.get_current_span()
        context = span.get_span_context()
        if context.is_valid:
            request = dataclasses.replace(
                request,
                trace_id=format(context.trace_id, "032x"),
                span_id=format(context.span_id, "016x"),
            )
        while True:
            decision = await self._ask(request)
            self.history.append((request, decision))
            self.stepping = isinstance(decision, StepNext)
            try:
                resumed = _apply(decision, request, validate, stub)
            except (EditRefused, ValueError, TypeError) as exc:
                request = dataclasses.replace(request, refused=str(exc) or type(exc).__name__)
                continue
            _record(span, request, decision, resumed)
            if isinstance(decision, Abort):
                raise RunAborted(f"{decision.reason} ({request.point} {request.target})")
            return resumed

    async def _ask(self, request: PauseRequest) -> Decision:
        if self.decide is not None:
            return await self.decide(request)
        answer: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        await self.pauses.put(Pause(request, answer))
        return await answer


def _apply(
    decision: Decision, request: PauseRequest, validate: Validate, stub: Validate | None
) -> Resumed:
    match decision:
        case Edit(value=value):
            return Resumed(validate(value))
        case Skip(result=result):
            if stub is None:
                raise EditRefused(
                    f"nothing to skip at {request.point}: it has run; edit its result instead"
                )
            return Resumed(stub(result), skipped=True)
        case _:
            return Resumed(request.value)


def _record(span: trace.Span, request: PauseRequest, decision: Decision, resumed: Resumed) -> None:
    """The decision on the pause's span, with the original and the new value when changed."""
    if not span.is_recording():
        return
    from lumos_core.workflows.snapshots import to_json  # the same JSON as workflow attributes

    point = str(request.point)
    span.set_attribute(sc.debug_key(point, "decision"), _word(decision))
    if isinstance(decision, Edit | Skip) and capturing_spans():  # values are content
        span.set_attribute(sc.debug_key(point, "original"), to_json(request.value))
        span.set_attribute(sc.debug_key(point, "value"), to_json(resumed.value))


def _word(decision: Decision) -> str:
    return {
        Continue: "continue", StepNext: "step", Edit: "edit", Skip: "skip", Abort: "abort"
    }[type(decision)]


_attached: ContextVar[Debugger | None] = ContextVar("lumos_debugger", default=None)


def current_debugger() -> Debugger | None:
    """The debugger attached to the run in progress (read once per run)."""
    return _attached.get()


@contextmanager
def attached(debugger: Debugger | None) -> Iterator[Debugger | None]:
    """Runs started inside (and the agents and workflows they run) pause at its breakpoints."""
    token = _attached.set(debugger)
    try:
        yield debugger
    finally:
        _attached.reset(token)
