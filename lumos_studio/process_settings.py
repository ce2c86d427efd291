"""The studio process's garbage-collector settings: rarer collections of both kinds.

The studio keeps young objects alive on purpose: spans queued for the writer thread, decoded
OTLP batches waiting for their commit, a frame's rendered lines. They live for tens of
milliseconds, so with CPython's default thresholds (a young collection every 700 new objects)
nearly all of them survived a young collection and a middle one before dying, and enough were
promoted to trigger full collections of the whole heap, on whichever thread allocated: on the
agent's thread that cost 15 µs a span, five times what the span processor itself costs.

Here a young collection waits for 20,000 new objects, so most die before any collection sees
them (in the receiver under ``bench ingest``: 3.7 µs of collector time a span before, 0.3
after; a young collection looks at young objects only, so its pause stays around a
millisecond), and a full sweep waits for a hundred middle collections instead of ten.
"""

from __future__ import annotations

import gc

NEW_OBJECTS_PER_YOUNG = 20_000  # CPython's default is 700
GEN1_COLLECTIONS_PER_FULL = 100  # CPython's default is 10


def use_studio_process_settings() -> None:
    """Apply the settings to this process (the ``lumos-studio`` entry point does, at start)."""
    _, middle, _ = gc.get_threshold()
    gc.set_threshold(NEW_OBJECTS_PER_YOUNG, middle, GEN1_COLLECTIONS_PER_FULL)
