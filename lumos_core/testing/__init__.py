"""Deterministic re-execution: run an agent again with its model's and tools' answers from a trace.

A saved trace (OTLP JSON lines, as ``lumos-studio export`` or any OTel Collector writes them) holds
every model call's input and output and every tool call's arguments and result. ``replay`` turns it
into a ``ReplayModel`` and replayed tools, so a bug reproduces offline with no key, and a real
conversation becomes a regression test::

    from lumos_core.testing import replay

    def test_weather_still_answers_like_it_did() -> None:
        replay("traces/weather-paris.jsonl").run(weather)   # raises TraceDivergence if not

When the code now asks something the trace does not hold (another tool call, other arguments, one
more model call, a different conversation), ``TraceDivergence`` says which step and what differs.
The core stands alone, so this module reads OTLP JSON itself (spans only) instead of using the
studio's codec; already-parsed spans (the studio's ``SpanRecord``) are accepted too.

Also here: readable assertions on a run (``assert_tool_called``, ``assert_steps``...), captured
spans, and the guard against real model calls that the pytest plugin (``pytest_plugin``) uses.
"""

from __future__ import annotations

import asyncio
import copy
import os
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import orjson

from lumos_core.agent import Agent, RunResult
from lumos_core.messages import Message, ModelResponse
from lumos_core.models.base import Model
from lumos_core.output import OutputSchema
from lumos_core.settings import ModelSettings
from lumos_core.telemetry.content import CAPTURE_ENV
from lumos_core.testing.assertions import (
    ToolCall,
    assert_output,
    assert_steps,
    assert_tool_called,
    assert_tool_not_called,
    assert_usage,
    steps_of,
    tool_calls_of,
)
from lumos_core.testing.capture import CapturedSpans
from lumos_core.testing.guard import RealModelCallBlocked, block_model_calls
from lumos_core.testing.metrics import CapturedMetrics
from lumos_core.testing.otlp_json import RecordedSpan, SpanLike, read_spans
from lumos_core.testing.recorded import (
    RecordedChat,
    RecordedToolCall,
    RecordedTrace,
    RecordedTurn,
)
from lumos_core.testing.recorded_memory import RecordedMemory
from lumos_core.testing.recorded_toolsets import ReplayedToolsets
from lumos_core.tools import Tool, ToolOutcome

__all__ = [
    "CapturedMetrics",
    "CapturedSpans",
    "RealModelCallBlocked",
    "RecordedMemory",
    "RecordedSpan",
    "RecordedTrace",
    "Replay",
    "ReplayModel",
    "ToolCall",
    "TraceDivergence",
    "assert_output",
    "assert_steps",
    "assert_tool_called",
    "assert_tool_not_called",
    "assert_usage",
    "block_model_calls",
    "read_spans",
    "replay",
    "replay_agent",
    "steps_of",
    "tool_calls_of",
]


MemoryMode = Literal["recorded", "live"]


class TraceDivergence(AssertionError):
    """The run asked for something the trace does not hold; ``step`` says where.

    An ``AssertionError``, so pytest reports it as a failed check with its message.
    """

    def __init__(self, step: str, message: str, expected: str = "", asked: str = "") -> None:
        text = f"{step}: {message}"
        if expected or asked:
            text += f"\n  recorded: {expected}\n  asked:    {asked}"
        super().__init__(text)
        self.step = step
        self.expected = expected
        self.asked = asked


def _show(messages: Sequence[dict[str, Any]] | None, i: int) -> str:
    """One message of a conversation, short, for divergence reports."""
    if messages is None or i >= len(messages):
        return "(no message)"
    text = orjson.dumps(messages[i]).decode()
    return text if len(text) <= 160 else text[:157] + "..."


# ---------------------------------------------------------------------------------- replaying


class ReplayModel(Model):
    """Answers each request with the next recorded model output, checking it was asked the same.

    ``check_messages`` / ``check_instructions`` compare what the agent sends now with what the
    recorded call was sent; turn one off to replay past a deliberate change.
    """

    provider_name = "replay"

    def __init__(
        self,
        chats: Sequence[RecordedChat],
        *,
        name: str = "replay",
        check_messages: bool = True,
        check_instructions: bool = True,
    ) -> None:
        super().__init__(name)
        self.chats = list(chats)
        self.position = 0
        self.check_messages = check_messages
        self.check_instructions = check_instructions

    async def request(
        self,
        instructions: str | None,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        settings: ModelSettings | None = None,  # a recorded answer does not depend on them
        output: OutputSchema | None = None,
    ) -> ModelResponse:
        step = f"model call {self.position + 1}"
        sent = [m.to_otel() for m in messages]
        if self.position >= len(self.chats):
            raise TraceDivergence(step, f"the trace holds only {len(self.chats)} model call(s)",
                                  "(no further call)", _show(sent, len(sent) - 1))
        recorded = self.chats[self.position]
        step += f" (span {recorded.span_id})"
        if self.check_instructions and (recorded.instructions or None) != (instructions or None):
            raise TraceDivergence(step, "the system instructions differ",
                                  repr(recorded.instructions), repr(instructions))
        if self.check_messages and recorded.messages is not None and recorded.messages != sent:
            i = next((i for i, (a, b) in enumerate(zip(recorded.messages, sent, strict=False))
                      if a != b), min(len(recorded.messages), len(sent)))
            raise TraceDivergence(step, f"message {i + 1} of the conversation differs",
                                  _show(recorded.messages, i), _show(sent, i))
        self.position += 1
        return recorded.response

    @property
    def remaining(self) -> int:
        return len(self.chats) - self.position


class _ToolTape:
    """The recorded tool calls of one agent, consumed as the replay asks for them."""

    def __init__(self, calls: Sequence[RecordedToolCall]) -> None:
        self.calls = list(calls)
        self.used = [False] * len(self.calls)
        self.asked = 0

    def take(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        self.asked += 1
        step = f"tool call {self.asked}"
        for i, call in enumerate(self.calls):
            if not self.used[i] and call.name == name and call.arguments == arguments:
                self.used[i] = True
                return call.outcome
        asked = f"{name}({orjson.dumps(arguments).decode()})"
        pending = [c for c, used in zip(self.calls, self.used, strict=True) if not used]
        if not pending:
            raise TraceDivergence(step, f"the trace holds only {len(self.calls)} tool call(s)",
                                  "(no further call)", asked)
        expected = pending[0]
        shown = f"{expected.name}({orjson.dumps(expected.arguments).decode()})"
        what = "other arguments" if expected.name == name else "another tool"
        raise TraceDivergence(f"{step} (span {expected.span_id})",
                              f"the agent asked for {what} than recorded", shown, asked)

    def unused(self, ran_for_real: set[str]) -> list[str]:
        """Recorded calls not asked for, but those of tools that ran for real."""
        return [c.name for c, used in zip(self.calls, self.used, strict=True)
                if not used and c.name not in ran_for_real]


class _ReplayedTool(Tool):
    """A tool with the original's name, description and schema that answers from the tape."""

    def __init__(self, original: Tool, tape: _ToolTape) -> None:  # no super(): no function
        self.function = original.function
        self.name = original.name
        self.description = original.description
        self.is_async = True
        self.arguments_model = original.arguments_model
        self.parameters_schema = original.parameters_schema
        self._tape = tape

    async def invoke(self, arguments: dict[str, Any], *, in_thread: bool = False
                     ) -> ToolOutcome:  # already async: ``in_thread`` changes nothing
        return self._tape.take(self.name, arguments)


class Replay:
    """A loaded trace, ready to drive agents: ``agent(...)`` for a replaying copy, ``run(...)``
    to replay every recorded turn and check the answers."""

    def __init__(
        self,
        trace: RecordedTrace,
        *,
        check_messages: bool = True,
        check_instructions: bool = True,
        memory: MemoryMode = "recorded",
    ) -> None:
        if memory not in ("recorded", "live"):
            raise ValueError("memory= must be 'recorded' or 'live'")
        self.trace = trace
        self.check_messages = check_messages
        self.check_instructions = check_instructions
        self.memory = memory
        self._models: dict[str, ReplayModel] = {}
        self._tapes: dict[str, _ToolTape] = {}
        self._real: dict[str, set[str]] = {}
        self._real_model: set[str] = set()

    def model(self, agent_name: str | None = None) -> ReplayModel:
        """The replaying model for ``agent_name`` (default: the first agent in the trace)."""
        name = self._agent_name(agent_name)
        if name not in self._models:
            chats = self.trace.chats(name)
            model_name = next((c.response.model_name for c in chats if c.response.model_name),
                              "replay")
            self._models[name] = ReplayModel(chats, name=model_name,
                                             check_messages=self.check_messages,
                                             check_instructions=self.check_instructions)
        return self._models[name]

    def agent(
        self, agent: Agent, *, real_tools: Iterable[str] = (), real_model: bool = False
    ) -> Agent:
        """A copy of ``agent`` whose model and tools answer from the trace.

        ``real_tools`` (and the memory's own tools, which only change the agent's memory) run for
        real, so their effect on later steps is reproduced too. ``real_model`` keeps the agent's
        own model and replays only the tools (external services): a changed prompt or model
        then shows as the tool call where the run diverges. An agent with memory gets a
        ``RecordedMemory`` (each turn sees the window, working memory and recall recorded)
        unless the replay was made with ``memory="live"``.
        """
        name = agent.name
        if name not in self.trace.agent_names:
            known = ", ".join(self.trace.agent_names) or "none"
            raise ValueError(f"the trace holds no run of agent {name!r} (agents: {known})")
        if not self.trace.has_content(name):
            raise ValueError(
                f"the trace's runs of agent {name!r} were recorded without message content "
                f"(capture_content off, or {CAPTURE_ENV} false), so it holds no answers to "
                "replay; record the run again with content capture on"
            )
        tape = self._tapes.setdefault(name, _ToolTape(self.trace.tool_calls(name)))
        keep = set(real_tools)
        replaying = copy.copy(agent)
        memory_tools: dict[str, Tool] = {}
        if agent.memory is not None:
            keep.update(t.name for t in agent.memory.tools())
            if self.memory == "recorded":
                recorded = RecordedMemory(agent.memory, self.trace.memory_turns(name), name)
                replaying.memory = recorded
                memory_tools = {t.name: t for t in recorded.tools()}
        self._real[name] = keep
        if real_model:
            self._real_model.add(name)
        else:
            replaying.model = self.model(name)
        own = {n: t for n, t in agent.tools.items() if getattr(t, "toolset", None) is None}
        replaying.tools = {
            tool_name: memory_tools.get(tool_name, t) if tool_name in keep
            else _ReplayedTool(t, tape)
            for tool_name, t in own.items()
        }
        if agent.toolsets:  # MCP servers: their recorded tools, no server unless one runs
            recorded_tools = self.trace.toolset_tools(name, set(own))
            replaying.toolsets = [ReplayedToolsets(agent.toolsets, recorded_tools, tape.take,
                                                   keep - set(own))]
            replaying._toolset_stacks = []
        return replaying

    def turns(self, agent_name: str | None = None) -> list[RecordedTurn]:
        return self.trace.turns(self._agent_name(agent_name))

    async def arun(
        self, agent: Agent, *, real_tools: Iterable[str] = (), **run_options: Any
    ) -> list[RunResult]:
        """Replay every recorded turn of ``agent`` and check each answer and that nothing recorded
        is left over; ``real_tools`` run for real (see ``agent``), ``run_options`` go to
        ``Agent.run`` (a tracer provider, say). With memory, each turn sees what its recorded
        turn saw."""
        replaying = self.agent(agent, real_tools=real_tools)
        results = []
        for number, turn in enumerate(self.turns(agent.name), 1):
            # With memory, the replayed turns rebuild the thread as it was; else pass the history.
            history = turn.history if agent.memory is None else ()
            result = await replaying.run(turn.message, message_history=history,
                                         thread_id=turn.thread_id, resource_id=turn.resource_id,
                                         **run_options)
            if turn.output is not None and result.output != turn.output:
                raise TraceDivergence(f"turn {number} (span {turn.span_id})",
                                      "the answer differs", repr(turn.output),
                                      repr(result.output))
            results.append(result)
        self.assert_complete(agent.name)
        return results

    def run(
        self, agent: Agent, *, real_tools: Iterable[str] = (), **run_options: Any
    ) -> list[RunResult]:
        """``arun`` for code that is not async."""
        return asyncio.run(self.arun(agent, real_tools=real_tools, **run_options))

    def assert_complete(self, agent_name: str | None = None) -> None:
        """Raise ``TraceDivergence`` if the run made fewer model or tool calls than recorded."""
        name = self._agent_name(agent_name)
        model = self.model(name)
        if model.remaining and name not in self._real_model:
            raise TraceDivergence(f"model call {model.position + 1}",
                                  f"the run ended with {model.remaining} recorded model call(s) "
                                  "unused")
        tape = self._tapes.get(name)
        unused = tape.unused(self._real.get(name, set())) if tape is not None else []
        if tape is not None and unused:
            raise TraceDivergence(f"tool call {tape.asked + 1}",
                                  f"the run ended without the recorded call(s) {unused}")

    def _agent_name(self, agent_name: str | None) -> str:
        if agent_name is not None:
            return agent_name
        names = self.trace.agent_names
        if not names:
            raise ValueError("the trace holds no agent run (no invoke_agent span)")
        return names[0]


def replay(
    source: str | os.PathLike[str] | Iterable[SpanLike],
    *,
    trace_id: str | None = None,
    check_messages: bool = True,
    check_instructions: bool = True,
    memory: MemoryMode = "recorded",
) -> Replay:
    """Load a saved trace (a file path, or spans already read) for replaying; ``trace_id`` keeps
    one trace of a file that holds several. ``memory="live"`` lets an agent with memory use its
    own (give it a fresh one: the turns then rebuild the thread as they go)."""
    spans: list[SpanLike] = (
        list(read_spans(source)) if isinstance(source, str | os.PathLike) else list(source)
    )
    if trace_id is not None:
        spans = [s for s in spans if s.trace_id == trace_id.lower()]
    return Replay(RecordedTrace(spans), check_messages=check_messages,
                  check_instructions=check_instructions, memory=memory)


def replay_agent(
    agent: Agent, source: str | os.PathLike[str] | Iterable[SpanLike], **options: Any
) -> Agent:
    """A copy of ``agent`` whose model and tools answer from a saved trace (see ``replay``)."""
    return replay(source, **options).agent(agent)
