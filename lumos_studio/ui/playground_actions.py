"""The studio's playground action: ``P`` on a model call opens it (``screens.playground``), and
``f`` on a model call no loaded agent made opens it too, since there is no run to fork.

A mixin of ``StudioApp`` and ``ReplayApp`` (each keeps its key binding); the screen is imported
when it opens. Tries are recorded where the app has a store to write (``playground_writer``):
the studio's; a read-only studio and a replay record none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lumos_studio.records import SpanRecord
from lumos_studio.semantics import SpanView, read_span
from lumos_studio.ui.widgets.span_detail import SpanDetail

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from textual.app import App
    from textual.screen import Screen

    from lumos_studio.store.writer import StoreWriter

    _AppBase = App[None]  # what the mixin relies on, checked against Textual's own types
else:
    _AppBase = object


class PlaygroundActions(_AppBase):
    """The playground for an app whose main screen has a ``SpanDetail``."""

    _playground_tracer: TracerProvider | None = None

    if TYPE_CHECKING:
        @property
        def main(self) -> Screen[None]: ...

    def action_open_playground(self) -> None:
        """The model call shown in the span detail, in the playground."""
        detail = self.main.query_one(SpanDetail)
        if detail.span is None:
            self.notify("Select a model call (a chat span) in the trace tree, then P.",
                        title="Playground")
            return
        self.open_playground(detail.span, read_span(detail.span, tuple(detail.logs)))

    def open_playground(self, span: SpanRecord, view: SpanView) -> None:
        from lumos_studio.ui.playground_request import playground_point
        from lumos_studio.ui.screens.playground import PlaygroundScreen

        point = playground_point(span, view)
        if isinstance(point, str):
            self.notify(point, title="Playground", markup=False)
            return
        self.push_screen(PlaygroundScreen(point, self._playground_tracer_provider()))

    def playground_writer(self) -> StoreWriter | None:
        """Where tries are recorded (None: nowhere, they are only shown)."""
        return None

    def _playground_tracer_provider(self) -> TracerProvider | None:
        """Tries land in the store as the agents' runs do."""
        writer = self.playground_writer()
        if writer is None:
            return None
        if self._playground_tracer is None:
            from lumos_studio.ingest import studio_tracer_provider

            self._playground_tracer = studio_tracer_provider(writer)
        return self._playground_tracer
