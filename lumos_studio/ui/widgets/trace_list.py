"""Every recorded run, newest first."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from lumos_studio.present import format_duration, format_time, status_text
from lumos_studio.store import TraceSummary


class TraceList(DataTable[str | Text]):
    """One row per trace: time, agent, duration, span count, status."""

    BORDER_TITLE = "Traces"

    class Chosen(Message):
        def __init__(self, trace_id: str) -> None:
            super().__init__()
            self.trace_id = trace_id

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.summaries: list[TraceSummary] = []

    def on_mount(self) -> None:
        self.add_column("time", key="time")
        self.add_column("agent", key="agent")
        self.add_column("dur", key="duration")
        self.add_column("spans", key="spans")
        self.add_column("tokens", key="tokens")
        self.add_column("status", key="status")
        self.add_column("trace", key="trace")

    def show(self, summaries: list[TraceSummary], selected: str | None) -> None:
        """Replace the rows, keeping the cursor on ``selected`` when it is still listed."""
        self.summaries = summaries
        self.clear()
        for t in summaries:
            self.add_row(
                format_time(t.start_ns),
                t.agent_name or t.root_name,
                Text(format_duration(t.duration_ns), justify="right"),
                Text(str(t.span_count), justify="right"),
                Text(str((t.input_tokens or 0) + (t.output_tokens or 0) or ""), justify="right"),
                status_text(t.status),
                Text(t.trace_id[:12], style="dim"),
                key=t.trace_id,
            )
        self.border_subtitle = f"{len(summaries)}"
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected), scroll=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.Chosen(event.row_key.value))
