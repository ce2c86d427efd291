"""``span_compression.unpack`` reads a frame with a context kept per thread and dictionary; a
frame without a size in its header, or claiming more than ``REUSED_UP_TO``, is read the
standard way; a damaged one comes back as it is. Each path gives the same bytes."""

from __future__ import annotations

import threading

import pytest

from lumos_studio import span_compression
from lumos_studio.span_compression import pack, unpack, zstd

# Serialised spans are alike; these stand in for them (long enough to be compressed).
SPANS = [
    (f"span {n} of a weather turn: the agent asked get_weather(city='Paris') and answered "
     f"'Light rain, 8 °C' after {n} ms; ").encode() * 4
    for n in range(1200)
]


@pytest.fixture
def dict_id() -> int:
    """A dictionary trained on ``SPANS``, known to ``unpack``."""
    content = span_compression.train(SPANS)
    known = span_compression.dictionary_id(content)
    span_compression.add_dictionaries([(known, content)])
    return known


def without_size(data: bytes) -> bytes:
    """A frame whose header does not say how large its content is (a streamed frame)."""
    compressor = zstd.ZstdCompressor()
    return compressor.compress(data) + compressor.flush()


def test_frames_with_and_without_a_dictionary_read_back(dict_id: int) -> None:
    for span in SPANS[:50]:
        with_dictionary, plain = pack(span, dict_id), pack(span)
        assert with_dictionary[:4] == plain[:4] == span_compression.ZSTD_MAGIC
        assert unpack(with_dictionary) == span
        assert unpack(plain) == span


def test_a_frame_without_its_size_or_past_the_bound_is_read_the_standard_way(
    dict_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    streamed = without_size(SPANS[0])
    assert zstd.get_frame_info(streamed).decompressed_size is None
    assert unpack(streamed) == SPANS[0]
    monkeypatch.setattr(span_compression, "REUSED_UP_TO", 10)
    assert unpack(pack(SPANS[1], dict_id)) == SPANS[1]


def test_a_damaged_frame_comes_back_as_it_is(dict_id: int) -> None:
    packed = bytearray(pack(SPANS[2], dict_id))
    packed[len(packed) // 2] ^= 0xFF  # the checksum no longer matches
    assert unpack(bytes(packed)) == bytes(packed)
    truncated = pack(SPANS[3], dict_id)[:-6]
    assert unpack(truncated) == truncated


def test_threads_read_with_contexts_of_their_own(dict_id: int) -> None:
    frames = [pack(span, dict_id) for span in SPANS]
    wrong: list[int] = []

    def read() -> None:
        for _ in range(3):
            wrong.extend(n for n, frame in enumerate(frames) if unpack(frame) != SPANS[n])

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
