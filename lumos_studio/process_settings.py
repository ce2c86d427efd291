"""The studio process's interpreter settings: rarer full GC sweeps, shorter GIL turns.

The studio keeps young objects alive on purpose: spans queued for the writer thread, decoded
OTLP batches waiting for their commit, a frame's rendered lines. With CPython's default
thresholds, a burst of spans promotes enough of them to trigger full collections of the whole
heap, and they run on whichever thread allocates: on the agent's thread that cost 15 µs a span,
five times what the span processor itself costs (``python -m bench ingest`` shows both). Young
collections stay as they are, so cyclic garbage is still freed within milliseconds; only the
full sweep of long-lived objects waits for a hundred gen-1 collections instead of ten.

The store's writer thread releases the GIL around every SQLite statement and must get it back to
go on. With CPython's 5 ms switch interval it waited, each time, for a thread decoding a request
(or drawing the UI) to be told to let go: under load the writer spent more than half its time
waiting, and it is the stage every acknowledgement waits on. A 0.5 ms interval cut its waits by
a third and raised durable ingest by a tenth (``python -m bench ingest``); threads that do not
compete for the GIL are not affected.
"""

from __future__ import annotations

import gc
import sys

GEN1_COLLECTIONS_PER_FULL = 100  # CPython's default is 10
SWITCH_INTERVAL_SECONDS = 0.000_5  # CPython's default is 0.005


def use_studio_process_settings() -> None:
    """Apply the settings to this process (the ``lumos-studio`` entry point does, at start)."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, GEN1_COLLECTIONS_PER_FULL)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
