"""The bench's data: agent runs (traces of 20 spans with messages) and a busy service's logs.

Deterministic (seeded), so stores built from them are the same on every machine and can be
cached (``bench.stores``); the generators change rarely, and a change rebuilds the cache.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import orjson

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import LogRecord, SpanRecord

T0 = 1_764_000_000_000_000_000
MS = 1_000_000
AGENTS = ("weather", "support", "trip planner", "researcher", "coder")
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet", "llama3", "scripted")
TOOLS = ("get_weather", "search", "lookup_order", "send_email", "calc")
WORDS = (*(f"w{i}" for i in range(5_000)), "paris", "london", "refund", "invoice", "weather",
         "timeout", "booking", "train", "delay", "password")


class AgentRuns:
    """Deterministic agent runs: what a busy week of development leaves in a store."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)

    def _words(self, count: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(count))

    @staticmethod
    def _messages(role: str, text: str) -> str:
        return orjson.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}]).decode()

    def trace(self, number: int) -> list[SpanRecord]:
        rng = self.rng
        trace_id = f"{number:032x}"
        root_id = f"{number:08x}00000001"
        start = T0 + number * 10**9
        agent, model = rng.choice(AGENTS), rng.choice(MODELS)
        conversation = f"thread-{number // 5}"
        question = self._words(20)
        resource = {"service.name": "bench"}
        spans: list[SpanRecord] = []
        moment = start + MS
        for step in range(9):
            chat_id, tool_id = f"{number:08x}{2 * step + 2:08x}", f"{number:08x}{2 * step + 3:08x}"
            spans.append(SpanRecord(
                trace_id, chat_id, root_id, f"chat {model}", moment,
                moment + rng.randint(50, 2_000) * MS, "CLIENT", "OK",
                attributes={
                    sc.OPERATION_NAME: "chat", sc.REQUEST_MODEL: model,
                    sc.CONVERSATION_ID: conversation,
                    sc.USAGE_INPUT_TOKENS: rng.randint(10, 2_000),
                    sc.USAGE_OUTPUT_TOKENS: rng.randint(10, 500),
                    sc.INPUT_MESSAGES: self._messages("user", question),
                    sc.OUTPUT_MESSAGES: self._messages("assistant", self._words(40)),
                },
                resource=resource, scope_name="lumos_core",
            ))
            tool = rng.choice(TOOLS)
            spans.append(SpanRecord(
                trace_id, tool_id, root_id, f"execute_tool {tool}", moment, moment + 5 * MS,
                "INTERNAL", "OK", attributes={sc.OPERATION_NAME: "execute_tool",
                                              sc.TOOL_NAME: tool},
                resource=resource, scope_name="lumos_core",
            ))
            moment += 100 * MS
        spans.append(SpanRecord(
            trace_id, f"{number:08x}00000099", root_id, "search_memory", start, start + MS,
            "INTERNAL", "OK", attributes={sc.OPERATION_NAME: "search_memory"},
            resource=resource, scope_name="lumos_core",
        ))
        root = SpanRecord(
            trace_id, root_id, None, f"invoke_agent {agent}", start, moment + MS, "INTERNAL",
            "ERROR" if rng.random() < 0.05 else "OK",
            attributes={
                sc.OPERATION_NAME: "invoke_agent", sc.AGENT_NAME: agent, sc.REQUEST_MODEL: model,
                sc.CONVERSATION_ID: conversation,
                sc.INPUT_MESSAGES: self._messages("user", question),
                sc.OUTPUT_MESSAGES: self._messages("assistant", self._words(30)),
            },
            resource=resource, scope_name="lumos_core",
        )
        return [root, *spans]


LEVELS = ((5, "DEBUG", 30), (9, "INFO", 50), (13, "WARN", 12), (17, "ERROR", 7), (21, "FATAL", 1))
LOGGERS = (
    "app.agent", "app.tools", "app.memory", "app.http", "app.db", "app.cache", "app.rag",
    "httpx", "openai", "lumos_core.agent", "worker.output",
)
SERVICES = ("studio", "weather-agent", "billing-api")
LOG_WORDS = (
    "request", "user", "session", "token", "cache", "miss", "hit", "retry", "timeout",
    "connection", "refused", "accepted", "query", "embedding", "vector", "document", "chunk",
    "model", "prompt", "completion", "stream", "tool", "call", "result", "weather", "paris",
    "london", "tokyo", "berlin", "budget", "invoice", "payment", "failed", "succeeded", "queued",
    "worker", "thread", "lock", "acquired", "released", "memory", "updated", "deleted", "created",
    "loaded", "saved",
)


def generate_logs(count: int, seed: int = 7) -> Iterator[LogRecord]:
    """Logs like a busy agent service's: 70 % in spans (5 per span), mixed levels and loggers."""
    rng = random.Random(seed)
    weights = [w for *_, w in LEVELS]
    levels = rng.choices(LEVELS, weights, k=count)
    trace_id = span_id = None
    time_ns = T0
    for i in range(count):
        if i % 20 == 0:
            inside = rng.random() < 0.7
            trace_id = f"{rng.getrandbits(128):032x}" if inside else None
        if i % 5 == 0:
            span_id = f"{rng.getrandbits(64):016x}" if trace_id else None
        number, text, _ = levels[i]
        words = " ".join(rng.choices(LOG_WORDS, k=rng.randint(4, 14)))
        body = f"{words} id={rng.randint(0, 99_999)} took {rng.random() * 100:.1f}ms"
        attributes = (
            {"code.function": rng.choice(LOG_WORDS), "code.lineno": rng.randint(1, 900)}
            if i % 2
            else {}
        )
        time_ns += rng.randint(1, 2_000_000)
        yield LogRecord(
            time_ns, body, number, text, trace_id, span_id, attributes=attributes,
            resource={"service.name": SERVICES[i % 3]}, scope_name=LOGGERS[i % len(LOGGERS)],
        )


