"""A stored span's bytes compressed (zstd), with a dictionary trained on the store's own spans.

Spans are small (~3 KB) and alike: the same attribute keys, resource, scope, system prompt and
JSON shape of messages in every one. Compressed one at a time, zstd finds none of that in the
span itself; with a dictionary trained on the store's first spans it does: on ``bench ingest``'s
load 1,307 → 627 B a span, and 14 → 8 µs of CPU to compress, since the dictionary primes the
match finder. ``store.compaction`` trains one per store (``train``) and keeps it in the store's
``span_dicts`` table; a frame names its dictionary by id, so ``unpack`` reads any span, with or
without one, as long as the dictionaries of the stores this process opened are known here
(``add_source``: a store's are read when a frame needs one not seen yet).

Stores on disk are untrusted: a frame whose dictionary is missing or damaged, or whose checksum
fails (frames made with a dictionary carry one, so a wrong dictionary cannot pass), is read as
the bytes it is, which the span reader shows as an unreadable span.

Reading: the standard library's ``zstd.decompress`` makes a decompression context for every
frame (~10 µs, most of reading a span whole: a 10,000-span trace spent ~100 of its ~390 ms
there). ``unpack`` reads a frame with a context kept per thread and dictionary, from the
``zstandard`` package (same frames, ~1 µs); a frame whose header gives no size, or one past
``REUSED_UP_TO``, is still read the standard way, which grows its output as the data goes.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import zstandard

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

__all__ = [
    "add_dictionaries",
    "add_source",
    "dictionary",
    "dictionary_id",
    "knows",
    "pack",
    "pack_many",
    "train",
    "unpack",
    "zstd",
]

_Context = TypeVar("_Context", zstd.ZstdCompressor, zstandard.ZstdCompressor,
                   zstandard.ZstdDecompressor)

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a zstd frame's; no OTLP Span starts so (field 5 is a string)
_COMPRESS_FROM = 96  # bytes: below, a frame's header costs what compression saves
_LEVEL = 1  # without a dictionary level 3 saved 3 % more for twice the time (storage_formats)
# With the store's dictionary, level 3 compresses in the same time as level 1 (compaction ~15 µs a
# span either way) into 627 instead of 749 B, and reads back faster (4.4 against 5.5 µs).
_LEVEL_WITH_DICTIONARY = 3
DICTIONARY_BYTES = 64 * 1024
MAX_DICTIONARY_BYTES = 1024 * 1024  # a stored one larger than this is not loaded (untrusted)

# Dictionaries by id, of every store this process opened; and how to read a store's again.
_dictionaries: dict[int, zstd.ZstdDict] = {}
_sources: dict[str, Callable[[], Iterable[tuple[int, bytes]]]] = {}
_missing: dict[int, float] = {}  # ids no store had, by when they were last asked for
RETRY_MISSING_SECONDS = 1.0  # a reader's store may get the dictionary its writer trains meanwhile
_lock = threading.Lock()
_compressors = threading.local()  # a compressor each: receivers compress on their own threads
_decompressors = threading.local()  # a reusable context each, by dictionary id (0: none)
_batch_compressors = threading.local()  # ``pack_many``'s, by dictionary id
# Frames up to this size (from their header) are read into an output of that size at once; a
# stored span is far below it, and a larger claim (a damaged or hostile store) goes the
# streaming way.
REUSED_UP_TO = 16 * 1024 * 1024


def train(samples: Sequence[bytes]) -> bytes:
    """A dictionary's bytes trained on ``samples`` (serialised spans); raises ``zstd.ZstdError``
    when they are too few or too alike to train on."""
    return zstd.train_dict(samples, DICTIONARY_BYTES).dict_content


def dictionary_id(content: bytes) -> int:
    """The id a dictionary's bytes name it by (its frames carry it)."""
    return int(zstd.ZstdDict(content).dict_id)


def add_dictionaries(rows: Iterable[tuple[int, bytes]]) -> None:
    """Make these (id, bytes) dictionaries known to ``unpack``; damaged ones are left out."""
    for dict_id, content in rows:
        if not isinstance(content, bytes) or len(content) > MAX_DICTIONARY_BYTES:
            continue
        try:
            loaded = zstd.ZstdDict(content)
        except (zstd.ZstdError, ValueError, TypeError):
            continue
        if loaded.dict_id == dict_id:
            with _lock:
                _dictionaries[dict_id] = loaded


def add_source(key: str, read: Callable[[], Iterable[tuple[int, bytes]]]) -> None:
    """Where a store (``key``: its path) can have its dictionaries read again, when a frame
    names one not seen yet (a reader opened before the writer trained it)."""
    with _lock:
        _sources[key] = read


def knows(dict_id: int) -> bool:
    """Whether the dictionary with this id is loaded (no store is asked)."""
    return dict_id in _dictionaries


def dictionary(dict_id: int) -> zstd.ZstdDict | None:
    """The dictionary with this id, read from the stores' sources if it is new; one no store
    has (missing, damaged) is asked for again only ``RETRY_MISSING_SECONDS`` later, so the
    thousands of spans of a trace compressed with it do not each ask every store."""
    found = _dictionaries.get(dict_id)
    if found is not None:
        return found
    now = time.monotonic()
    with _lock:
        if now - _missing.get(dict_id, -RETRY_MISSING_SECONDS) < RETRY_MISSING_SECONDS:
            return None
        sources = list(_sources.values())
    for read in sources:
        try:
            add_dictionaries(read())
        except Exception:  # a store gone or unreadable: its spans show as unreadable
            continue
        found = _dictionaries.get(dict_id)
        if found is not None:
            return found
    with _lock:
        _missing[dict_id] = now
    return None


def pack(otlp: bytes, dict_id: int | None = None) -> bytes:
    """A serialised OTLP ``Span`` compressed (with dictionary ``dict_id`` when given and known),
    unless that would not make it smaller (or it is already)."""
    if not _compressible(otlp):
        return otlp
    packed: bytes = _compressor(dict_id).compress(otlp, zstd.ZstdCompressor.FLUSH_FRAME)
    return packed if len(packed) < len(otlp) else otlp


def _compressible(span: bytes) -> bool:
    """Not too small for a frame to pay, and not a frame already."""
    return len(span) >= _COMPRESS_FROM and span[:4] != ZSTD_MAGIC


def _compressor(dict_id: int | None) -> zstd.ZstdCompressor:
    """This thread's ``pack`` context for dictionary ``dict_id``; one without a dictionary for
    None or a dictionary not known."""
    def made() -> zstd.ZstdCompressor:
        zstd_dict = None if dict_id is None else dictionary(dict_id)
        if zstd_dict is None:
            return _thread_context(_compressors, None, lambda: zstd.ZstdCompressor(_LEVEL))
        return zstd.ZstdCompressor(options={
            zstd.CompressionParameter.compression_level: _LEVEL_WITH_DICTIONARY,
            zstd.CompressionParameter.checksum_flag: 1,
        }, zstd_dict=zstd_dict)

    return _thread_context(_compressors, dict_id, made)


def pack_many(spans: Sequence[bytes], dict_id: int) -> list[bytes]:
    """``pack`` of each of ``spans`` with dictionary ``dict_id`` (the same frames), in one call
    that lets go of the GIL once: the writer compresses a batch as it stores it, and a call per
    span had to take the GIL back from the receivers' threads at every span (``bench ingest``:
    durable ingest 32,000–38,000 spans/s, 48,000–57,000 in one call). Spans are left as they
    are when the dictionary is not known, or where ``pack`` leaves them."""
    zstd_dict = dictionary(dict_id)
    if zstd_dict is None:
        return list(spans)
    chosen = [n for n, span in enumerate(spans) if _compressible(span)]
    packed = list(spans)
    if not chosen:
        return packed
    frames = _batch_compressor(dict_id, zstd_dict).multi_compress_to_buffer(
        [spans[n] for n in chosen])
    for k, n in enumerate(chosen):
        frame = frames[k]
        if len(frame) < len(spans[n]):
            packed[n] = frame.tobytes()
    return packed


def _batch_compressor(dict_id: int, zstd_dict: zstd.ZstdDict) -> zstandard.ZstdCompressor:
    """This thread's ``pack_many`` context for dictionary ``dict_id``: ``pack``'s settings."""
    return _thread_context(_batch_compressors, dict_id, lambda: zstandard.ZstdCompressor(
        level=_LEVEL_WITH_DICTIONARY, dict_data=_as_zstandard(zstd_dict), write_checksum=True))


def unpack(stored: bytes) -> bytes:
    """The serialised OTLP ``Span`` that ``pack`` stored; a frame that cannot be read (damaged,
    its dictionary unknown) as it is."""
    if stored[:4] != ZSTD_MAGIC:
        return stored
    try:
        info = zstd.get_frame_info(stored)
        dict_id = info.dictionary_id
        zstd_dict = dictionary(dict_id) if dict_id else None
        if dict_id and zstd_dict is None:
            return stored
        size = info.decompressed_size
        if size is None or size > REUSED_UP_TO:
            return zstd.decompress(stored, zstd_dict=zstd_dict)
        return _decompressor(dict_id, zstd_dict).decompress(stored)
    except (zstd.ZstdError, zstandard.ZstdError, ValueError):
        return stored  # damaged: read as protobuf, which shows what it can


def _decompressor(dict_id: int, zstd_dict: zstd.ZstdDict | None) -> zstandard.ZstdDecompressor:
    """This thread's reusable context for frames of dictionary ``dict_id`` (0: none)."""
    return _thread_context(_decompressors, dict_id, lambda: zstandard.ZstdDecompressor(
        dict_data=None if zstd_dict is None else _as_zstandard(zstd_dict)))


def _thread_context(contexts: threading.local, dict_id: int | None,
                    make: Callable[[], _Context]) -> _Context:
    """The context ``contexts`` keeps for this thread and dictionary, made on first use."""
    try:
        made: dict[int | None, _Context] = contexts.value
    except AttributeError:
        made = contexts.value = {}
    context = made.get(dict_id)
    if context is None:
        context = made[dict_id] = make()
    return context


def _as_zstandard(zstd_dict: zstd.ZstdDict) -> zstandard.ZstdCompressionDict:
    """The standard library's dictionary as the ``zstandard`` package takes it."""
    return zstandard.ZstdCompressionDict(zstd_dict.dict_content,
                                         dict_type=zstandard.DICT_TYPE_FULLDICT)
