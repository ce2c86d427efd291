"""Memory for agents: threads, a recent window, working memory and semantic recall, in SQLite.

``Agent(..., memory=Memory())`` then ``agent.run(msg, thread_id="t1", resource_id="u1")``. Every
operation is traced (GenAI memory operations) and every change is an OTel log record that
``rebuild_memory_state`` replays.
"""

from __future__ import annotations

from lumos_core.memory.codec import message_from_dict, message_to_dict
from lumos_core.memory.embeddings import Embedder, EmbeddingError, HashingEmbedder, OpenAIEmbedder
from lumos_core.memory.events import MemoryState, ThreadState, rebuild_memory_state
from lumos_core.memory.memory import DEFAULT_RESOURCE, Memory, new_thread_id
from lumos_core.memory.recall import RecalledMessage, SemanticRecall
from lumos_core.memory.store import MemoryStoreError, StoredMessage, Thread
from lumos_core.memory.working import WorkingMemory

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
