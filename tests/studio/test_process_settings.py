"""The studio's garbage-collector settings: rarer young and full collections."""

from __future__ import annotations

import gc
import subprocess
import sys

from lumos_studio.process_settings import (
    GEN1_COLLECTIONS_PER_FULL,
    NEW_OBJECTS_PER_YOUNG,
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
