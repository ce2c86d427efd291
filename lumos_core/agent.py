"""Agents: instructions, a model and tools, and the ways to run them (``run``, ``stream`` and
their sync forms); the tool-calling loop that emits the GenAI spans is ``lumos_core.agent_loop``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, suppress
from typing import TYPE_CHECKING, Any, Final, Generic, Self

from opentelemetry import _logs, trace

from lumos_core._sync import refuse_inside_event_loop
from lumos_core.agent_fork import AgentFork
from lumos_core.agent_loop import invoke_agent
from lumos_core.messages import Message
from lumos_core.models import Model, resolve_model
from lumos_core.output import FINAL_RESULT_TOOL, OutputSpec, OutputValidationError
from lumos_core.run_request import RunRequest, new_run_request
from lumos_core.run_results import (  # re-exported: see ``__all__``
    AgentRunError,
    AgentStreamEvent,
    OutputT,
    RunCompleted,
    RunResult,
    StepLimitExceeded,
    ToolCallFinished,
    ToolCallStarted,
)
from lumos_core.settings import ModelSettings, merge_settings
from lumos_core.subagents import build_tools, missing_model_message
from lumos_core.telemetry import activate_providers, reset_providers
from lumos_core.tool_calls import Emit, ToolCallResult, call_tool
from lumos_core.tools import Tool
from lumos_core.toolsets import Toolset

if TYPE_CHECKING:
    from lumos_core.memory import Memory


_END: Final = object()


class Agent(Generic[OutputT]):
    """An LLM with instructions and tools. ``run`` answers one user message.

    An ``Agent`` in ``tools`` is a sub-agent the model can ask; ``handoffs`` are agents it can
    transfer the rest of the run to (``lumos_core.subagents``).

    With memory, runs in a thread continue it: the model sees the thread's recent messages,
    the working memory (and the tool to update it) and recalled past messages. ``settings`` apply
    to every model call (over the model's own; a run's ``settings`` win). With ``output_type``
    the answer is validated into that type (``RunResult.output``): the model's JSON-schema format
    where the provider has one, else a ``final_result`` tool; an invalid answer goes back to the
    model once with the error.
    """

    def __init__(
        self,
        name: str,
        instructions: str = "",
        model: Model | str | None = None,
        tools: Sequence[
            Tool | Agent | Toolset | Callable[..., Any] | Callable[..., Awaitable[Any]]
        ] = (),
        *,
        description: str | None = None,
        handoffs: Sequence[Agent] = (),
        max_steps: int = 10,
        memory: Memory | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        settings: ModelSettings | None = None,
        output_type: type[OutputT] | Any = None,
        capture_content: bool | None = None,
    ) -> None:
        if not name or not name.strip():
            raise ValueError("an Agent needs a non-empty name")
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.name = name
        self.instructions = instructions
        if model is None:
            raise ValueError(missing_model_message(name))
        self.model = resolve_model(model)
        #: Tools listed at run start (MCP servers); see ``lumos_core.toolsets``.
        self.toolsets = [t for t in tools if isinstance(t, Toolset)]
        self.tools = build_tools([t for t in tools if not isinstance(t, Toolset)], handoffs)
        self.description = description
        self.max_steps = max_steps
        self.memory = memory
        if memory is not None:
            for memory_tool in memory.tools():
                self.tools.setdefault(memory_tool.name, memory_tool)
        self.tracer_provider = tracer_provider
        self.logger_provider = logger_provider
        self._tool_definitions = [t.definition() for t in self.tools.values()]
        self.settings = settings
        self.output_type = output_type
        self._output: OutputSpec[OutputT] | None = None
        if output_type is not None and output_type is not str:
            if FINAL_RESULT_TOOL in self.tools:
                raise ValueError(
                    f"a tool named {FINAL_RESULT_TOOL!r} clashes with output_type's answer tool; "
                    "rename the tool"
                )
            self._output = OutputSpec(output_type)
        self._toolset_stacks: list[AsyncExitStack] = []
        self._last_request: tuple[tuple[object, ...], RunRequest] | None = None
        #: Record message content in this agent's runs (``None``: as the caller, process or
        #: environment says; ``lumos_core.telemetry.content``).
        self.capture_content = capture_content

    def __repr__(self) -> str:
        return f"Agent(name={self.name!r}, model={self.model.model_name!r})"

    async def __aenter__(self) -> Self:
        """Keep the agent's toolsets (MCP servers) open across the runs inside ``async with``."""
        async with AsyncExitStack() as stack:
            for toolset in self.toolsets:
                await stack.enter_async_context(toolset)
            self._toolset_stacks.append(stack.pop_all())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._toolset_stacks.pop().aclose()

    def run_sync(
        self,
        message: str,
        *,
        message_history: Sequence[Message] = (),
        thread_id: str | None = None,
        resource_id: str | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        settings: ModelSettings | None = None,
    ) -> RunResult[OutputT]:
        """``run`` for code that is not async (scripts, threads)."""
        refuse_inside_event_loop("Agent.run_sync", "agent.run(...)")
        return asyncio.run(
            self.run(
                message,
                message_history=message_history,
                thread_id=thread_id,
                resource_id=resource_id,
                tracer_provider=tracer_provider,
                logger_provider=logger_provider,
                settings=settings,
            )
        )

    async def run(
        self,
        message: str,
        *,
        message_history: Sequence[Message] = (),
        thread_id: str | None = None,
        resource_id: str | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        settings: ModelSettings | None = None,
        fork: AgentFork | None = None,
    ) -> RunResult[OutputT]:
        """Answer ``message``, calling tools as the model asks, within ``max_steps`` model calls.

        With memory, ``thread_id`` names the conversation to continue (a new one when omitted)
        and ``resource_id`` its user; ``message_history``, if given, replaces the stored window.
        Without memory, ``thread_id`` only labels the spans (``gen_ai.conversation.id``).
        With ``fork``, ``message`` is unused: the run goes on from the fork's messages
        (``lumos_core.agent_fork``).
        """
        return await self._run(
            message, message_history, thread_id, resource_id, tracer_provider, logger_provider,
            settings, emit=None, fork=fork,
        )

    async def stream(
        self,
        message: str,
        *,
        message_history: Sequence[Message] = (),
        thread_id: str | None = None,
        resource_id: str | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        settings: ModelSettings | None = None,
        fork: AgentFork | None = None,
    ) -> AsyncIterator[AgentStreamEvent]:
        """``run``, yielding events as it goes (see ``AgentStreamEvent``); the last event is
        ``RunCompleted``. The spans are ``run``'s; chat spans also record that they streamed and
        the time to the first chunk. Leaving the loop early cancels the run; errors are raised.
        """
        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def drive() -> None:
            result = await self._run(
                message, message_history, thread_id, resource_id, tracer_provider,
                logger_provider, settings, emit=queue.put_nowait, fork=fork,
            )
            queue.put_nowait(RunCompleted(result))

        # The run has its own task: its current span and context variables stay in that task's
        # context instead of leaking into the caller's code between events.
        task = asyncio.create_task(drive())
        task.add_done_callback(lambda _: queue.put_nowait(_END))
        try:
            while (event := await queue.get()) is not _END:
                yield event
            task.result()
        finally:
            if not task.done():
                task.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await task

    def stream_sync(
        self,
        message: str,
        *,
        message_history: Sequence[Message] = (),
        thread_id: str | None = None,
        resource_id: str | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        settings: ModelSettings | None = None,
    ) -> Iterator[AgentStreamEvent]:
        """``stream`` for code that is not async: each event as soon as the run produces it."""
        refuse_inside_event_loop("Agent.stream_sync", "agent.stream(...)")
        events = self.stream(
            message,
            message_history=message_history,
            thread_id=thread_id,
            resource_id=resource_id,
            tracer_provider=tracer_provider,
            logger_provider=logger_provider,
            settings=settings,
        )

        async def next_event() -> AgentStreamEvent:
            return await anext(events)

        with asyncio.Runner() as runner:
            try:
                while True:
                    try:
                        yield runner.run(next_event())
                    except StopAsyncIteration:
                        return
            finally:
                runner.run(events.aclose())  # type: ignore[attr-defined]

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        repeats: tuple[str, str] | None = None,
    ) -> ToolCallResult:
        """Call one of this agent's tools as a run would, without the model: to try a tool, or
        to repeat a recorded call (``repeats``: its trace and span ids) with other arguments.
        The call is an ``execute_tool`` span of a trace of its own; an error result (refused
        arguments, a ``ToolError``, an unknown tool) comes back as ``is_error``."""
        tracer_provider = tracer_provider or self.tracer_provider
        tokens = activate_providers(tracer_provider, None) if tracer_provider else None
        try:
            return await call_tool(self, name, dict(arguments or {}), repeats=repeats)
        finally:
            if tokens is not None:
                reset_providers(tokens)

    def call_tool_sync(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> ToolCallResult:
        """``call_tool`` for code that is not async."""
        refuse_inside_event_loop("Agent.call_tool_sync", "agent.call_tool(...)")
        return asyncio.run(self.call_tool(name, arguments, tracer_provider=tracer_provider))

    async def _run(
        self,
        message: str,
        message_history: Sequence[Message],
        thread_id: str | None,
        resource_id: str | None,
        tracer_provider: trace.TracerProvider | None,
        logger_provider: _logs.LoggerProvider | None,
        settings: ModelSettings | None,
        emit: Emit | None,
        fork: AgentFork | None = None,
    ) -> RunResult[OutputT]:
        """The one run loop behind ``run`` (``emit`` is None) and ``stream``."""
        tracer_provider = tracer_provider or self.tracer_provider
        logger_provider = logger_provider or self.logger_provider
        request = self._request(settings)
        if tracer_provider is None and logger_provider is None:
            return await invoke_agent(
                self, message, message_history, thread_id, resource_id, request, emit, fork
            )
        tokens = activate_providers(tracer_provider, logger_provider)
        try:
            return await invoke_agent(
                self, message, message_history, thread_id, resource_id, request, emit, fork
            )
        finally:
            reset_providers(tokens)

    def _request(self, settings: ModelSettings | None) -> RunRequest:
        """The run's ``RunRequest``: the last run's when made from the same parts (the usual case:
        an agent answering many messages), else a new one."""
        model = self.model
        parts = (model, model.model_name, model.provider_name, model.settings, self.settings,
                 settings, self._tool_definitions, self._output, self.name, self.description,
                 self.instructions)
        last = self._last_request
        if last is not None and all(a is b for a, b in zip(last[0], parts, strict=True)):
            return last[1]
        request = new_run_request(
            model, merge_settings(model.settings, self.settings, settings), settings,
            self._tool_definitions, self._output, self.name, self.description, self.instructions)
        self._last_request = (parts, request)
        return request


__all__ = [
    "Agent",
    "AgentRunError",
    "AgentStreamEvent",
    "ModelSettings",
    "OutputValidationError",
    "RunCompleted",
    "RunResult",
    "StepLimitExceeded",
    "ToolCallFinished",
    "ToolCallStarted",
]
