"""The shown trace's spans decoded, with what semantics reads of each, for the panes that need a
span's attributes: the debugger (which breakpoint a span stands for, where a run forks from)
and the graph (each node's state). The tree itself draws from the columns and decodes nothing,
so this is read only when one of them asks, once per load of the trace, and not for a trace
past ``DECODE_AT_MOST`` spans (the debugger's runs are small; a huge trace keeps its speed and
goes without those marks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lumos_studio.records import SpanRecord
from lumos_studio.semantics import SpanView, read_trace
from lumos_studio.store import StoreReader

DECODE_AT_MOST = 5_000


@dataclass(frozen=True, slots=True)
class DecodedTrace:
    """A trace's whole spans and their views, by span id (empty: none read)."""

    trace_id: str | None
    spans: Mapping[str, SpanRecord] = field(default_factory=dict)
    views: Mapping[str, SpanView] = field(default_factory=dict)

    @property
    def root(self) -> SpanRecord | None:
        return next((s for s in self.spans.values() if s.parent_span_id is None), None)


def decode_trace(reader: StoreReader, trace_id: str | None, span_count: int) -> DecodedTrace:
    """``trace_id``'s spans read whole, unless there are none or more than ``DECODE_AT_MOST``."""
    if trace_id is None or not span_count or span_count > DECODE_AT_MOST:
        return DecodedTrace(trace_id)
    spans = reader.trace_spans(trace_id)
    return DecodedTrace(trace_id, {s.span_id: s for s in spans}, read_trace(spans))
