"""The studio's GC setting: full collections rarer, young collections untouched."""

from __future__ import annotations

import gc
import subprocess
import sys

from lumos_studio.gc_settings import GEN1_COLLECTIONS_PER_FULL, use_studio_gc_settings


def test_only_the_full_collection_threshold_changes() -> None:
    before = gc.get_threshold()
    try:
        use_studio_gc_settings()
        assert gc.get_threshold() == (before[0], before[1], GEN1_COLLECTIONS_PER_FULL)
    finally:
        gc.set_threshold(*before)


def test_the_lumos_studio_entry_point_applies_it() -> None:
    script = (
        "import gc, sys\n"
        "sys.argv = ['lumos-studio', '--help']\n"
        "from lumos_studio.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    print(gc.get_threshold()[2])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip().splitlines()[-1] == str(GEN1_COLLECTIONS_PER_FULL)
