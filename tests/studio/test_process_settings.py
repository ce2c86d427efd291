"""The studio's garbage-collector and allocator settings: rarer young and full collections,
big blocks given back when freed."""

from __future__ import annotations

import gc
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from lumos_studio.process_settings import (
    GEN1_COLLECTIONS_PER_FULL,
    NEW_OBJECTS_PER_YOUNG,
    collect_young_now,
    hold_collections,
    settle_start_up,
    studio_process_settings,
    use_studio_process_settings,
)


def test_studio_process_settings_apply_for_a_block_then_go_back() -> None:
    thresholds = gc.get_threshold()
    with studio_process_settings():
        assert gc.get_threshold()[0] == NEW_OBJECTS_PER_YOUNG
    assert gc.get_threshold() == thresholds


def test_the_young_and_full_collection_thresholds_change_and_collections_wait() -> None:
    before = gc.get_threshold()
    try:
        use_studio_process_settings()
        assert gc.get_threshold() == (NEW_OBJECTS_PER_YOUNG, before[1], GEN1_COLLECTIONS_PER_FULL)
        assert gc.isenabled()
        hold_collections()
        assert not gc.isenabled()
        frozen = gc.get_freeze_count()
        settle_start_up()
        assert gc.isenabled()
        assert gc.get_freeze_count() > frozen
        settle_start_up()  # once only: a second call freezes nothing more
        gc.disable()
        settle_start_up()
        assert not gc.isenabled()  # nor enables what others disabled
    finally:
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*before)


def after_entry_point(arguments: list[str], shown: str) -> str:
    """What ``shown`` (an expression) is once ``lumos-studio ARGUMENTS`` returned, in a fresh
    interpreter through the console script's ``main``."""
    script = (
        "import gc, sys\n"
        f"sys.argv = ['lumos-studio', *{arguments!r}]\n"
        "from lumos_studio.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print({shown})\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(("arguments", "enabled"), [
    (["traces"], "True"),  # a command's body runs with collections on
    (["--help"], "False"),  # nothing ran: the process is ending
])
def test_a_command_runs_with_collections_settled(tmp_path: Path, arguments: list[str],
                                                 enabled: str) -> None:
    shown = after_entry_point(["--db", str(tmp_path / "studio.db"), *arguments],
                              "gc.isenabled(), gc.get_freeze_count() > 0")
    assert shown == f"{enabled} {enabled}"


def test_the_lumos_studio_entry_point_applies_them() -> None:
    shown = after_entry_point(["--help"], "*gc.get_threshold()")
    young, _, full = map(int, shown.split())
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


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc's malloc only")
def test_a_big_block_still_gets_a_mapping_of_its_own_after_a_bigger_one_was_freed() -> None:
    # Without the setting, freeing the 8 MB block raises glibc's bound to 8 MB, and the next
    # 1 MB block comes from the heap (mapped bytes do not grow by it).
    script = (
        "import ctypes, sys\n"
        "class Info(ctypes.Structure):\n"
        "    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks',\n"
        "                'hblkhd', 'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]\n"
        "libc = ctypes.CDLL(None)\n"
        "libc.mallinfo2.restype = Info\n"
        "if sys.argv[1] == 'set':\n"
        "    from lumos_studio.process_settings import return_big_blocks_when_freed\n"
        "    assert return_big_blocks_when_freed()\n"
        "big = bytearray(8 << 20)\n"
        "del big\n"
        "before = libc.mallinfo2().hblkhd\n"
        "block = bytearray(1 << 20)\n"
        "print(libc.mallinfo2().hblkhd - before)\n"
    )

    def mapped_growth(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", script, mode], capture_output=True,
                              text=True, timeout=60, check=True)
        return int(done.stdout.strip())

    assert mapped_growth("default") < 1 << 20
    assert mapped_growth("set") >= 1 << 20
