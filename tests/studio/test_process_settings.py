"""The studio's garbage-collector settings: rarer young and full collections."""

from __future__ import annotations

import gc
import subprocess
import sys

from lumos_studio.process_settings import (
    GEN1_COLLECTIONS_PER_FULL,
    NEW_OBJECTS_PER_YOUNG,
    collect_young_now,
    use_studio_process_settings,
)


def test_the_young_and_full_collection_thresholds_change() -> None:
    before = gc.get_threshold()
    try:
        use_studio_process_settings()
        assert gc.get_threshold() == (NEW_OBJECTS_PER_YOUNG, before[1], GEN1_COLLECTIONS_PER_FULL)
    finally:
        gc.set_threshold(*before)


def test_the_lumos_studio_entry_point_applies_them() -> None:
    script = (
        "import gc, sys\n"
        "sys.argv = ['lumos-studio', '--help']\n"
        "from lumos_studio.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    print(*gc.get_threshold())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    young, _, full = map(int, done.stdout.strip().splitlines()[-1].split())
    assert (young, full) == (NEW_OBJECTS_PER_YOUNG, GEN1_COLLECTIONS_PER_FULL)


def test_collect_young_now_empties_the_young_generation_and_runs_a_due_middle_one() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(1_000_000, 3, 1_000)  # nothing collects on its own meanwhile
        gc.collect()
        kept = [[i] for i in range(5_000)]  # tracked objects, in the young generation
        assert gc.get_count()[0] >= 5_000
        collect_young_now()
        young, middle, _ = gc.get_count()
        assert young < 100 and middle == 1  # a young collection, counted by the middle one
        for _ in range(3):
            collect_young_now()
        assert gc.get_count()[1] == 4  # one more than its threshold: due
        collect_young_now()
        assert gc.get_count()[1] == 0  # the middle generation was collected
        assert len(kept) == 5_000
    finally:
        gc.set_threshold(*before)


def test_collect_young_now_leaves_a_disabled_collector_alone() -> None:
    gc.disable()
    try:
        kept = [[i] for i in range(1_000)]
        young = gc.get_count()[0]
        collect_young_now()
        assert gc.get_count()[0] >= young and len(kept) == 1_000
    finally:
        gc.enable()
