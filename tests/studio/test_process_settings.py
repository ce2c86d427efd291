"""The studio's interpreter settings: rarer full collections, shorter GIL turns."""

from __future__ import annotations

import gc
import subprocess
import sys

from lumos_studio.process_settings import (
    GEN1_COLLECTIONS_PER_FULL,
    SWITCH_INTERVAL_SECONDS,
    use_studio_process_settings,
)


def test_only_the_full_collection_threshold_and_the_switch_interval_change() -> None:
    before, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        use_studio_process_settings()
        assert gc.get_threshold() == (before[0], before[1], GEN1_COLLECTIONS_PER_FULL)
        assert sys.getswitchinterval() == SWITCH_INTERVAL_SECONDS < interval
    finally:
        gc.set_threshold(*before)
        sys.setswitchinterval(interval)


def test_the_lumos_studio_entry_point_applies_them() -> None:
    script = (
        "import gc, sys\n"
        "sys.argv = ['lumos-studio', '--help']\n"
        "from lumos_studio.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    print(gc.get_threshold()[2], sys.getswitchinterval())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    threshold, interval = done.stdout.strip().splitlines()[-1].split()
    assert int(threshold) == GEN1_COLLECTIONS_PER_FULL
    assert float(interval) == SWITCH_INTERVAL_SECONDS
