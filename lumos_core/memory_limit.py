"""A memory cap for processes that run user code, and what a run past it is told.

Light on imports: the CLI reads the default and the setting's name at startup.
"""

from __future__ import annotations

import os
import resource

MEMORY_ENV = "LUMOS_WORKER_MEMORY_MB"
DEFAULT_MEMORY_MB = 4096


def memory_limit_from_env(default: int = DEFAULT_MEMORY_MB) -> int:
    """``LUMOS_WORKER_MEMORY_MB`` in megabytes (0: no limit); ``default`` when unset or bad."""
    value = os.environ.get(MEMORY_ENV, "").strip()
    return int(value) if value.isdigit() else default


def apply_memory_limit(megabytes: int) -> None:
    """Cap this process's data memory at ``megabytes`` (0: leave it alone).

    ``RLIMIT_DATA``, not ``RLIMIT_AS``: the address space counts what is only reserved (thread
    stacks, malloc's per-thread arenas, ~200 MB before any user code runs), the data limit counts
    what is written to. Past it an allocation fails, which Python raises as ``MemoryError``.
    """
    if megabytes <= 0:
        return
    limit = megabytes << 20
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def memory_message(megabytes: int, flag: str = "--memory-limit") -> str:
    """What a run that hit the memory limit is told."""
    return f"the run used more than {megabytes} MB and was stopped; raise {flag}"
