"""Hybrid retrieval against BM25 alone and vectors alone, on a small labelled help-centre set.

``data/retrieval_docs.jsonl``: 68 short help articles, many on neighbouring topics;
``data/retrieval_queries.jsonl``: 38 user questions, each with its relevant article(s): plain
keyword questions, paraphrases, typos, spelling variants and split or joined compound words.
The figures are printed (``pytest -s``) so a change in retrieval shows what it costs or gains.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lumos_core import DocumentIndex

DATA = Path(__file__).parent / "data"
MODES = ("bm25", "vector", "hybrid")


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def figures() -> dict[str, dict[str, float]]:
    docs = load("retrieval_docs.jsonl")
    queries = load("retrieval_queries.jsonl")
    assert len(docs) >= 30 and len(queries) >= 20
    index = DocumentIndex(name="help-centre")
    for doc in docs:
        index.add(f"{doc['title']}\n{doc['text']}", id=doc["id"], markdown=False)
    results: dict[str, dict[str, float]] = {}
    for mode in MODES:
        recall = {1: 0.0, 3: 0.0, 5: 0.0}
        reciprocal = 0.0
        for query in queries:
            relevant = set(query["relevant"])
            ranked = [r.chunk.document_id for r in index.search(query["query"], 10, mode=mode)]
            for k in recall:
                recall[k] += len(relevant & set(ranked[:k])) / len(relevant)
            first = next((i for i, doc in enumerate(ranked, 1) if doc in relevant), None)
            reciprocal += 1 / first if first else 0.0
        results[mode] = {f"recall@{k}": v / len(queries) for k, v in recall.items()}
        results[mode]["mrr@10"] = reciprocal / len(queries)
    print(f"\nretrieval on {len(docs)} docs, {len(queries)} queries")
    for mode, numbers in results.items():
        print(f"  {mode:>6}: " + "  ".join(f"{k} {v:.3f}" for k, v in numbers.items()))
    return results


def test_hybrid_recall_at_5_is_at_least_that_of_each_method_alone(
    figures: dict[str, dict[str, float]],
) -> None:
    hybrid = figures["hybrid"]["recall@5"]
    assert hybrid >= figures["bm25"]["recall@5"]
    assert hybrid >= figures["vector"]["recall@5"]
    assert hybrid >= 0.95


def test_hybrid_puts_the_answer_first_more_often_than_either_method(
    figures: dict[str, dict[str, float]],
) -> None:
    for metric in ("recall@1", "mrr@10"):
        assert figures["hybrid"][metric] >= max(figures["bm25"][metric], figures["vector"][metric])
