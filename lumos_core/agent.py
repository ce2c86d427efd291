"""Agents: instructions, a model and tools, run in a tool-calling loop that emits GenAI spans."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, suppress
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Generic, Self

import orjson
from opentelemetry import _logs, trace
from opentelemetry.trace import SpanKind

from lumos_core import debug_points
from lumos_core._sync import refuse_inside_event_loop
from lumos_core.agent_fork import AgentFork
from lumos_core.debug import Debugger, current_debugger
from lumos_core.memory.context import RunContext, Turn, reset_current_run, set_current_run
from lumos_core.messages import (
    Message,
    MessagesJson,
    ModelResponse,
    Usage,
)
from lumos_core.models import Model, ModelError, resolve_model
from lumos_core.models.base import ResponseCompleted, request_options
from lumos_core.output import (
    FINAL_RESULT_TOOL,
    OutputSpec,
    OutputValidationError,
    answered_calls,
    correction,
)
from lumos_core.run_request import RunRequest, instructions_json_or_none, new_run_request
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
from lumos_core.subagents import (
    build_tools,
    continue_with,
    handoff_target,
    missing_model_message,
)
from lumos_core.telemetry import activate_providers, get_tracer, reset_providers
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import capturing_spans, enter_capture, leave_capture
from lumos_core.telemetry.metrics import client_instruments, measured_chat
from lumos_core.telemetry.spans import current_span
from lumos_core.tool_calls import Emit, execute_tool, execute_tools
from lumos_core.tools import Tool
from lumos_core.toolsets import Toolset, open_toolsets

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
            return await self._invoke(
                message, message_history, thread_id, resource_id, request, emit, fork
            )
        tokens = activate_providers(tracer_provider, logger_provider)
        try:
            return await self._invoke(
                message, message_history, thread_id, resource_id, request, emit, fork
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

    async def _invoke(
        self,
        message: str,
        message_history: Sequence[Message],
        thread_id: str | None,
        resource_id: str | None,
        request: RunRequest,
        emit: Emit | None,
        fork: AgentFork | None = None,
    ) -> RunResult[OutputT]:
        tracer = get_tracer()
        memory = self.memory
        if memory is not None and not thread_id:
            from lumos_core.memory import new_thread_id

            thread_id = new_thread_id()
        attributes = request.invoke_attributes
        if thread_id:
            attributes = {**attributes, sc.CONVERSATION_ID: thread_id}
        if fork is not None and fork.span_id:
            attributes = {**attributes, sc.LUMOS_AGENT_FORK_OF: fork.span_id}
        run = RunContext(thread_id)
        debugger = current_debugger()  # read once a run; None costs one check a pause point
        token = set_current_run(run)
        capture = enter_capture(self.capture_content)
        try:
            with current_span(
                tracer,
                request.invoke_name,
                SpanKind.INTERNAL,
                attributes,
                fork.links() if fork is not None else None,
            ) as span:
                if not self.toolsets:
                    return await self._loop(
                        tracer, span, run, message, message_history, resource_id, request, emit,
                        debugger, fork,
                    )
                async with open_toolsets(self.tools, self.toolsets) as (tools, definitions):
                    self.tools, self._tool_definitions = tools, definitions
                    request = self._request(request.asked)  # with the servers' tools
                    return await self._loop(
                        tracer, span, run, message, message_history, resource_id, request, emit,
                        debugger, fork,
                    )
        finally:
            leave_capture(capture)
            reset_current_run(token)

    async def _loop(
        self,
        tracer: trace.Tracer,
        span: trace.Span,
        run: RunContext,
        message: str,
        message_history: Sequence[Message],
        resource_id: str | None,
        request: RunRequest,
        emit: Emit | None,
        debugger: Debugger | None,
        fork: AgentFork | None = None,
    ) -> RunResult[OutputT]:
        if fork is not None:  # the model answers the fork's messages; memory is left alone
            history, user = list(fork.messages[:-1]), fork.messages[-1]
        else:
            history, user = list(message_history), Message.user(message)
        memory = self.memory
        turn: Turn | None = None
        if memory is not None and run.thread_id and fork is None:
            turn = await asyncio.to_thread(
                memory.begin_turn, run.thread_id, resource_id, user,
                history if message_history else None,
            )
            run.turn = turn
            history = turn.history
            span.set_attribute(sc.LUMOS_MEMORY_RESOURCE_ID, turn.resource_id)
        recording = span.is_recording()
        # Read once a run: content capture changes only between runs (an agent's own choice is
        # set around its whole run).
        content = recording and capturing_spans()
        conversation = [*history, user]
        as_json = MessagesJson() if content else None
        if as_json is not None:
            instructions = (
                request.instructions_json if turn is None
                else instructions_json_or_none(turn.instructions(self.instructions))
            )
            if instructions:
                span.set_attributes({
                    sc.SYSTEM_INSTRUCTIONS: instructions,
                    sc.INPUT_MESSAGES: as_json(conversation),
                })
            else:
                span.set_attribute(sc.INPUT_MESSAGES, as_json(conversation))
        saved = len(conversation)
        usage = Usage()
        step = 0
        output: Any = None
        corrected = False
        while True:
            step += 1
            response = await self._chat(
                tracer, conversation, run, request, emit, debugger, recording, as_json
            )
            usage = usage + response.usage
            answer = response.message
            conversation.append(answer)
            calls = answer.tool_calls
            if self._output is not None:
                final = next((c for c in calls if c.name == FINAL_RESULT_TOOL), None)
                if final is not None or not calls:
                    try:
                        output = (
                            self._output.validate_json(answer.text) if final is None
                            else self._output.validate_object(final.arguments)
                        )
                    except ValueError as exc:
                        if corrected or step == self.max_steps:
                            raise OutputValidationError(
                                f"agent {self.name!r}: the model's answer did not match "
                                f"{self._output.schema.name} ({exc}), also after being told "
                                "why; check output_type and the instructions"
                            ) from None
                        corrected = True
                        conversation.append(correction(answer, final, f"{exc}."))
                        if turn is not None:
                            await self._save(turn, conversation[saved:])
                            saved = len(conversation)
                        continue
                    if final is not None:
                        conversation.append(answered_calls(calls, final))
                    break
            elif not calls:
                output = answer.text
                break
            if step == self.max_steps:
                raise StepLimitExceeded(
                    f"agent {self.name!r} stopped after {self.max_steps} model calls that "
                    "all asked for tools; raise max_steps or check the tools' results"
                )
            if len(calls) == 1:
                results = [await execute_tool(
                    self, tracer, calls[0], emit, debugger, content, parallel=False
                )]
            else:
                results = await execute_tools(self, tracer, calls, emit, debugger, content)
            conversation.append(Message("tool", tuple(results)))
            if turn is not None:
                await self._save(turn, conversation[saved:])
                saved = len(conversation)
            if (target := handoff_target(self.tools, calls)) is not None:
                save = partial(self._save, turn) if turn is not None else None
                return await continue_with(target, span, conversation, len(history), usage, step,
                                           save, emit)
        sub_usage = run.sub_usage
        if sub_usage.input_tokens or sub_usage.output_tokens:
            usage = usage + sub_usage
        if turn is not None:
            await self._save(turn, conversation[saved:])
        if recording:
            ended: dict[str, Any] = (
                {sc.OUTPUT_MESSAGES: as_json([answer])} if as_json is not None else {}
            )
            ended[sc.USAGE_INPUT_TOKENS] = usage.input_tokens
            ended[sc.USAGE_OUTPUT_TOKENS] = usage.output_tokens
            ended[sc.LUMOS_STEPS] = step
            span.set_attributes(ended)
        context = span.get_span_context()
        return RunResult(
            output=output,
            messages=tuple(conversation),
            new_messages=tuple(conversation[len(history) :]),
            usage=usage,
            steps=step,
            trace_id=format(context.trace_id, "032x") if context.is_valid else None,
            thread_id=run.thread_id,
            resource_id=turn.resource_id if turn is not None else None,
            agent=self.name,
        )

    @staticmethod
    async def _save(turn: Turn, messages: list[Message]) -> None:
        """Save a finished step (a tool call with its results, or the answer) as it happens."""
        await asyncio.to_thread(
            turn.memory.save_messages, turn.thread_id, messages, resource_id=turn.resource_id
        )

    async def _chat(
        self,
        tracer: trace.Tracer,
        conversation: list[Message],
        run: RunContext,
        request: RunRequest,
        emit: Emit | None,
        debugger: Debugger | None,
        recording: bool,
        as_json: MessagesJson | None,
    ) -> ModelResponse:
        """One model call in a chat span. When the run's span records, what the span says
        before the call goes in with its first attributes (one copy in the SDK, not a locked
        ``set_attribute`` each), so a live view shows the request while the model works."""
        model = self.model
        attributes = request.chat_attributes
        instructions = self.instructions
        sent = conversation
        turn = run.turn
        if turn is not None or run.thread_id or recording:
            attributes = attributes.copy()
            if turn is not None:
                # What the model sees: working memory in the instructions, recall before the
                # window.
                instructions = turn.instructions(instructions)
                if turn.prefix:
                    sent = [*turn.prefix, *conversation]
                attributes[sc.LUMOS_MEMORY_WINDOW_COUNT] = len(turn.history)
                attributes[sc.LUMOS_MEMORY_RECALLED_COUNT] = turn.recalled_count
            if run.thread_id:
                attributes[sc.CONVERSATION_ID] = run.thread_id
            if as_json is not None:
                encoded = (
                    request.instructions_json if turn is None
                    else instructions_json_or_none(instructions)
                )
                if encoded:
                    attributes[sc.SYSTEM_INSTRUCTIONS] = encoded
                attributes[sc.INPUT_MESSAGES] = as_json(sent)
            if recording:
                if request.tools_json is not None:
                    attributes[sc.TOOL_DEFINITIONS] = request.tools_json
                summary = run.summary()
                if summary is not None:
                    attributes[sc.LUMOS_CONTEXT_SUMMARY] = orjson.dumps(summary).decode()
        with current_span(tracer, request.chat_name, SpanKind.CLIENT, attributes) as span:
            if recording and not span.is_recording():  # a sampler dropped this one
                recording, as_json = False, None
            if debugger is not None:
                response = await debug_points.chat(
                    debugger, self, span, instructions or None, sent, request, emit
                )
            else:
                if emit is None:
                    call = model.request(instructions or None, sent, request.tools,
                                         **request.options)
                else:
                    call = self._stream_chat(span, instructions or None, sent, request, emit)
                response = await (
                    call if client_instruments() is None else measured_chat(model, call)
                )
            if recording:
                message = response.message
                ended: dict[str, Any] = (
                    {sc.OUTPUT_MESSAGES: as_json([message])} if as_json is not None else {}
                )
                ended[sc.RESPONSE_MODEL] = response.model_name or model.model_name
                ended[sc.RESPONSE_FINISH_REASONS] = [message.finish_reason or "stop"]
                ended[sc.USAGE_INPUT_TOKENS] = response.usage.input_tokens
                ended[sc.USAGE_OUTPUT_TOKENS] = response.usage.output_tokens
                if response.response_id:
                    ended[sc.RESPONSE_ID] = response.response_id
                span.set_attributes(ended)
            return response

    async def _stream_chat(
        self,
        span: trace.Span,
        instructions: str | None,
        sent: list[Message],
        request: RunRequest,
        emit: Emit,
    ) -> ModelResponse:
        """One model call through ``Model.stream``, each piece passed on as it arrives."""
        model = self.model
        started = time.perf_counter()
        first_chunk: float | None = None
        response: ModelResponse | None = None
        options = request_options(model, request.settings, request.output, "stream")
        events = model.stream(instructions, sent, request.tools, **options)
        try:
            async for event in events:
                if isinstance(event, ResponseCompleted):
                    response = event.response
                elif first_chunk is None:
                    first_chunk = time.perf_counter() - started
                emit(event)
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()
        if response is None:
            raise ModelError(
                f"{model!r} ended its stream without the whole reply; a Model.stream must end "
                "with ResponseCompleted"
            )
        if span.is_recording():
            span.set_attribute(sc.REQUEST_STREAM, True)
            if first_chunk is not None:
                span.set_attribute(sc.RESPONSE_TIME_TO_FIRST_CHUNK, first_chunk)
        return response


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
