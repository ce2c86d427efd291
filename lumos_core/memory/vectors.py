"""Vectors as float32 blobs and brute-force similarity search in pure Python.

No numpy: the core stays small. Vectors are L2-normalised, so cosine similarity is a dot product;
hashing-embedder queries are sparse, so the dot product only visits the query's non-zero entries.
That keeps a scan of ~100k stored vectors well under a second.
"""

from __future__ import annotations

import heapq
import math
import operator
from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

K = TypeVar("K")


_sumprod = getattr(math, "sumprod", None)  # Python 3.12+: a C loop


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    total: float = sum(map(operator.mul, a, b))
    return total


def to_blob(vector: Sequence[float]) -> bytes:
    """A vector as little-endian-native float32 bytes (4 bytes a dimension)."""
    return array("f", vector).tobytes()


def from_blob(blob: bytes) -> array[float]:
    """The inverse of ``to_blob``."""
    vector = array("f")
    vector.frombytes(blob)
    return vector


def normalise(vector: Sequence[float]) -> list[float]:
    """``vector`` scaled to unit length (a zero vector stays zero)."""
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else list(vector)


def top_k(
    query: Sequence[float], candidates: Iterable[tuple[K, bytes]], k: int
) -> list[tuple[K, float]]:
    """The ``k`` candidates most similar to ``query`` (dot product), best first.

    Candidates whose dimension differs from the query's (another embedder) are skipped.
    """
    if k <= 0:
        return []
    width = len(query) * 4
    nonzero = [i for i, v in enumerate(query) if v]
    gather: Callable[[Sequence[float]], tuple[float, ...]] | None = None
    weights = list(query)
    if len(nonzero) * 2 < len(query):
        # A sparse query (hashing embeddings): gather only its non-zero entries, in C.
        weights = [query[i] for i in nonzero]
        if len(nonzero) > 1:
            gather = operator.itemgetter(*nonzero)
        else:  # itemgetter of one index returns the value, not a tuple
            only = nonzero[0] if nonzero else 0
            weights = weights or [0.0]
            gather = lambda vector: (vector[only],)  # noqa: E731
    dot = _sumprod or _dot
    scored: list[tuple[float, int, K]] = []
    for order, (key, blob) in enumerate(candidates):
        if len(blob) != width:
            continue
        vector = from_blob(blob)
        score = dot(weights, gather(vector)) if gather is not None else dot(weights, vector)
        scored.append((score, -order, key))
    best = heapq.nlargest(k, scored)
    return [(key, score) for score, _, key in best]
