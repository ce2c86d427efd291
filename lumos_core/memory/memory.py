"""``Memory``: conversation threads, working memory and semantic recall for agents, in SQLite.

Every operation is a span named by the GenAI conventions' memory operation (``search_memory``,
``upsert_memory``, ``update_memory``, ``delete_memory``) with ``gen_ai.memory.*`` attributes, and
every change is also emitted at once as a ``lumos.memory.<operation>`` log record (see
``events.py``). Safe to share between threads; two instances (or processes) can share one file.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import orjson
from opentelemetry import _logs, trace
from opentelemetry.trace import Span, SpanKind
from pydantic import BaseModel

from lumos_core.memory.codec import message_search_text, message_to_dict
from lumos_core.memory.context import Turn, current_run
from lumos_core.memory.embeddings import Embedder, HashingEmbedder
from lumos_core.memory.events import (
    KIND_MESSAGES,
    KIND_RECALL,
    KIND_THREAD,
    KIND_WORKING_MEMORY,
    MemoryState,
    ThreadState,
    emit_memory_event,
)
from lumos_core.memory.recall import RecalledMessage, SemanticRecall
from lumos_core.memory.store import MemoryDB, StoredMessage, Thread
from lumos_core.memory.vectors import to_blob, top_k
from lumos_core.memory.working import TOOL_NAME, WorkingMemory
from lumos_core.messages import Message
from lumos_core.telemetry import get_tracer
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import capturing_spans
from lumos_core.tools import Tool, ToolError

DEFAULT_RESOURCE: Final = "default"


class Memory:
    """Memory for agents: ``Agent(..., memory=Memory())``, then ``run(msg, thread_id=...)``.

    ``path``: the SQLite file (default ``.lumos/memory.db`` under the directory of first use,
    created then) or ``":memory:"``. ``last_messages``: how many recent messages of the thread the
    model sees (``None``: all). ``working_memory`` / ``semantic_recall``: ``True`` for defaults,
    ``False`` to switch off, or a ``WorkingMemory`` / ``SemanticRecall`` to configure.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        last_messages: int | None = 20,
        working_memory: bool | WorkingMemory = True,
        semantic_recall: bool | SemanticRecall = True,
        embedder: Embedder | None = None,
        store_id: str | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
    ) -> None:
        if last_messages is not None and last_messages < 0:
            raise ValueError("last_messages cannot be negative")
        self._db = MemoryDB(path)
        self.last_messages = last_messages
        self.working_memory_config: WorkingMemory | None = (
            WorkingMemory() if working_memory is True else working_memory or None
        )
        self.recall_config: SemanticRecall | None = (
            SemanticRecall() if semantic_recall is True else semantic_recall or None
        )
        self.embedder: Embedder = embedder or HashingEmbedder()
        self.store_id = store_id
        self.tracer_provider = tracer_provider
        self.logger_provider = logger_provider

    def __repr__(self) -> str:
        return f"Memory({self.path!r})"

    @property
    def path(self) -> str:
        return self._db.path

    def close(self) -> None:
        """Close the file; the next operation opens it again."""
        self._db.close()

    # Threads and messages

    def thread(self, thread_id: str) -> Thread | None:
        return self._db.thread(thread_id)

    def threads(self, resource_id: str | None = None) -> list[Thread]:
        """Threads, most recently active first."""
        return self._db.threads(resource_id)

    def resolve_resource(self, thread_id: str, resource_id: str | None) -> str:
        """``resource_id``, else the thread's own, else ``"default"``."""
        if resource_id:
            return resource_id
        thread = self._db.thread(thread_id)
        return thread.resource_id if thread else DEFAULT_RESOURCE

    def messages(
        self, thread_id: str, *, last: int | None = None, resource_id: str | None = None
    ) -> list[StoredMessage]:
        """The thread's messages, oldest first (only the last ``last`` when given).

        ``resource_id`` only labels the span; a thread's messages are its own.
        """
        with self._operation(sc.OP_SEARCH_MEMORY, KIND_MESSAGES, thread_id, resource_id) as span:
            found = self._db.last_messages(thread_id, last)
            span.set_attribute(sc.MEMORY_RECORD_COUNT, len(found))
        return found

    def save_messages(
        self,
        thread_id: str,
        messages: Sequence[Message | StoredMessage],
        *,
        resource_id: str | None = None,
    ) -> list[StoredMessage]:
        """Append ``Message``s to the thread (created if new); a ``StoredMessage`` replaces the
        stored one with its id. User and assistant text is embedded for recall."""
        resource = self.resolve_resource(thread_id, resource_id)
        with self._operation(sc.OP_UPSERT_MEMORY, KIND_MESSAGES, thread_id, resource) as span:
            items = list(messages)
            vectors = self._vectors(
                [message_search_text(m.message if isinstance(m, StoredMessage) else m)
                 for m in items]
            )
            saved = self._db.save(thread_id, resource, items, vectors)
            span.set_attribute(sc.MEMORY_RECORD_COUNT, len(saved))
            if span.is_recording() and capturing_spans():
                span.set_attribute(sc.MEMORY_RECORDS, _records(saved))
            emit_memory_event(
                sc.OP_UPSERT_MEMORY,
                {
                    "kind": KIND_MESSAGES,
                    "thread_id": thread_id,
                    "resource_id": resource,
                    "messages": [m.to_dict() for m in saved],
                },
                self.logger_provider,
            )
        return saved

    def delete_thread(self, thread_id: str) -> bool:
        """Forget a thread, its messages and its thread-scoped working memory."""
        with self._operation(sc.OP_DELETE_MEMORY, KIND_THREAD, thread_id) as span:
            deleted = self._db.delete_thread(thread_id)
            if deleted is not None:
                span.set_attribute(sc.LUMOS_MEMORY_RESOURCE_ID, deleted.resource_id)
                emit_memory_event(
                    sc.OP_DELETE_MEMORY,
                    {"kind": KIND_THREAD, "thread_id": thread_id,
                     "resource_id": deleted.resource_id},
                    self.logger_provider,
                )
        return deleted is not None

    # Working memory

    def working_memory(
        self, *, thread_id: str | None = None, resource_id: str | None = None
    ) -> str | None:
        """The stored working memory for this thread/resource (``None`` if never written)."""
        working = self._working()
        scope, key, thread_id, resource = self._wm_key(working, thread_id, resource_id)
        with self._operation(sc.OP_SEARCH_MEMORY, KIND_WORKING_MEMORY, thread_id, resource) as span:
            span.set_attribute(sc.MEMORY_RECORD_ID, f"{scope}:{key}")
            value = self._db.working_memory(scope, key)
            span.set_attribute(sc.MEMORY_RECORD_COUNT, int(value is not None))
        return value

    def update_working_memory(
        self,
        value: str | BaseModel | dict[str, Any],
        *,
        thread_id: str | None = None,
        resource_id: str | None = None,
    ) -> str:
        """Replace the markdown working memory, or merge fields into structured memory; returns
        the stored value."""
        working = self._working()
        scope, key, thread_id, resource = self._wm_key(working, thread_id, resource_id)
        with self._operation(sc.OP_UPDATE_MEMORY, KIND_WORKING_MEMORY, thread_id, resource) as span:
            span.set_attribute(sc.MEMORY_RECORD_ID, f"{scope}:{key}")
            if working.schema is not None and not isinstance(value, BaseModel):
                value = working.schema.model_validate(
                    orjson.loads(value) if isinstance(value, str) else value
                )
            current = self._db.working_memory(scope, key) if working.schema else None
            stored = working.merge(current, value)
            self._db.set_working_memory(scope, key, stored, working.format)
            span.set_attribute(sc.MEMORY_RECORD_COUNT, 1)
            if span.is_recording() and capturing_spans():
                span.set_attribute(
                    sc.MEMORY_RECORDS,
                    orjson.dumps([{"id": f"{scope}:{key}", "content": stored}]).decode(),
                )
            emit_memory_event(
                sc.OP_UPDATE_MEMORY,
                {
                    "kind": KIND_WORKING_MEMORY,
                    "scope": scope,
                    "key": key,
                    "thread_id": thread_id,
                    "resource_id": resource,
                    "value": stored,
                    "format": working.format,
                },
                self.logger_provider,
            )
        turn = _current_turn(self)
        if turn is not None and working.key(turn.thread_id, turn.resource_id) == key:
            turn.working_memory = stored
        return stored

    def delete_working_memory(
        self, *, thread_id: str | None = None, resource_id: str | None = None
    ) -> bool:
        working = self._working()
        scope, key, thread_id, resource = self._wm_key(working, thread_id, resource_id)
        with self._operation(sc.OP_DELETE_MEMORY, KIND_WORKING_MEMORY, thread_id, resource) as span:
            span.set_attribute(sc.MEMORY_RECORD_ID, f"{scope}:{key}")
            deleted = self._db.delete_working_memory(scope, key)
            if deleted:
                emit_memory_event(
                    sc.OP_DELETE_MEMORY,
                    {"kind": KIND_WORKING_MEMORY, "scope": scope, "key": key,
                     "thread_id": thread_id, "resource_id": resource},
                    self.logger_provider,
                )
        return deleted

    def _working(self) -> WorkingMemory:
        if self.working_memory_config is None:
            raise ValueError("this Memory has working_memory=False")
        return self.working_memory_config

    def _wm_key(
        self, working: WorkingMemory, thread_id: str | None, resource_id: str | None
    ) -> tuple[str, str, str, str]:
        if working.scope == "thread" and not thread_id:
            raise ValueError("thread-scoped working memory needs a thread_id")
        if thread_id:
            resource = self.resolve_resource(thread_id, resource_id)
        else:
            resource = resource_id or DEFAULT_RESOURCE
        key = working.key(thread_id or "", resource)
        return working.scope, key, thread_id or "", resource

    # Semantic recall

    def search(
        self,
        query: str,
        *,
        resource_id: str,
        thread_id: str | None = None,
        top_k: int = 5,
        exclude: Sequence[str] = (),
        min_score: float = 0.0,
    ) -> list[RecalledMessage]:
        """Stored messages of ``resource_id`` (or of one thread) most similar to ``query``."""
        with self._operation(sc.OP_SEARCH_MEMORY, KIND_RECALL, thread_id, resource_id) as span:
            hits = self._search(query, resource_id, thread_id, top_k, set(exclude), min_score)
            _record_recall(span, query, hits)
        return hits

    def recall(
        self, query: str, *, thread_id: str, resource_id: str, exclude: Sequence[str] = ()
    ) -> list[list[RecalledMessage]]:
        """Recall for a new message: hits with their neighbours, grouped by exchange, best
        first. Messages in ``exclude`` (those already in the window) are left out."""
        config = self.recall_config
        if config is None:
            return []
        scoped_thread = thread_id if config.scope == "thread" else None
        with self._operation(sc.OP_SEARCH_MEMORY, KIND_RECALL, thread_id, resource_id) as span:
            span.set_attribute(sc.MEMORY_SEARCH_SIMILARITY_THRESHOLD, config.min_score)
            skip = set(exclude)
            hits = self._search(query, resource_id, scoped_thread, config.top_k, skip,
                                config.min_score)
            groups = self._with_neighbours(hits, skip, *config.around)
            _record_recall(span, query, [m for group in groups for m in group])
        return groups

    def _search(
        self,
        query: str,
        resource_id: str,
        thread_id: str | None,
        k: int,
        exclude: set[str],
        min_score: float,
    ) -> list[RecalledMessage]:
        if not query.strip():
            return []
        vector = self.embedder.embed([query])[0]
        candidates = (c for c in self._db.vectors(resource_id, thread_id) if c[0] not in exclude)
        best = [(key, score) for key, score in top_k(vector, candidates, k) if score > min_score]
        stored = self._db.messages_by_id([key for key, _ in best])
        return [RecalledMessage(stored[key], score) for key, score in best if key in stored]

    def _with_neighbours(
        self, hits: list[RecalledMessage], exclude: set[str], before: int, after: int
    ) -> list[list[RecalledMessage]]:
        ranges: dict[str, list[list[int]]] = {}
        for hit in hits:
            spans = ranges.setdefault(hit.stored.thread_id, [])
            spans.append([hit.stored.seq - before, hit.stored.seq + after])
        scores = {hit.stored.id: hit.score for hit in hits}
        groups: list[list[RecalledMessage]] = []
        for thread_id, spans in ranges.items():
            spans.sort()
            merged = [spans[0]]
            for first, last in spans[1:]:
                if first <= merged[-1][1] + 1:
                    merged[-1][1] = max(merged[-1][1], last)
                else:
                    merged.append([first, last])
            for first, last in merged:
                group = [
                    RecalledMessage(m, scores.get(m.id))
                    for m in self._db.messages_between(thread_id, first, last)
                    if m.id not in exclude
                ]
                if any(m.is_hit for m in group):
                    groups.append(group)
        groups.sort(key=lambda g: -max(m.score for m in g if m.score is not None))
        return groups

    def _vectors(self, texts: list[str]) -> list[bytes | None]:
        if self.recall_config is None:
            return [None] * len(texts)
        wanted = [i for i, text in enumerate(texts) if text.strip()]
        vectors: list[bytes | None] = [None] * len(texts)
        if wanted:
            embedded = self.embedder.embed([texts[i] for i in wanted])
            for i, vector in zip(wanted, embedded, strict=True):
                vectors[i] = to_blob(vector)
        return vectors

    # Whole state

    def snapshot(self) -> MemoryState:
        """Everything stored, in the shape ``rebuild_memory_state`` gives from events."""
        state = MemoryState()
        for thread, messages in self._db.all_messages():
            state.threads[thread.id] = ThreadState(thread.id, thread.resource_id, messages)
        state.working_memory = self._db.all_working_memory()
        return state

    # Agent integration

    def tools(self) -> list[Tool]:
        """The tools an agent with this memory gets: ``update_working_memory`` when enabled."""
        working = self.working_memory_config
        if working is None:
            return []
        owner = self

        def update_working_memory(memory: Any) -> str:
            turn = _current_turn(owner)
            if turn is None:
                raise ToolError("working memory is only available while the agent runs in a thread")
            owner.update_working_memory(
                memory, thread_id=turn.thread_id, resource_id=turn.resource_id
            )
            return "Working memory updated."

        update_working_memory.__annotations__ = {"memory": working.schema or str, "return": str}
        description = (
            "Replace your working memory with this complete markdown document."
            if working.schema is None
            else "Update fields of your working memory; fields you leave out are kept."
        )
        return [Tool(update_working_memory, name=TOOL_NAME, description=description)]

    def begin_turn(
        self,
        thread_id: str,
        resource_id: str | None,
        user: Message,
        history: Sequence[Message] | None = None,
    ) -> Turn:
        """Load what the model sees for a new user message, then save that message.

        ``history``, when given, replaces the stored window (the caller manages the conversation)
        but the turn is still saved, recalled and given working memory.
        """
        resource = self.resolve_resource(thread_id, resource_id)
        window: list[StoredMessage] = []
        if history is None and self.last_messages != 0:
            recent = self.messages(thread_id, last=self.last_messages, resource_id=resource)
            window = _without_leading_tool_results(recent)
        shown = list(history) if history is not None else [m.message for m in window]
        working = None
        if self.working_memory_config is not None:
            working = self.working_memory(thread_id=thread_id, resource_id=resource)
        recalled: list[list[RecalledMessage]] = []
        if self.recall_config is not None and user.text.strip():
            recalled = self.recall(
                user.text, thread_id=thread_id, resource_id=resource,
                exclude=[m.id for m in window],
            )
        self.save_messages(thread_id, [user], resource_id=resource)
        return Turn(self, thread_id, resource, window, shown, working, recalled)

    @contextmanager
    def _operation(
        self, operation: str, kind: str, thread_id: str | None, resource_id: str | None = None
    ) -> Iterator[Span]:
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: operation,
            sc.MEMORY_STORE_ID: self.store_id or self.path,
            sc.LUMOS_MEMORY_KIND: kind,
        }
        if thread_id:
            attributes[sc.CONVERSATION_ID] = thread_id
        if resource_id:
            attributes[sc.LUMOS_MEMORY_RESOURCE_ID] = resource_id
        tracer = get_tracer(self.tracer_provider)
        with tracer.start_as_current_span(
            operation, kind=SpanKind.INTERNAL, attributes=attributes
        ) as span:
            yield span


def new_thread_id() -> str:
    """A fresh thread id, for runs that did not name one."""
    return uuid.uuid4().hex


def _current_turn(memory: Memory) -> Turn | None:
    run = current_run()
    turn = run.turn if run is not None else None
    return turn if turn is not None and turn.memory is memory else None


def _without_leading_tool_results(window: list[StoredMessage]) -> list[StoredMessage]:
    """A window cut mid-exchange may start with tool results whose call fell outside it; providers
    reject those, so they are dropped."""
    start = 0
    while start < len(window) and window[start].message.role == "tool":
        start += 1
    return window[start:]


def _records(saved: list[StoredMessage]) -> str:
    return orjson.dumps(
        [
            {"id": m.id, "content": message_to_dict(m.message),
             "metadata": {"thread_id": m.thread_id, "seq": m.seq}}
            for m in saved
        ]
    ).decode()


def _record_recall(span: Span, query: str, hits: list[RecalledMessage]) -> None:
    span.set_attribute(sc.MEMORY_RECORD_COUNT, len(hits))
    if not span.is_recording() or not capturing_spans():
        return
    span.set_attribute(sc.MEMORY_QUERY_TEXT, query)
    records = []
    for hit in hits:
        record: dict[str, Any] = {
            "id": hit.stored.id,
            "content": hit.stored.message.text,
            "metadata": {"thread_id": hit.stored.thread_id, "seq": hit.stored.seq,
                         "role": hit.stored.message.role, "neighbour": not hit.is_hit},
        }
        if hit.score is not None:
            record["score"] = round(hit.score, 4)
        records.append(record)
    span.set_attribute(sc.MEMORY_RECORDS, orjson.dumps(records).decode())
