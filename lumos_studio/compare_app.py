"""``lumos-studio compare``'s app: the compare screen on its own, with the keys every Lumos
Studio app shares (``F1`` the key help, ``q`` and ``ctrl+q`` quit) and the studio's
stylesheet, so it reads as it does inside the studio."""

from __future__ import annotations

from collections.abc import Sequence

from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.ui.base_app import ConsoleApp
from lumos_studio.ui.screens.compare import CompareScreen


class CompareApp(ConsoleApp):
    """Two runs side by side; closing the screen (escape) quits."""

    TITLE = "Lumos Studio — compare"

    def __init__(
        self,
        left: Sequence[SpanRecord],
        right: Sequence[SpanRecord],
        *,
        left_title: str,
        right_title: str,
        left_logs: Sequence[LogRecord] = (),
        right_logs: Sequence[LogRecord] = (),
    ) -> None:
        super().__init__()
        self._screen = CompareScreen(left, right, left_title=left_title,
                                     right_title=right_title, left_logs=left_logs,
                                     right_logs=right_logs)

    def on_mount(self) -> None:
        super().on_mount()
        self.push_screen(self._screen, lambda _: self.exit())
