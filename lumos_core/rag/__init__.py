"""Retrieval-augmented generation: chunk documents, index them (BM25 + vectors), retrieve.

``index = DocumentIndex(); index.add_file("README.md")`` then give an agent
``retrieve_tool(index)``; every search is a traced ``retrieval`` span.
"""

from __future__ import annotations

from lumos_core.memory.embeddings import Embedder, HashingEmbedder, OpenAIEmbedder
from lumos_core.rag.chunking import Chunk, chunk_document, split_markdown, split_text
from lumos_core.rag.index import DocumentIndex, Reranker, Retrieved
from lumos_core.rag.tool import format_results, retrieve_tool

__all__ = [
    "Chunk",
    "DocumentIndex",
    "Embedder",
    "HashingEmbedder",
    "OpenAIEmbedder",
    "Reranker",
    "Retrieved",
    "chunk_document",
    "format_results",
    "retrieve_tool",
    "split_markdown",
    "split_text",
]
