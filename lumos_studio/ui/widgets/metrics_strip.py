"""One line of session numbers above the trace list, and per-agent / per-tool latency below it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from lumos_studio.display import safe_str
from lumos_studio.metrics import Metrics
from lumos_studio.present import format_duration
from lumos_studio.pricing import format_cost

SPARKS = "▁▂▃▄▅▆▇█"
LABEL_CHARS = 40  # of an agent's or tool's name: six share one line


def sparkline(values: tuple[int, ...]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1
    return "".join(SPARKS[min(7, (v - low) * 8 // span)] for v in values)


class MetricsStrip(Static):
    """Runs, errors, p50/p95, tokens and cost of the session; updated live by the app."""

    DEFAULT_CSS = """
    MetricsStrip {
        height: 2;
        padding: 0 1;
        background: $boost;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.metrics = Metrics()

    def show(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.update(render_metrics(metrics))


def render_metrics(m: Metrics) -> Text:
    if not m.runs:
        return Text("no finished runs yet", style="dim")
    line = Text()
    if m.total_runs > m.runs:
        line.append(f"last {m.runs:,} of {m.total_runs:,} runs", style="bold")
    else:
        line.append(f"{m.runs} run{'s' * (m.runs != 1)}", style="bold")
    line.append(" · ")
    line.append(f"{m.errors} error{'s' * (m.errors != 1)}", style="bold red" if m.errors else "")
    line.append(f" · p50 {format_duration(m.p50_ns)} p95 {format_duration(m.p95_ns)}")
    line.append(f" · {m.tokens:,} tokens")
    if m.cost is not None:
        line.append(f" ≈ {format_cost(m.cost)}")
    line.append("  " + sparkline(m.recent_ns), style="cyan")
    details = [f"{safe_str(a.name, LABEL_CHARS)} {format_duration(a.p50_ns)}/"
               f"{format_duration(a.p95_ns)}" for a in m.agents[:3]]
    details += [f"⚙ {safe_str(t.name, LABEL_CHARS)} {format_duration(t.p50_ns)}/"
                f"{format_duration(t.p95_ns)}" for t in m.tools[:3]]
    line.append("\n" + "  ".join(details), style="dim")
    return line
