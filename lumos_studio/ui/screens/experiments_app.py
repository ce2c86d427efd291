"""The studio's evaluation actions: open the experiments view (F10), score traces (F12),
annotate the selected span (ctrl+n), and show an experiment case's spans when asked.

A mixin of ``StudioApp`` (``app.py`` keeps the wiring and the key bindings). Its screens and the
scorers are imported by the action that opens them: the studio's first frame does not wait for
them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lumos_studio.display import safe_str
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_list import TraceList

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from lumos_studio.scoring import Annotation
    from lumos_studio.store import Store
    from lumos_studio.ui.read_only import ReadOnlyStore
    from lumos_studio.ui.screens.experiments import OpenExperimentTrace

    _AppBase = App[None]  # what the mixin relies on, checked against Textual's own types
else:
    _AppBase = object


class ExperimentActions(_AppBase):
    """Experiments, scoring and annotations for ``StudioApp``."""

    # Provided by StudioApp.
    store: Store | ReadOnlyStore

    if TYPE_CHECKING:
        @property
        def main(self) -> Screen[None]: ...

        def jump_to_span(self, trace_id: str, span_id: str | None) -> None: ...

    def action_open_experiments(self) -> None:
        from lumos_studio.ui.screens.experiments import ExperimentsScreen

        if not isinstance(self.screen, ExperimentsScreen):
            self.push_screen(ExperimentsScreen(self.store.reader,
                                               record=self.store.writer.submit))

    def action_score_traces(self) -> None:
        """Score the marked traces (else the highlighted one) with scorers picked in a dialog."""
        from lumos_studio.ui.screens.experiments_score import ScoreTracesScreen

        traces = self.main.query_one(TraceList)
        chosen = list(traces.marked) or ([traces.cursor_trace] if traces.cursor_trace else [])
        if not chosen:
            self.notify("Highlight or mark (m) traces in the list to score them.")
            return
        self.push_screen(ScoreTracesScreen(self.store.reader, chosen, self.store.writer.submit))

    def action_annotate_span(self) -> None:
        """Annotate the span shown in the detail by hand (stored as an evaluation record)."""
        from lumos_studio.scoring import annotation_record
        from lumos_studio.ui.screens.experiments_annotate import AnnotateScreen

        span = self.main.query_one(SpanDetail).span
        if span is None:
            self.notify("Select a span to annotate first.")
            return

        def save(annotation: Annotation | None) -> None:
            if annotation is not None:
                self.store.writer.submit(annotation_record(span.trace_id, span.span_id,
                                                           annotation))
                self.notify(f"annotated {safe_str(span.name)}", markup=False)

        self.push_screen(AnnotateScreen(span.name), save)

    def on_open_experiment_trace(self, message: OpenExperimentTrace) -> None:
        """Enter on an experiment's case: back to the studio, the case's span selected."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.jump_to_span(message.trace_id, message.span_id)
