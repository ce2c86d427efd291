"""The studio process's garbage-collector setting: full collections ten times rarer.

The studio keeps young objects alive on purpose: spans queued for the writer thread, decoded
OTLP batches waiting for their commit, a frame's rendered lines. With CPython's default
thresholds, a burst of spans promotes enough of them to trigger full collections of the whole
heap, and they run on whichever thread allocates: on the agent's thread that cost 15 µs a span,
five times what the span processor itself costs (``python -m bench ingest`` shows both). Young
collections stay as they are, so cyclic garbage is still freed within milliseconds; only the
full sweep of long-lived objects waits for a hundred gen-1 collections instead of ten.
"""

from __future__ import annotations

import gc

GEN1_COLLECTIONS_PER_FULL = 100  # CPython's default is 10


def use_studio_gc_settings() -> None:
    """Apply the setting to this process (the ``lumos-studio`` entry point does, at start)."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, GEN1_COLLECTIONS_PER_FULL)
