"""The studio process's garbage-collector and allocator settings: rarer collections of both
kinds, and big blocks handed back to the system when freed.

The studio keeps young objects alive on purpose: spans queued for the writer thread, decoded
OTLP batches waiting for their commit, a frame's rendered lines. They live for tens of
milliseconds, so with CPython's default thresholds (a young collection every 700 new objects)
nearly all of them survived a young collection and a middle one before dying, and enough were
promoted to trigger full collections of the whole heap, on whichever thread allocated: on the
agent's thread that cost 15 µs a span, five times what the span processor itself costs.

Here a young collection waits for 100,000 new objects, so most die before any collection sees
them, and a full sweep waits for a hundred middle collections instead of ten. A young
collection looks at young objects only, and what survives one is bounded (what waits for the
writer), not proportional to the threshold: its pause stays around 10 ms while collections get
rarer. In the receiver under ``bench ingest``, 20,000 took collector time from 3.7 µs a span to
0.3. With the in-process span processor, going from 20,000 to 100,000 took the collector's share
on the agent's thread from 1.8–2.4 µs a span to 0.6–1.1 (``gc.callbacks`` timing, 140,000
spans), and decoding OTLP did not change (12.7 vs 12.4 µs, paired medians of 9).

The GIL's switch interval stays CPython's 5 ms: at 1 ms the writer kept up with an agent
tracing into the store (2,013–2,088 → 2,253–2,319 runs/s) but its slices fell inside the
agent's own work, which then took 16–22 µs more a span instead of 0–5 (``bench ingest``'s
processor table, interleaved); see docs/architecture.md. Only while the studio starts, until its
trace list is drawn, is it 0.5 ms (``quick_handoffs``): no agent runs yet, and the list's read
gives up the GIL at each SQLite step, then waited up to 5 ms to get it back from the UI thread
busy with the first frames.

glibc's malloc serves a block of 128 KiB or more with a mapping of its own, returned to the system
when freed, but raises that bound to the size of each such block freed (up to 32 MiB). Opening a
trace frees big blocks (a 100,000-span trace's columns, a worker's SQLite rows), so later ones came
from the heap, and the heap, once holed, is not given back: opening 1k, 10k and 100k-span traces
left 40–65 MB free but resident. With the bound fixed at 128 KiB, 2 MB are (``bench ui_app``'s
memory row: see its note).
"""

from __future__ import annotations

import ctypes
import gc
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager

NEW_OBJECTS_PER_YOUNG = 100_000  # CPython's default is 700
GEN1_COLLECTIONS_PER_FULL = 100  # CPython's default is 10
OWN_MAPPING_FROM = 128 * 1024  # bytes: glibc's starting bound, kept fixed
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


_held = False  # collections wait until the first frame (or the command's body)
START_UP_SWITCH_INTERVAL = 0.000_5  # seconds: the GIL's switch interval until the list is drawn
_usual_switch_interval: float | None = None  # while ``quick_handoffs`` holds


def quick_handoffs() -> None:
    """The GIL handed between threads every ``START_UP_SWITCH_INTERVAL`` until
    ``usual_handoffs`` (the studio, from its mount until its trace list is drawn: the
    1.1M-span store's list came 0.87 → 0.80 s after Enter)."""
    global _usual_switch_interval
    if _usual_switch_interval is None:
        _usual_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(START_UP_SWITCH_INTERVAL)


def usual_handoffs() -> None:
    """The switch interval as it was before ``quick_handoffs`` (once; then nothing)."""
    global _usual_switch_interval
    if _usual_switch_interval is not None:
        sys.setswitchinterval(_usual_switch_interval)
        _usual_switch_interval = None


def use_studio_process_settings() -> None:
    """Apply the settings to this process (the ``lumos-studio`` entry point does, at start)."""
    _, middle, _ = gc.get_threshold()
    gc.set_threshold(NEW_OBJECTS_PER_YOUNG, middle, GEN1_COLLECTIONS_PER_FULL)
    return_big_blocks_when_freed()


@contextmanager
def studio_process_settings() -> Iterator[None]:
    """The settings for a block, then the collector's thresholds back (benchmarks that measure
    the studio's work in a process of their own); malloc's bound stays."""
    thresholds = gc.get_threshold()
    use_studio_process_settings()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def hold_collections() -> None:
    """No collection until ``settle_start_up`` (the entry point calls it first)."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def settle_start_up() -> None:
    """Collect again, the objects made so far frozen: the studio calls it once its first frame
    is drawn, every other command before its body runs.

    Until the first frame the studio makes ~50,000 objects that live as long as it does
    (modules, classes, its widgets and styles): the young collections that fell among them
    (~20 ms each) were ~60 ms of the first paint, and every full collection after would scan
    them again. Frozen, no collection looks at them.
    """
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()


def collect_young_now() -> None:
    """Run now the collection that the next allocations would start, at a moment the user is
    not waiting (the UI calls it once a trace it opened is painted).

    Opening a 10,000-span trace leaves 25,000–50,000 new objects (its rows, the frames drawn):
    every second or third open, a young collection of ~100,000 objects (60–150 ms) fell inside
    the open, between the key and the painted trace. Collected after the paint, each open's own
    objects are a smaller collection the user does not wait for, and the next open starts with
    an empty young generation. A middle collection that is due is run here too; a full one is
    left to the collector's own timing.
    """
    if not gc.isenabled():
        return
    _, middle, _ = gc.get_count()
    _, middle_threshold, _ = gc.get_threshold()
    gc.collect(1 if middle > middle_threshold else 0)


def return_big_blocks_when_freed() -> bool:
    """Fix glibc's own-mapping bound at ``OWN_MAPPING_FROM``; False where malloc is not
    glibc's (macOS, Windows, musl), which keep their own ways."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, OWN_MAPPING_FROM))
