"""Text embeddings behind one small protocol: offline hashing by default, OpenAI-compatible beside.

``HashingEmbedder`` needs no model and no download: words and character n-grams are hashed into a
fixed number of signed buckets (the "hashing trick"), so similar wording lands close together and
typos or inflections still share most n-grams. ``OpenAIEmbedder`` calls ``POST {base}/embeddings``
of OpenAI or any compatible server, for meaning beyond shared words.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import re
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from opentelemetry.trace import SpanKind

from lumos_core.telemetry import get_tracer
from lumos_core.telemetry import semconv as sc

if TYPE_CHECKING:
    import httpx

__all__ = ["Embedder", "EmbeddingError", "HashingEmbedder", "OpenAIEmbedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of ``dimensions`` floats (unit length, for cosine by dot)."""

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class EmbeddingError(Exception):
    """An embeddings provider failed; the message says what to do."""


_TOKEN = re.compile(r"\w+")

# Words that carry little meaning in English questions and chat; dropped so that "what is my name"
# matches "my name is Ada" on "name", not on "is" and "my".
_STOPWORD_TEXT: Final = """
a about above after again all also am an and any are as at be been before being below
between both but by can could did do does doing down during each few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not now of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves"""
STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())


class HashingEmbedder:
    """Offline embeddings: signed feature hashing of words, word pairs and character n-grams.

    ``dimensions`` should be a power of two. The same text gives the same vector in every process
    (CRC-32, not Python's salted ``hash``), so stored vectors stay comparable.
    """

    def __init__(
        self,
        dimensions: int = 1024,
        *,
        ngram_sizes: Sequence[int] = (3, 4, 5),
        word_weight: float = 1.0,
        ngram_weight: float = 1.0,
        pair_weight: float = 0.5,
        stopwords: frozenset[str] = STOPWORDS,
    ) -> None:
        if dimensions < 8 or dimensions & (dimensions - 1):
            raise ValueError("HashingEmbedder dimensions must be a power of two, at least 8")
        self._dimensions = dimensions
        self.ngram_sizes = tuple(ngram_sizes)
        self.word_weight = word_weight
        self.ngram_weight = ngram_weight
        self.pair_weight = pair_weight
        self.stopwords = stopwords

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def model_name(self) -> str:
        return f"hashing-{self._dimensions}"

    def __repr__(self) -> str:
        return f"HashingEmbedder(dimensions={self._dimensions})"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text (a text with no words gives a zero vector)."""
        return [self._embed_one(text) for text in texts]

    def _embed_one(self, text: str) -> list[float]:
        vector = [0.0] * self._dimensions
        words = [w for w in _TOKEN.findall(text.lower()) if w not in self.stopwords]
        features = self._word_features
        for word in words:
            for index, weight in features(word):
                vector[index] += weight
        mask = self._dimensions - 1
        for first, second in itertools.pairwise(words):
            h = zlib.crc32(f"p:{first} {second}".encode())
            vector[h & mask] += self.pair_weight if h & 0x80000000 else -self.pair_weight
        norm = math.sqrt(sum(v * v for v in vector))
        return [v / norm for v in vector] if norm else vector

    @functools.lru_cache(maxsize=65_536)  # noqa: B019 - per instance settings; words repeat a lot
    def _word_features(self, word: str) -> tuple[tuple[int, float], ...]:
        """``(bucket, signed weight)`` of a word and its character n-grams, cached."""
        mask = self._dimensions - 1
        padded = f"<{word}>"
        grams = [padded[i : i + n] for n in self.ngram_sizes for i in range(len(padded) - n + 1)]
        # Every word gets the same n-gram mass, so long words do not drown short ones.
        gram_weight = self.ngram_weight / math.sqrt(len(grams)) if grams else 0.0
        features = [("w:" + word, self.word_weight)] + [("g:" + g, gram_weight) for g in grams]
        out = []
        for feature, weight in features:
            h = zlib.crc32(feature.encode())
            out.append((h & mask, weight if h & 0x80000000 else -weight))
        return tuple(out)


DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
API_KEY_ENV: Final = "OPENAI_API_KEY"
BASE_URL_ENV: Final = "OPENAI_BASE_URL"
_KNOWN_DIMENSIONS: Final = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class OpenAIEmbedder:
    """Embeddings from ``POST {base_url}/embeddings`` (OpenAI or a compatible server).

    ``api_key`` falls back to ``$OPENAI_API_KEY`` and ``base_url`` to ``$OPENAI_BASE_URL``, like
    ``OpenAIChatModel``. Pass ``http_client`` (a sync ``httpx.Client``) to reuse a pool or to point
    tests at a local server. Each request is an ``embeddings`` span.
    """

    provider_name = "openai"

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        dimensions: int | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: httpx.Client | None = None,
        timeout: float = 30.0,
        batch_size: int = 256,
    ) -> None:
        self.model_name = model
        self._requested_dimensions = dimensions
        self._dimensions = dimensions or _KNOWN_DIMENSIONS.get(model, 0)
        self._api_key = api_key
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        self.http_client = http_client
        self.timeout = timeout
        self.batch_size = batch_size

    @property
    def dimensions(self) -> int:
        """The vector size: as requested, known for the model, or learnt from the first reply."""
        return self._dimensions

    def __repr__(self) -> str:
        return f"OpenAIEmbedder({self.model_name!r}, base_url={self.base_url!r})"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for ``texts``, in order, in batches of ``batch_size``."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors.extend(self._request(list(texts[start : start + self.batch_size])))
        return vectors

    def _request(self, texts: list[str]) -> list[list[float]]:
        import httpx

        api_key = self._api_key or os.environ.get(API_KEY_ENV)
        if not api_key:
            raise EmbeddingError(
                f"no API key for {self.base_url}: set {API_KEY_ENV} or pass api_key= "
                "to OpenAIEmbedder (or use the offline HashingEmbedder)"
            )
        payload: dict[str, Any] = {"model": self.model_name, "input": texts}
        if self._requested_dimensions:
            payload["dimensions"] = self._requested_dimensions
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_EMBEDDINGS,
            sc.PROVIDER_NAME: self.provider_name,
            sc.REQUEST_MODEL: self.model_name,
        }
        url = f"{self.base_url}/embeddings"
        tracer = get_tracer()
        with tracer.start_as_current_span(
            sc.span_name(sc.OP_EMBEDDINGS, self.model_name), kind=SpanKind.CLIENT,
            attributes=attributes,
        ) as span:
            headers = {"Authorization": f"Bearer {api_key}"}
            try:
                if self.http_client is not None:
                    response = self.http_client.post(
                        url, json=payload, headers=headers, timeout=self.timeout
                    )
                else:
                    with httpx.Client() as client:
                        response = client.post(
                            url, json=payload, headers=headers, timeout=self.timeout
                        )
            except httpx.HTTPError as exc:
                reason = (str(exc) or type(exc).__name__).replace(api_key, "[redacted]")
                raise EmbeddingError(f"could not reach {url}: {reason}") from exc
            if response.is_error:
                detail = response.text[:300].replace(api_key, "[redacted]")
                raise EmbeddingError(f"{url} answered HTTP {response.status_code}: {detail}")
            vectors = _parse_embeddings(response, len(texts), url)
            if vectors and not self._dimensions:
                self._dimensions = len(vectors[0])
            if span.is_recording():
                span.set_attribute(sc.EMBEDDINGS_DIMENSION_COUNT, self._dimensions)
                usage = _safe_json(response).get("usage") or {}
                if isinstance(usage.get("prompt_tokens"), int):
                    span.set_attribute(sc.USAGE_INPUT_TOKENS, usage["prompt_tokens"])
            return vectors


def _safe_json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _parse_embeddings(response: httpx.Response, expected: int, url: str) -> list[list[float]]:
    rows = _safe_json(response).get("data")
    if not isinstance(rows, list) or len(rows) != expected:
        raise EmbeddingError(
            f"{url} sent no usable embeddings (expected {expected}); body starts: "
            f"{response.text[:200]!r}"
        )
    ordered = sorted(rows, key=lambda row: row.get("index", 0))
    vectors: list[list[float]] = []
    for row in ordered:
        embedding = row.get("embedding")
        if not isinstance(embedding, list):
            raise EmbeddingError(f"{url} sent an embedding that is not a list of numbers")
        vectors.append(_unit([float(v) for v in embedding]))
    return vectors


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector
