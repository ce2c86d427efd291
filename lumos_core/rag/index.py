"""A document index in SQLite: FTS5 (BM25) for words, vectors for similarity, fused by rank.

BM25 finds chunks sharing the query's rare words exactly; vectors (hashing n-grams by default)
also find inflections, typos and reworded matches. Reciprocal-rank fusion combines the two lists by
rank alone, so neither score scale has to be calibrated against the other. Each search is a
``retrieval`` span (query, top-k ids and scores) and is noted on the current agent run.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from lumos_core.memory.context import current_run
from lumos_core.memory.embeddings import STOPWORDS, Embedder, HashingEmbedder
from lumos_core.memory.vectors import to_blob, top_k
from lumos_core.rag.chunking import Chunk, chunk_document
from lumos_core.telemetry import get_tracer
from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.content import capturing_spans

Mode = Literal["hybrid", "bm25", "vector"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, hash TEXT NOT NULL, added_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    document_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    heading_path TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    metadata TEXT NOT NULL,
    embedding BLOB
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks (document_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    heading, body, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Retrieved:
    """A chunk found for a query: its fused (or single-method) score and its rank per method."""

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)


Reranker = Callable[[str, list[Retrieved]], Sequence[Retrieved]]


class DocumentIndex:
    """Documents split into chunks, searchable by BM25, by vector or both (the default).

    ``path``: ``":memory:"`` (default) or a SQLite file, so an index built once is reused.
    ``name`` is the ``gen_ai.data_source.id`` of its retrieval spans.
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        name: str = "documents",
        embedder: Embedder | None = None,
        chunk_size: int = 800,
        chunk_overlap: int = 100,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        self.name = name
        self.embedder: Embedder = embedder or HashingEmbedder()
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.tracer_provider = tracer_provider
        self._lock = threading.RLock()
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout = 5000")
        if target != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"DocumentIndex(name={self.name!r}, chunks={len(self)})"

    def __len__(self) -> int:
        with self._lock:
            count: int = self._conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return count

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # Adding documents

    def add(
        self,
        text: str,
        *,
        id: str | None = None,
        source: str = "",
        markdown: bool | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> list[Chunk]:
        """Index a document (replacing one with the same id); unchanged documents are skipped."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        document_id = id or source or digest[:16]
        with self._lock:
            row = self._conn.execute(
                "SELECT hash FROM documents WHERE id = ?", (document_id,)
            ).fetchone()
            if row is not None and row[0] == digest:
                return self.chunks(document_id)
        chunks = chunk_document(
            text, document_id, source=source, markdown=markdown, chunk_size=self.chunk_size,
            chunk_overlap=self.chunk_overlap, metadata=metadata,
        )
        vectors = self.embedder.embed([c.indexed_text for c in chunks]) if chunks else []
        with self._write() as conn:
            self._delete(conn, document_id)
            conn.execute(
                "INSERT INTO documents (id, source, hash, added_ns) VALUES (?, ?, ?, ?)",
                (document_id, source, digest, time.time_ns()),
            )
            for chunk, vector in zip(chunks, vectors, strict=True):
                cursor = conn.execute(
                    "INSERT INTO chunks (id, document_id, position, heading_path, text, source,"
                    " metadata, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        chunk.id, document_id, chunk.position,
                        orjson.dumps(chunk.heading_path).decode(), chunk.text, source,
                        orjson.dumps(chunk.metadata).decode(), to_blob(vector),
                    ),
                )
                conn.execute(
                    "INSERT INTO chunks_fts (rowid, heading, body) VALUES (?, ?, ?)",
                    (cursor.lastrowid, chunk.heading, chunk.text),
                )
        return chunks

    def add_file(self, path: str | Path, *, id: str | None = None) -> list[Chunk]:
        """Index a text or markdown file (markdown by its suffix)."""
        file = Path(path)
        return self.add(
            file.read_text(encoding="utf-8"),
            id=id or file.name,
            source=file.name,
            markdown=file.suffix.lower() in (".md", ".markdown"),
        )

    def remove(self, document_id: str) -> bool:
        with self._write() as conn:
            return self._delete(conn, document_id)

    @staticmethod
    def _delete(conn: sqlite3.Connection, document_id: str) -> bool:
        conn.execute(
            "DELETE FROM chunks_fts WHERE rowid IN"
            " (SELECT rowid FROM chunks WHERE document_id = ?)",
            (document_id,),
        )
        conn.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        return conn.execute("DELETE FROM documents WHERE id = ?", (document_id,)).rowcount > 0

    def chunks(self, document_id: str | None = None) -> list[Chunk]:
        sql = "SELECT * FROM chunks"
        args: tuple[str, ...] = ()
        if document_id is not None:
            sql += " WHERE document_id = ?"
            args = (document_id,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY document_id, position", args).fetchall()
        return [_chunk(r) for r in rows]

    # Searching

    def search(
        self,
        query: str,
        top_k: int = 5,
        *,
        mode: Mode = "hybrid",
        rerank: Reranker | None = None,
        candidates: int = 50,
        rrf_k: int = 60,
    ) -> list[Retrieved]:
        """The ``top_k`` chunks for ``query``, best first.

        ``hybrid`` fuses the BM25 and vector rankings of ``candidates`` chunks each with
        reciprocal-rank fusion (``1 / (rrf_k + rank)`` summed); ``rerank``, if given, reorders the
        fused candidates (a cross-encoder, an LLM judge) before the cut to ``top_k``.
        """
        if mode not in ("hybrid", "bm25", "vector"):
            raise ValueError("mode must be 'hybrid', 'bm25' or 'vector'")
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_RETRIEVAL,
            sc.DATA_SOURCE_ID: self.name,
            sc.REQUEST_TOP_K: top_k,
            sc.LUMOS_RETRIEVAL_MODE: mode,
        }
        tracer = get_tracer(self.tracer_provider)
        with tracer.start_as_current_span(
            sc.span_name(sc.OP_RETRIEVAL, self.name), kind=SpanKind.INTERNAL,
            attributes=attributes,
        ) as span:
            pool = max(candidates, top_k)
            lists: dict[str, list[tuple[int, float]]] = {}
            if mode in ("hybrid", "bm25"):
                lists["bm25"] = self.bm25(query, pool)
            if mode in ("hybrid", "vector"):
                lists["vector"] = self.vector(query, pool)
            if mode == "hybrid":
                found = self._fuse(lists, rrf_k)
            else:
                found = self._single(lists[mode], mode)
            if rerank is not None:
                found = list(rerank(query, found))
            found = found[:top_k]
            if span.is_recording():
                if capturing_spans():
                    span.set_attribute(sc.RETRIEVAL_QUERY_TEXT, query)
                    span.set_attribute(sc.RETRIEVAL_DOCUMENTS, _documents_json(found))
                span.set_attribute(sc.LUMOS_RETRIEVAL_IDS, [r.chunk.id for r in found])
                span.set_attribute(sc.LUMOS_RETRIEVAL_SCORES, [r.score for r in found])
        run = current_run()
        if run is not None:
            run.retrieved.extend(
                {"id": r.chunk.id, "score": round(r.score, 4), "data_source": self.name}
                for r in found
            )
        return found

    def bm25(self, query: str, k: int) -> list[tuple[int, float]]:
        """``(chunk rowid, score)`` by FTS5 BM25, best first (score: higher is better)."""
        words = [w for w in _WORD.findall(query.lower())]
        kept = [w for w in words if w not in STOPWORDS] or words
        if not kept:
            return []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in dict.fromkeys(kept))
        with self._lock:
            rows = self._conn.execute(
                "SELECT rowid, bm25(chunks_fts) AS rank FROM chunks_fts WHERE chunks_fts MATCH ?"
                " ORDER BY rank LIMIT ?",
                (match, k),
            ).fetchall()
        return [(row[0], -row[1]) for row in rows]

    def vector(self, query: str, k: int) -> list[tuple[int, float]]:
        """``(chunk rowid, cosine similarity)`` by brute force over every chunk, best first."""
        if not query.strip():
            return []
        vector = self.embedder.embed([query])[0]
        with self._lock:
            rows = self._conn.execute(
                "SELECT rowid, embedding FROM chunks WHERE embedding IS NOT NULL"
            ).fetchall()
        return [(key, score) for key, score in top_k(vector, ((r[0], r[1]) for r in rows), k)
                if score > 0]

    def _fuse(self, lists: dict[str, list[tuple[int, float]]], rrf_k: int) -> list[Retrieved]:
        scores: dict[int, float] = {}
        ranks: dict[int, dict[str, int]] = {}
        for method, hits in lists.items():
            for rank, (rowid, _) in enumerate(hits, start=1):
                scores[rowid] = scores.get(rowid, 0.0) + 1.0 / (rrf_k + rank)
                ranks.setdefault(rowid, {})[method] = rank
        ordered = sorted(scores, key=lambda rowid: (-scores[rowid], min(ranks[rowid].values())))
        chunks = self._by_rowid(ordered)
        return [Retrieved(chunks[r], scores[r], ranks[r]) for r in ordered if r in chunks]

    def _single(self, hits: list[tuple[int, float]], method: str) -> list[Retrieved]:
        chunks = self._by_rowid([rowid for rowid, _ in hits])
        return [
            Retrieved(chunks[rowid], score, {method: rank})
            for rank, (rowid, score) in enumerate(hits, start=1)
            if rowid in chunks
        ]

    def _by_rowid(self, rowids: list[int]) -> dict[int, Chunk]:
        if not rowids:
            return {}
        marks = ",".join("?" * len(rowids))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT * FROM chunks WHERE rowid IN ({marks})", rowids
            ).fetchall()
        return {row["rowid"]: _chunk(row) for row in rows}


def _chunk(row: sqlite3.Row) -> Chunk:
    return Chunk(
        row["id"], row["document_id"], row["text"], tuple(orjson.loads(row["heading_path"])),
        row["position"], row["source"], orjson.loads(row["metadata"]),
    )


def _documents_json(found: list[Retrieved]) -> str:
    return orjson.dumps(
        [
            {"id": r.chunk.id, "score": round(r.score, 6), "heading": r.chunk.heading,
             "content": r.chunk.text, "ranks": r.ranks}
            for r in found
        ]
    ).decode()
