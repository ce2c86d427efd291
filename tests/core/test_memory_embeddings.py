"""Embeddings: the offline hashing embedder, vectors as blobs, and the OpenAI-compatible provider
against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import HashingEmbedder, Memory, OpenAIEmbedder
from lumos_core.memory import Embedder, EmbeddingError
from lumos_core.memory.vectors import from_blob, to_blob, top_k
from lumos_core.messages import Message
from lumos_core.telemetry import activate_providers, reset_providers
from lumos_core.telemetry import semconv as sc
from tests.core.provider_server import ProviderServer, Recorded, Reply, running_server

API_KEY = "sk-embed-test-SECRET"


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_hashing_vectors_are_unit_length_and_similar_for_similar_text() -> None:
    embedder = HashingEmbedder()
    assert isinstance(embedder, Embedder) and embedder.dimensions == 1024
    name, typo, other, empty = embedder.embed(
        ["my name is Ada", "my nmae is Ada", "book a flight to Rome", "the of and"]
    )
    assert math.isclose(math.sqrt(sum(v * v for v in name)), 1.0)
    assert cosine(name, embedder.embed(["What is my name?"])[0]) > 0.3
    assert cosine(name, typo) > 0.4 > 0.1 > cosine(name, other)
    assert not any(empty)  # stopwords only: a zero vector that matches nothing
    with pytest.raises(ValueError, match="power of two"):
        HashingEmbedder(1000)


def test_hashing_vectors_are_the_same_in_another_process() -> None:
    """Stored vectors must stay comparable: no per-process salted hash."""
    code = "from lumos_core import HashingEmbedder; print(HashingEmbedder(64).embed(['Ada'])[0])"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "123"}).stdout
    assert json.loads(other) == HashingEmbedder(64).embed(["Ada"])[0]


def test_blobs_round_trip_and_search_skips_other_dimensions() -> None:
    vectors = HashingEmbedder(64).embed(["alpha", "beta", "gamma"])
    blob = to_blob(vectors[0])
    assert len(blob) == 64 * 4
    assert [round(v, 5) for v in from_blob(blob)] == [round(v, 5) for v in vectors[0]]
    candidates = [("a", to_blob(vectors[0])), ("b", to_blob(vectors[1])), ("x", b"\0" * 8)]
    best = top_k(vectors[0], candidates, 5)
    assert [key for key, _ in best] == ["a", "b"] and math.isclose(best[0][1], 1.0, abs_tol=1e-5)
    dense = [1.0 / math.sqrt(64)] * 64  # every entry non-zero: the dense path
    expected = sorted(((cosine(dense, v), key) for key, v in zip("ab", vectors, strict=False)),
                      reverse=True)
    found = top_k(dense, candidates, 2)
    assert [k for k, _ in found] == [k for _, k in expected]
    assert [round(score, 5) for _, score in found] == [round(score, 5) for score, _ in expected]
    assert top_k(vectors[0], candidates, 0) == []


class EmbeddingServer:
    """An ``/embeddings`` stand-in on the provider test server: answers with a vector per input."""

    def __init__(self, provider: ProviderServer) -> None:
        self.provider = provider
        self.status = 200
        provider.answer = self.answer

    @property
    def url(self) -> str:
        return f"{self.provider.origin}/v1"

    @property
    def requests(self) -> list[Recorded]:
        return self.provider.requests

    def answer(self, request: Recorded) -> Reply:
        body = request.body
        if self.status != 200:
            payload: dict[str, Any] = {"error": {"message": f"bad key {API_KEY}"}}
        else:
            dims = body.get("dimensions", 3)
            data = [
                {"object": "embedding", "index": i, "embedding": [float(len(text)), 1.0] + [0.0] * (
                    dims - 2)}
                for i, text in enumerate(body["input"])
            ]
            payload = {"object": "list", "data": list(reversed(data)), "model": body["model"],
                       "usage": {"prompt_tokens": 7, "total_tokens": 7}}
        return Reply(payload, self.status if request.path == "/v1/embeddings" else 404)


@pytest.fixture
def server() -> Iterator[EmbeddingServer]:
    with running_server() as provider:
        yield EmbeddingServer(provider)


def test_openai_embedder_sends_batches_and_orders_the_vectors(
    server: EmbeddingServer, tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with httpx.Client() as client:
        embedder = OpenAIEmbedder("text-embedding-3-small", dimensions=4, api_key=API_KEY,
                                  base_url=server.url, http_client=client, batch_size=2)
        tokens = activate_providers(tracer_provider)
        try:
            vectors = embedder.embed(["a", "bbb", "cc"])
        finally:
            reset_providers(tokens)
    assert embedder.dimensions == 4
    assert [len(v) for v in vectors] == [4, 4, 4]
    lengths = [v[0] / v[1] for v in vectors]  # the stand-in encodes len(text), unit-scaled
    assert [round(x) for x in lengths] == [1, 3, 2]
    assert math.isclose(sum(v * v for v in vectors[1]), 1.0)
    first = server.requests[0]
    assert first.headers["authorization"] == f"Bearer {API_KEY}"
    assert first.body == {"model": "text-embedding-3-small", "input": ["a", "bbb"], "dimensions": 4}
    assert server.requests[1].body["input"] == ["cc"]
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["embeddings text-embedding-3-small"] * 2
    assert spans[0].attributes[sc.OPERATION_NAME] == "embeddings"
    assert spans[0].attributes[sc.EMBEDDINGS_DIMENSION_COUNT] == 4
    assert spans[0].attributes[sc.USAGE_INPUT_TOKENS] == 7


def test_openai_embedder_reads_env_learns_dimensions_and_reports_errors(
    server: EmbeddingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    embedder = OpenAIEmbedder("local-model")  # its own client per request
    assert embedder.dimensions == 0
    assert len(embedder.embed(["hello"])[0]) == 3 and embedder.dimensions == 3
    assert "dimensions" not in server.requests[0].body

    server.status = 401
    with pytest.raises(EmbeddingError, match="HTTP 401") as failure:
        embedder.embed(["x"])
    assert API_KEY not in str(failure.value)
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(EmbeddingError, match="no API key"):
        embedder.embed(["x"])
    unreachable = OpenAIEmbedder("m", api_key=API_KEY, base_url="http://127.0.0.1:9/v1")
    with pytest.raises(EmbeddingError, match="could not reach"):
        unreachable.embed(["x"])


def test_memory_recall_works_with_the_openai_embedder(server: EmbeddingServer) -> None:
    embedder = OpenAIEmbedder("m", api_key=API_KEY, base_url=server.url)
    memory = Memory(":memory:", embedder=embedder)
    memory.save_messages("t1", [Message.user("abc"), Message.user("abcdefghijkl")],
                         resource_id="u1")
    hits = memory.search("abcdefghijkm", resource_id="u1", top_k=1)
    assert hits[0].stored.message.text == "abcdefghijkl"  # same length: same stand-in vector
