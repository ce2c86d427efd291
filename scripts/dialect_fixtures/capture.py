"""Capture real agent telemetry in every dialect, as OTLP JSON lines files, for the studio's tests.

Run with the capture venv (see README.md in the output folder), never with the project's own:

    .capture-venv/bin/python scripts/dialect_fixtures/capture.py --out tests/fixtures/dialects

Each dialect runs in a child process of its own, because the instrumentors patch the ``openai``
module for the whole process and some read their settings from the environment at import time.
The parent serves the stand-in OpenAI API on 127.0.0.1 (stand_in_openai.py) for all of them;
nothing leaves the machine. A child sets up an SDK TracerProvider (and a LoggerProvider where the
dialect emits log-record events) with in-memory exporters, runs one agent turn with a tool call,
plain and streamed, and writes what was exported as the Collector's file exporter does: one
``ExportTraceServiceRequest`` and, when there are any, one ``ExportLogsServiceRequest`` per line,
ids in hex and enums as integers (the OTLP/JSON rules).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SYSTEM = "You are a weather assistant. Use the get_weather tool, then answer in one sentence."
QUESTION = "What's the weather like in Paris today?"
MODEL = "gpt-4o-mini"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name"}},
                "required": ["city"],
            },
        },
    }
]

# Extra environment per dialect: content capture and convention switches the libraries read.
DIALECTS: dict[str, dict[str, str]] = {
    "openinference-openai": {},
    "openllmetry-attributes": {"TRACELOOP_TRACE_CONTENT": "true"},
    "openllmetry-events": {"TRACELOOP_TRACE_CONTENT": "true"},
    "otel-genai-openai-v2": {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"},
    "otel-genai-openai-v2-latest": {
        "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_and_event",
    },
    # pydantic-ai 2.68 knows formats 2-6; for this turn 3, 4 and 5 give the same spans (3 adds
    # thinking tokens, 4 multimodal parts, 5 deferred-tool status), so 5, the default, stands for
    # them. `--only pydantic-ai-v3` still captures one.
    **{f"pydantic-ai-v{v}": {} for v in (2, 5, 6)},
    "openinference-pydantic-ai": {},
    "logfire": {},
    "azure-ai-inference": {"AZURE_TRACING_GEN_AI_CONTENT_RECORDING_ENABLED": "true"},
}

# Earlier forms, from older releases that cannot share a venv with the ones above: run with
# `--legacy` from the venv of requirements-legacy.txt. OpenLLMetry 0.47.5 is its last release with
# both flattened `gen_ai.prompt.N.*` / `gen_ai.completion.N.*` and `gen_ai.usage.prompt_tokens`
# (0.48-0.54 flatten with `input_tokens`); pydantic-ai 1.107.10, the last 1.x, still has format 1
# (messages as events, in a span attribute or as log records), which 2.68 dropped.
LEGACY_DIALECTS: dict[str, dict[str, str]] = {
    "openllmetry-flattened": {"TRACELOOP_TRACE_CONTENT": "true"},
    "pydantic-ai-v1-attributes": {},
    "pydantic-ai-v1-logs": {},
}

# Node dialects, captured by vercel_ai/capture.mjs (`--js`; `npm ci` in that folder first). The
# Vercel AI SDK's `ai.*` attributes are also what Mastra emits.
JS_DIALECTS: dict[str, dict[str, str]] = {"vercel-ai-sdk": {}}


# The tool every agent calls (its docstring is the description pydantic-ai sends): a fixed
# reading, so every fixture carries the same result.
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return json.dumps({"city": city, "temperature_c": 18, "conditions": "partly cloudy"})


# ------------------------------------------------------------------------------- parent process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the .jsonl files")
    names = sorted([*DIALECTS, *LEGACY_DIALECTS, *JS_DIALECTS, "pydantic-ai-v3", "pydantic-ai-v4"])
    parser.add_argument("--only", nargs="*", choices=names, help="dialects to capture")
    parser.add_argument(
        "--legacy", action="store_true", help="capture the earlier forms (requirements-legacy.txt)"
    )
    parser.add_argument("--js", action="store_true", help="capture the Node dialects (vercel_ai/)")
    parser.add_argument("--dialect", help=argparse.SUPPRESS)  # set in the child processes
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dialect:
        capture_one(args.dialect, args.base_url, args.out)
        return
    from stand_in_openai import answer, running_server

    args.out.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    with running_server() as server:
        server.answer = answer
        chosen = JS_DIALECTS if args.js else LEGACY_DIALECTS if args.legacy else DIALECTS
        for name in args.only or chosen:
            env = {**os.environ, **DIALECTS.get(name, {}), **LEGACY_DIALECTS.get(name, {})}
            env.pop("OPENAI_API_KEY", None)
            base_url = f"{server.origin}/v1"
            if name in JS_DIALECTS:
                script = HERE / "vercel_ai" / "capture.mjs"
                command = ["node", str(script), base_url, str(args.out / f"{name}.jsonl")]
            else:
                command = [sys.executable, __file__, "--dialect", name, "--out", str(args.out)]
                command += ["--base-url", base_url]
            done = subprocess.run(command, env=env, check=False)
            print(f"{name}: {'ok' if done.returncode == 0 else 'FAILED'}", flush=True)
            if done.returncode:
                failed.append(name)
    if failed:
        sys.exit(f"could not capture: {', '.join(failed)}")


# -------------------------------------------------------------------------------- child process


def capture_one(name: str, base_url: str, out: Path) -> None:
    """Run one dialect's agent turn and write its spans (and log records) to ``out/name.jsonl``."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    logs = InMemoryLogRecordExporter()
    resource = Resource.create({"service.name": "weather-agent", "lumos.fixture.dialect": name})
    ids = _SeededIds(name)
    make: Callable[..., Any] = TracerProvider
    if name == "openinference-openai":
        from openinference.instrumentation import TracerProvider as OITracerProvider

        make = OITracerProvider
    tracer_provider = make(resource=resource, id_generator=ids)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    if name == "openinference-pydantic-ai":
        from openinference.instrumentation.pydantic_ai import OpenInferenceSpanProcessor

        tracer_provider.add_span_processor(OpenInferenceSpanProcessor())  # before the export
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))

    if name.startswith("pydantic-ai-v1-"):
        event_mode = name.rsplit("-", 1)[1]
        settings = {"event_mode": event_mode, "logger_provider": logger_provider}
        asyncio.run(_pydantic_ai_turns(base_url, tracer_provider, 1, **settings))
    elif name.startswith("pydantic-ai-v") or name == "openinference-pydantic-ai":
        version = int(name.rsplit("v", 1)[1]) if name.startswith("pydantic-ai-v") else 5
        asyncio.run(_pydantic_ai_turns(base_url, tracer_provider, version))
    elif name == "logfire":
        _logfire_turns(base_url, SimpleSpanProcessor(spans), ids)
    elif name == "azure-ai-inference":
        _azure_turns(base_url, tracer_provider)
    else:
        _instrument_openai(name, tracer_provider, logger_provider)
        _openai_turns(name, base_url, tracer_provider)
    tracer_provider.force_flush()
    logger_provider.force_flush()
    _write(out / f"{name}.jsonl", spans.get_finished_spans(), logs.get_finished_logs())


def _instrument_openai(name: str, tracer_provider: Any, logger_provider: Any) -> None:
    providers = {"tracer_provider": tracer_provider, "logger_provider": logger_provider}
    if name == "openinference-openai":
        from openinference.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(**providers)
    elif name == "openllmetry-flattened":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as LLMetry

        LLMetry().instrument(**providers)  # 0.47: attributes by default, no `use_attributes`
    elif name.startswith("openllmetry-"):
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as LLMetry

        LLMetry(use_attributes=name == "openllmetry-attributes").instrument(**providers)
    elif name.startswith("otel-genai-openai-v2"):
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as OtelV2

        OtelV2().instrument(**providers)
    else:
        raise SystemExit(f"unknown dialect {name}")


def _openai_turns(name: str, base_url: str, tracer_provider: Any) -> None:
    """One agent turn (tool call, tool result, answer), plain, then again streamed.

    The instrumentors trace only the client calls; OpenInference's own tracer decorators give the
    agent and tool spans a framework would. Elsewhere a bare parent span (no semantic attributes)
    just holds each turn's calls in one trace, as an application's own span would.
    """
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="sk-stand-in", max_retries=0)
    tracer = tracer_provider.get_tracer("weather_agent")
    tool = get_weather
    if name == "openinference-openai":
        tool = tracer.tool(get_weather)

    def turn(question: str, stream: bool = False) -> str:
        return _agent_turn(client, question, stream, tool)

    for stream in (False, True):
        label = "weather agent turn (streamed)" if stream else "weather agent turn"
        if name == "openinference-openai":
            tracer.agent(name=label)(turn)(QUESTION, stream=stream)
        else:
            with tracer.start_as_current_span(label):
                turn(QUESTION, stream=stream)


def _agent_turn(client: Any, question: str, stream: bool, tool: Callable[..., str]) -> str:
    """Ask, run the tools the model calls, send their results back, until it answers in text."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": question},
    ]
    options: dict[str, Any] = {"model": MODEL, "tools": TOOLS, "temperature": 0.2}
    if stream:
        options |= {"stream": True, "stream_options": {"include_usage": True}}
    while True:
        reply = client.chat.completions.create(messages=messages, **options)
        content, calls = _collect(reply) if stream else _message(reply)
        if not calls:
            return content
        messages.append({"role": "assistant", "content": content or None, "tool_calls": calls})
        for call in calls:
            result = tool(**json.loads(call["function"]["arguments"]))
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})


def _message(reply: Any) -> tuple[str, list[dict[str, Any]]]:
    message = reply.choices[0].message
    calls = []
    for call in message.tool_calls or []:
        # openai's pydantic models, or azure's mappings
        data = call.model_dump() if hasattr(call, "model_dump") else call.as_dict()
        calls.append({key: data[key] for key in ("id", "type", "function")})
    return message.content or "", calls


def _collect(stream: Any) -> tuple[str, list[dict[str, Any]]]:
    """Read a streamed reply to its end, joining text and tool-call fragments."""
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    for chunk in stream:
        for choice in chunk.choices:
            delta = choice.delta
            text.append(delta.content or "")
            for part in delta.tool_calls or []:
                index = getattr(part, "index", None)  # azure's updates have none: go by id
                if index is None:
                    last = calls.get(len(calls) - 1)
                    fresh = part.id and (last is None or last["id"] != part.id)
                    index = len(calls) if fresh else max(len(calls) - 1, 0)
                empty = {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
                call = calls.setdefault(index, empty)
                call["id"] = part.id or call["id"]
                if part.function:
                    call["function"]["name"] += part.function.name or ""
                    call["function"]["arguments"] += part.function.arguments or ""
    return "".join(text), [calls[i] for i in sorted(calls)]


async def _pydantic_ai_turns(
    base_url: str, tracer_provider: Any, version: int, **settings: Any
) -> None:
    """A pydantic-ai Agent with one tool, run once plainly and once streamed."""
    import warnings

    from pydantic_ai import Agent
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # versions 2-4 are deprecated; they are what we capture
        instrumentation = InstrumentationSettings(
            tracer_provider=tracer_provider, version=version, **settings
        )
    provider = OpenAIProvider(base_url=base_url, api_key="sk-stand-in")
    model = OpenAIChatModel(MODEL, provider=provider)
    agent = Agent(model, name="weather_agent", instructions=SYSTEM)
    agent.instrument = instrumentation  # 2.68: Agent() takes no `instrument=`; the property does

    agent.tool_plain(get_weather)
    await agent.run(QUESTION, model_settings={"temperature": 0.2})
    async with agent.run_stream(QUESTION, model_settings={"temperature": 0.2}) as result:
        await result.get_output()


def _logfire_turns(base_url: str, exporter_processor: Any, ids: _SeededIds) -> None:
    """Logfire's own OpenAI instrumentation, configured offline with our exporter only."""
    import logfire

    logfire.configure(
        send_to_logfire=False,
        console=False,
        metrics=False,
        service_name="weather-agent",
        additional_span_processors=[exporter_processor],
        inspect_arguments=False,
        advanced=logfire.AdvancedOptions(id_generator=ids),  # type: ignore[arg-type]
    )
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="sk-stand-in", max_retries=0)
    logfire.instrument_openai(client)

    def tool(**arguments: Any) -> str:
        with logfire.span("running tool {name}", name="get_weather"):
            return get_weather(**arguments)

    for stream in (False, True):
        with logfire.span("weather agent turn {stream}", stream=stream):
            _agent_turn(client, QUESTION, stream, tool)
    logfire.force_flush()


def _azure_turns(base_url: str, tracer_provider: Any) -> None:
    """The Azure AI Inference client's own tracing: messages as span events with a JSON
    ``gen_ai.event.content``. It traces through azure-core, which takes the global provider."""
    from azure.ai.inference import ChatCompletionsClient
    from azure.ai.inference.tracing import AIInferenceInstrumentor
    from azure.core.credentials import AzureKeyCredential
    from azure.core.settings import settings
    from opentelemetry import trace

    trace.set_tracer_provider(tracer_provider)
    settings.tracing_implementation = "opentelemetry"
    AIInferenceInstrumentor().instrument(enable_content_recording=True)
    client = ChatCompletionsClient(endpoint=base_url, credential=AzureKeyCredential("sk-stand-in"))
    tracer = tracer_provider.get_tracer("weather_agent")
    for stream in (False, True):
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": QUESTION},
        ]
        label = "weather agent turn (streamed)" if stream else "weather agent turn"
        with tracer.start_as_current_span(label):
            while True:
                reply = client.complete(
                    messages=messages, tools=TOOLS, model=MODEL, temperature=0.2, stream=stream
                )
                content, calls = _collect(reply) if stream else _message(reply)
                if not calls:
                    break
                messages.append({"role": "assistant", "content": content, "tool_calls": calls})
                for call in calls:
                    result = get_weather(**json.loads(call["function"]["arguments"]))
                    messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})


# ------------------------------------------------------------------------------------- output


class _SeededIds:
    """Trace and span ids from a generator seeded by the dialect name, so regenerating a fixture
    changes its ids only when the spans themselves change."""

    def __init__(self, seed: str) -> None:
        self._random = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._random.getrandbits(128) or 1

    def is_trace_id_random(self) -> bool:
        return True  # as the SDK's default generator says, so span flags match a real run


def _write(path: Path, spans: Any, logs: Any) -> None:
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    if not spans:
        raise SystemExit(f"{path.name}: the instrumentation exported no spans")
    ordered = sorted(spans, key=lambda s: (s.start_time or 0, s.context.span_id))
    lines = [MessageToDict(encode_spans(ordered), use_integers_for_enums=True)]
    if logs:
        lines.append(MessageToDict(encode_logs(list(logs)), use_integers_for_enums=True))
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            _hex_ids(line)
            out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"  wrote {path} ({len(spans)} spans, {len(logs)} log records)", flush=True)


_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(node: Any) -> None:
    """protobuf's JSON mapping writes bytes as base64; OTLP/JSON wants trace and span ids in hex."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str) and value:
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


if __name__ == "__main__":
    main()
