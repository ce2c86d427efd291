"""Memory for agents: threads, a recent window, working memory and semantic recall, in SQLite.

``Agent(..., memory=Memory())`` then ``agent.run(msg, thread_id="t1", resource_id="u1")``. Every
operation is traced (GenAI memory operations) and every change is an OTel log record that
``rebuild_memory_state`` replays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lumos_core._lazy import load_export

if TYPE_CHECKING:
    from lumos_core.memory.codec import message_from_dict, message_to_dict
    from lumos_core.memory.embeddings import (
        Embedder,
        EmbeddingError,
        HashingEmbedder,
        OpenAIEmbedder,
    )
    from lumos_core.memory.events import MemoryState, ThreadState, rebuild_memory_state
    from lumos_core.memory.memory import DEFAULT_RESOURCE, Memory, new_thread_id
    from lumos_core.memory.recall import RecalledMessage, SemanticRecall
    from lumos_core.memory.store import MemoryStoreError, StoredMessage, Thread
    from lumos_core.memory.working import WorkingMemory

# Each name is imported on first use: a reader of memory's events (the studio's memory pane)
# need not load the memory itself, which brings pydantic (~60 ms at start).
_EXPORTS = {
    **dict.fromkeys(("message_from_dict", "message_to_dict"), "lumos_core.memory.codec"),
    **dict.fromkeys(("Embedder", "EmbeddingError", "HashingEmbedder", "OpenAIEmbedder"),
                    "lumos_core.memory.embeddings"),
    **dict.fromkeys(("MemoryState", "ThreadState", "rebuild_memory_state"),
                    "lumos_core.memory.events"),
    **dict.fromkeys(("DEFAULT_RESOURCE", "Memory", "new_thread_id"), "lumos_core.memory.memory"),
    **dict.fromkeys(("RecalledMessage", "SemanticRecall"), "lumos_core.memory.recall"),
    **dict.fromkeys(("MemoryStoreError", "StoredMessage", "Thread"), "lumos_core.memory.store"),
    "WorkingMemory": "lumos_core.memory.working",
}

__all__ = [
    "DEFAULT_RESOURCE",
    "Embedder",
    "EmbeddingError",
    "HashingEmbedder",
    "Memory",
    "MemoryState",
    "MemoryStoreError",
    "OpenAIEmbedder",
    "RecalledMessage",
    "SemanticRecall",
    "StoredMessage",
    "Thread",
    "ThreadState",
    "WorkingMemory",
    "message_from_dict",
    "message_to_dict",
    "new_thread_id",
    "rebuild_memory_state",
]


def __getattr__(name: str) -> object:
    return load_export(globals(), _EXPORTS, name)
