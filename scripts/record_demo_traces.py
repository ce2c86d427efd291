"""Record the saved traces in ``traces/`` from the real demo agents, so they can be regenerated.

Each file is made the way a user makes one: the agents run through ``lumos_core`` into an
in-process studio store (a temporary one), and the store's traces are saved as OTLP JSON lines by
the studio's own export code. Run from the repository root::

    .venv/bin/python scripts/record_demo_traces.py [--out traces]

``weather-v1`` / ``weather-v2`` are one question before and after an instructions change (check
each city once, in parallel), for the compare view; the scripted model plays what an LLM following
each version of the instructions would do.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lumos_core import Agent, Message, ScriptedModel
from lumos_core.memory import Memory
from lumos_core.messages import ToolCallPart
from lumos_studio.demo import agents as demo
from lumos_studio.ingest import studio_logger_provider, studio_tracer_provider
from lumos_studio.replay.save import Saved, save_traces
from lumos_studio.store import Store

QUESTION = "weather in Paris and Lyon?"


Turn = tuple[Agent, str, dict[str, Any]]


@dataclass
class Recording:
    """One file: the turns to run, in order (each turn: agent, message, ``run_sync`` options).

    ``make_turns``, when set, builds them inside the recording's temporary directory.
    """

    name: str
    turns: list[Turn] = field(default_factory=list)
    make_turns: Callable[[Path], list[Turn]] | None = None


def _call(call_id: str, city: str) -> ToolCallPart:
    return ToolCallPart(call_id, "get_weather", {"city": city})


def weather_versions() -> tuple[Agent, Agent]:
    """The weather agent before and after its instructions said to check each city once."""
    paris, lyon = demo.get_weather("Paris"), demo.get_weather("Lyon")
    answer = f"Paris: {paris} Lyon: {lyon}"
    v1 = Agent(
        name="weather",
        instructions="You answer questions about the weather. Use get_weather for current "
        "conditions, and check again before you answer to be sure.",
        model=ScriptedModel(
            [
                Message("assistant", (_call("call_1", "Paris"),), finish_reason="tool_calls"),
                Message("assistant", (_call("call_2", "Lyon"),), finish_reason="tool_calls"),
                Message("assistant", (_call("call_3", "Paris"),), finish_reason="tool_calls"),
                Message.assistant(answer),
            ],
            latency=0.15,
        ),
        tools=[demo.get_weather],
        description=demo.weather.description,
    )
    v2 = Agent(
        name="weather",
        instructions="You answer questions about the weather. Call get_weather once per city, "
        "all cities at once, then answer in one line per city.",
        model=ScriptedModel(
            [
                Message(
                    "assistant",
                    (_call("call_1", "Paris"), _call("call_2", "Lyon")),
                    finish_reason="tool_calls",
                ),
                Message.assistant(answer),
            ],
            latency=0.15,
        ),
        tools=[demo.get_weather],
        description=demo.weather.description,
    )
    return v1, v2


def recordings() -> list[Recording]:
    v1, v2 = weather_versions()
    found = [
        Recording("weather-paris", [(demo.weather, "weather in Paris?", {})]),
        Recording("calculator", [(demo.calculator, "what is (12 + 30) * 2?", {})]),
        Recording("weather-v1", [(v1, QUESTION, {})]),
        Recording("weather-v2", [(v2, QUESTION, {})]),
    ]
    docs = getattr(demo, "docs", None)
    if isinstance(docs, Agent):
        found.append(Recording("docs", [(docs, "how do I run the tests?", {})]))
    assistant = getattr(demo, "assistant", None)
    if isinstance(assistant, Agent):
        found.append(
            Recording(
                "assistant",
                make_turns=lambda tmp: _assistant_turns(assistant, tmp / "memory.db"),
            )
        )
    return found


ASSISTANT_MESSAGES = (
    "remember that my favourite colour is teal",
    "what's my favourite colour?",
    "remember that my city is Lyon",
    "what is my city?",
)


def _assistant_turns(assistant: Agent, memory_path: Path) -> list[Turn]:
    """A conversation in one thread, so memory changes (``lumos.memory.*`` logs) are recorded.

    The agent is rebuilt on a memory file of its own: a recording never reads or writes the
    memory of the user's project (``.lumos/memory.db``).
    """
    memory = assistant.memory
    assert memory is not None, "the assistant demo agent is expected to have memory"
    fresh = Memory(
        memory_path,
        last_messages=memory.last_messages,
        working_memory=memory.working_memory_config or False,
        semantic_recall=memory.recall_config or False,
        embedder=memory.embedder,
    )
    memory_tools = {t.name for t in memory.tools()}
    agent = Agent(
        name=assistant.name,
        instructions=assistant.instructions,
        model=assistant.model,
        tools=[t for name, t in assistant.tools.items() if name not in memory_tools],
        description=assistant.description,
        max_steps=assistant.max_steps,
        memory=fresh,
    )
    options = {"thread_id": "demo-thread", "resource_id": "demo-user"}
    return [(agent, message, options) for message in ASSISTANT_MESSAGES]


def record(recording: Recording, out_dir: Path) -> Saved:
    """Run the recording's turns into a fresh store and save its traces to ``out_dir``."""
    with (
        tempfile.TemporaryDirectory(prefix="lumos-record-") as tmp,
        Store(Path(tmp) / "studio.db") as store,
    ):
        tracer_provider = studio_tracer_provider(store.writer)
        logger_provider = studio_logger_provider(store.writer)
        turns = recording.turns
        if recording.make_turns is not None:
            turns = recording.make_turns(Path(tmp))
        for agent, message, options in turns:
            agent.run_sync(
                message, tracer_provider=tracer_provider, logger_provider=logger_provider, **options
            )
        tracer_provider.force_flush()
        logger_provider.force_flush()
        store.writer.flush()
        return save_traces(
            store.reader, store.reader.trace_ids(), out_dir / f"{recording.name}.jsonl"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("traces"), help="where to write")
    parser.add_argument("names", nargs="*", help="only these recordings (default: all)")
    args = parser.parse_args(argv)
    chosen = [r for r in recordings() if not args.names or r.name in args.names]
    for recording in chosen:
        saved = record(recording, args.out)
        print(f"{saved.path}: {saved.traces} trace(s), {saved.spans} spans, {saved.logs} logs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
