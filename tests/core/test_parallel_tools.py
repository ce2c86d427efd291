"""Tool calls of one model turn run side by side: sync tools in threads, async ones as tasks;
results keep the call order and each call has its own ``execute_tool`` span under the run."""

from __future__ import annotations

import asyncio
import time

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, ScriptedModel, tool
from lumos_core.messages import Message, ToolCallPart


@tool
def slow_sync(name: str) -> str:
    """Blocks, as sync tools that do I/O do."""
    time.sleep(0.3)
    return f"sync {name}"


@tool
async def slow_async(name: str) -> str:
    """Awaits, as async tools do."""
    await asyncio.sleep(0.3)
    return f"async {name}"


@tool
def quick(name: str) -> str:
    """Answers at once."""
    return f"quick {name}"


def two_calls(*names: str) -> Message:
    parts = tuple(ToolCallPart(f"c{i}", name, {"name": str(i)}) for i, name in enumerate(names))
    return Message("assistant", parts, finish_reason="tool_calls")


def overlap(a: object, b: object) -> bool:
    return a.start_time < b.end_time and b.start_time < a.end_time  # type: ignore[attr-defined]


async def test_two_blocking_tools_of_one_turn_run_at_the_same_time(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = ScriptedModel([two_calls("slow_sync", "slow_sync"), "done"])
    agent = Agent("par", "", model, [slow_sync])

    result = await agent.run("go", tracer_provider=tracer_provider)

    assert result.steps == 2
    spans = exporter.get_finished_spans()
    first, second = (s for s in spans if s.name == "execute_tool slow_sync")
    assert overlap(first, second)
    root = next(s for s in spans if s.name == "invoke_agent par")
    assert first.parent.span_id == second.parent.span_id == root.context.span_id


async def test_mixed_tools_overlap_and_results_keep_the_call_order(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = ScriptedModel([two_calls("slow_async", "slow_sync", "quick"), "done"])
    agent = Agent("par", "", model, [slow_sync, slow_async, quick])

    result = await agent.run("go", tracer_provider=tracer_provider)

    tool_message = result.messages[2]
    assert [(p.id, p.result) for p in tool_message.parts] == [
        ("c0", "async 0"), ("c1", "sync 1"), ("c2", "quick 2"),
    ]
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert overlap(spans["execute_tool slow_async"], spans["execute_tool slow_sync"])
    assert overlap(spans["execute_tool slow_async"], spans["execute_tool quick"])


async def test_streamed_runs_report_each_parallel_call_started_and_finished() -> None:
    model = ScriptedModel([two_calls("slow_async", "quick"), "done"])
    agent = Agent("par", "", model, [slow_async, quick])

    kinds = [type(e).__name__ for e in [e async for e in agent.stream("go")]]

    assert kinds.count("ToolCallStarted") == 2 and kinds.count("ToolCallFinished") == 2
    assert kinds.index("ToolCallStarted") < kinds.index("ToolCallFinished")
