"""Watching the agent's source tree with watchfiles, ignoring what is not source."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, DefaultFilter, watch

IGNORED_DIRS = {
    ".lumos",
    ".venv",
    "venv",
    "__pycache__",
    ".git",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "node_modules",
    "traces",
}


class SourceFilter(DefaultFilter):
    """Python sources and config the agents read; not stores, caches or environments."""

    def __init__(self) -> None:
        super().__init__(ignore_dirs=sorted(IGNORED_DIRS))

    def __call__(self, change: Change, path: str) -> bool:
        return super().__call__(change, path) and path.endswith(
            (".py", ".toml", ".yaml", ".yml", ".json", ".md", ".txt", ".env")
        )


class FileWatcher:
    """Calls ``on_change(paths)`` on a thread, debounced, until stopped."""

    def __init__(self, root: Path, on_change: Callable[[list[str]], None]) -> None:
        self.root = root
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="lumos-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _watch(self) -> None:
        for changes in watch(
            self.root,
            watch_filter=SourceFilter(),
            stop_event=self._stop,
            debounce=150,
            step=30,
            rust_timeout=500,
            yield_on_timeout=False,
        ):
            self.on_change([path for _, path in changes])
