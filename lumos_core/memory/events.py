"""Memory changes as OpenTelemetry log records, and the state they rebuild.

OTLP ships a span only when it ends, so every change is also emitted at once as a log record
(``event_name = lumos.memory.<operation>``) inside the operation's span: a viewer sees memory change
while the agent runs, and replaying the bodies in order rebuilds the memory as it was at any point
(``rebuild_memory_state``), which is how the studio travels back in time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import _logs
from opentelemetry._logs import SeverityNumber

from lumos_core.memory.codec import message_from_dict
from lumos_core.memory.store import StoredMessage
from lumos_core.telemetry import get_logger
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import CONTENT_OMITTED, memory_event_body

KIND_MESSAGES = "messages"
KIND_WORKING_MEMORY = "working_memory"
KIND_THREAD = "thread"
KIND_RECALL = "recall"


def emit_memory_event(
    operation: str,
    body: dict[str, Any],
    logger_provider: _logs.LoggerProvider | None = None,
) -> None:
    """Emit one ``lumos.memory.<operation>`` record in the current context (so it carries the
    current span's trace and span ids)."""
    attributes: dict[str, Any] = {sc.OPERATION_NAME: operation, sc.LUMOS_MEMORY_KIND: body["kind"]}
    if body.get("thread_id"):
        attributes[sc.CONVERSATION_ID] = body["thread_id"]
    if body.get("resource_id"):
        attributes[sc.LUMOS_MEMORY_RESOURCE_ID] = body["resource_id"]
    get_logger(logger_provider).emit(
        timestamp=time.time_ns(),
        severity_number=SeverityNumber.INFO,
        severity_text="INFO",
        event_name=sc.EVENT_MEMORY_PREFIX + operation,
        body=memory_event_body({"op": operation, **body}),
        attributes=attributes,
    )


@dataclass
class ThreadState:
    """One thread as memory holds it: its resource and its messages in order."""

    thread_id: str
    resource_id: str
    messages: list[StoredMessage] = field(default_factory=list)


@dataclass
class MemoryState:
    """Everything a memory holds that a model can be shown: threads and working memory.

    ``working_memory`` is keyed by ``(scope, key)``: ``("thread", thread_id)`` or
    ``("resource", resource_id)``.
    """

    threads: dict[str, ThreadState] = field(default_factory=dict)
    working_memory: dict[tuple[str, str], str] = field(default_factory=dict)

    def working_memory_of(self, thread_id: str) -> str | None:
        """What the agent sees in this thread: thread-scoped memory, else its resource's."""
        if ("thread", thread_id) in self.working_memory:
            return self.working_memory[("thread", thread_id)]
        thread = self.threads.get(thread_id)
        if thread is None:
            return None
        return self.working_memory.get(("resource", thread.resource_id))


def rebuild_memory_state(events: Iterable[Any], state: MemoryState | None = None) -> MemoryState:
    """Replay memory events, in emission order, into a ``MemoryState`` (or onto ``state``).

    Accepts event bodies (dicts), SDK log records (``.log_record.body``) or anything with a
    ``body``; records that are not memory changes are skipped. Replaying an event twice changes
    nothing, so overlapping batches are safe.
    """
    state = state if state is not None else MemoryState()
    for event in events:
        body = _body(event)
        if body is None:
            continue
        op, kind = body.get("op"), body.get("kind")
        if op == sc.OP_UPSERT_MEMORY and kind == KIND_MESSAGES:
            _apply_messages(state, body)
        elif op == sc.OP_UPDATE_MEMORY and kind == KIND_WORKING_MEMORY:
            if body.get(CONTENT_OMITTED):
                continue  # recorded without content: the value is not known
            state.working_memory[(str(body["scope"]), str(body["key"]))] = str(body["value"])
        elif op == sc.OP_DELETE_MEMORY and kind == KIND_WORKING_MEMORY:
            state.working_memory.pop((str(body["scope"]), str(body["key"])), None)
        elif op == sc.OP_DELETE_MEMORY and kind == KIND_THREAD:
            thread_id = str(body["thread_id"])
            state.threads.pop(thread_id, None)
            state.working_memory.pop(("thread", thread_id), None)
    return state


def _apply_messages(state: MemoryState, body: Mapping[str, Any]) -> None:
    thread_id = str(body["thread_id"])
    thread = state.threads.get(thread_id)
    if thread is None:
        thread = state.threads[thread_id] = ThreadState(thread_id, str(body["resource_id"]))
    by_id = {m.id: i for i, m in enumerate(thread.messages)}
    for entry in body.get("messages", ()):
        stored = StoredMessage(
            str(entry["id"]),
            thread_id,
            int(entry["seq"]),
            message_from_dict(entry["message"]),
            int(entry["created_ns"]),
        )
        if stored.id in by_id:
            thread.messages[by_id[stored.id]] = stored
        else:
            by_id[stored.id] = len(thread.messages)
            thread.messages.append(stored)
    thread.messages.sort(key=lambda m: m.seq)


def _body(event: Any) -> Mapping[str, Any] | None:
    body: object
    if isinstance(event, Mapping):
        body = event
    else:
        record = getattr(event, "log_record", event)
        body = getattr(record, "body", None)
        name = getattr(record, "event_name", None)
        if name is not None and name and not str(name).startswith(sc.EVENT_MEMORY_PREFIX):
            return None
    return body if isinstance(body, Mapping) and "op" in body and "kind" in body else None
