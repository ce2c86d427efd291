"""``retrieve_tool``: a document index as a tool an agent calls with its question."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from lumos_core.rag.index import DocumentIndex, Mode, Retrieved
from lumos_core.tools import Tool

NO_RESULTS: Final = "No matching passages found."


def retrieve_tool(
    index: DocumentIndex | Callable[[], DocumentIndex],
    top_k: int = 4,
    *,
    name: str = "retrieve",
    description: str | None = None,
    mode: Mode = "hybrid",
) -> Tool:
    """A tool that searches ``index`` and returns the best chunks, numbered, with their source.

    ``index`` may be a function returning the index, called at the first search, so building it
    (reading and embedding files) waits until an agent actually needs it.
    """
    resolved: list[DocumentIndex] = []

    def retrieve(query: str) -> str:
        if not resolved:
            resolved.append(index if isinstance(index, DocumentIndex) else index())
        return format_results(resolved[0].search(query, top_k, mode=mode))

    retrieve.__doc__ = description or (
        "Search the documents for passages relevant to a question; cite them by their number."
    )
    return Tool(retrieve, name=name)


def format_results(found: list[Retrieved]) -> str:
    """Chunks as the model reads them: ``[n] source › heading (id, score)`` then the text."""
    if not found:
        return NO_RESULTS
    blocks = []
    for number, hit in enumerate(found, start=1):
        chunk = hit.chunk
        where = " › ".join(p for p in (chunk.source, chunk.heading) if p) or chunk.document_id
        blocks.append(f"[{number}] {where} (id {chunk.id}, score {hit.score:.4f})\n{chunk.text}")
    return "\n\n".join(blocks)
