"""The waterfall arithmetic without Textual: span index, flattened rows, bars and the scale."""

from __future__ import annotations

import pytest

from lumos_studio.ui.waterfall_layout import (
    BARS_MIN,
    COMPACT_CELLS,
    DURATION_CELLS,
    EIGHTHS,
    FULL,
    GRID,
    OPEN_END,
    Bar,
    SpanIndex,
    TimeAxis,
    bar_glyphs,
    bar_runs,
    compact_duration,
    flatten,
    grid_line,
    label_cells,
    nice_step,
    span_kind,
    subtree_end,
    time_unit,
    tree_column,
    waterfall_columns,
)
from tests.builders import MS, T0, make_span, weather_trace


def tree_text(index: SpanIndex, collapsed: set[str] | None = None) -> list[str]:
    return [
        f"{row.guides}{index.spans[row.span_id].name}"
        for row in flatten(index.children, collapsed or set())
    ]


def nested_index() -> SpanIndex:
    """root ─ a ─ a1, a2; root ─ b ─ b1."""
    spans = [
        make_span("root", span_id="r", start=T0, duration_ms=100),
        make_span("a", span_id="a", parent="r", start=T0 + 1 * MS),
        make_span("a1", span_id="a1", parent="a", start=T0 + 2 * MS),
        make_span("a2", span_id="a2", parent="a", start=T0 + 3 * MS),
        make_span("b", span_id="b", parent="r", start=T0 + 50 * MS),
        make_span("b1", span_id="b1", parent="b", start=T0 + 51 * MS),
    ]
    index = SpanIndex()
    index.update(spans)
    return index


# --- kinds ---


@pytest.mark.parametrize(
    ("operation", "kind"),
    [("invoke_agent", "agent"), ("chat", "model"), ("embeddings", "model"),
     ("execute_tool", "tool"), ("retrieval", "retrieval"), ("invoke_workflow", "workflow"),
     ("update_memory", "other"), (None, "other")],
)
def test_span_kind_follows_the_genai_operation(operation: str | None, kind: str) -> None:
    attributes = {"gen_ai.operation.name": operation} if operation else {}
    assert span_kind(make_span(attributes=attributes)) == kind


# --- the index ---


def test_children_are_ordered_by_start_whatever_the_arrival_order() -> None:
    index = SpanIndex()
    index.update(list(reversed(weather_trace())))
    assert tree_text(index) == [
        "invoke_agent weather",
        "├─chat scripted",
        "├─execute_tool get_weather",
        "└─chat scripted",
    ]
    assert index.start_ns == T0 and index.end_ns == T0 + 300 * MS


def test_a_span_merely_ending_does_not_change_the_shape() -> None:
    running = make_span("root", span_id="r", duration_ms=None)
    index = SpanIndex()
    assert index.update([running])
    assert index.running == {"r"} and index.end_ns is None
    assert not index.update([make_span("root", span_id="r", duration_ms=20)])
    assert index.running == set() and index.end_ns == T0 + 20 * MS
    assert index.update([make_span("child", span_id="c", parent="r")])


def test_children_that_arrive_before_their_parent_are_adopted_when_it_comes() -> None:
    index = SpanIndex()
    index.update([make_span("child", span_id="c", parent="p", start=T0 + MS)])
    assert tree_text(index) == ["child"]  # parent unknown: hangs off the root meanwhile
    assert index.update([make_span("parent", span_id="p", start=T0)])
    assert tree_text(index) == ["parent", "└─child"]
    assert index.ancestors("c") == ["p"]


def test_axis_end_is_now_while_anything_runs() -> None:
    index = SpanIndex()
    index.update([make_span("root", span_id="r", duration_ms=None),
                  make_span("done", span_id="d", parent="r", duration_ms=5)])
    assert index.axis_end(T0 + 80 * MS) == T0 + 80 * MS
    index.update([make_span("root", span_id="r", duration_ms=50)])
    assert index.axis_end(T0 + 80 * MS) == T0 + 50 * MS


def test_depth_first_visits_every_span_in_tree_order() -> None:
    assert nested_index().depth_first() == ["r", "a", "a1", "a2", "b", "b1"]


# --- rows ---


def test_guides_continue_under_siblings_that_are_not_last() -> None:
    assert tree_text(nested_index()) == [
        "root", "├─a", "│ ├─a1", "│ └─a2", "└─b", "  └─b1",
    ]


def test_collapsed_subtrees_are_skipped_and_rows_know_they_have_children() -> None:
    index = nested_index()
    rows = flatten(index.children, {"a"})
    assert [r.span_id for r in rows] == ["r", "a", "b", "b1"]
    assert [r.has_children for r in rows] == [True, True, True, False]
    assert [r.depth for r in rows] == [0, 1, 1, 2]


def test_a_subtree_flattens_to_the_same_rows_as_the_whole_tree() -> None:
    index = nested_index()
    whole = flatten(index.children, set())
    a = whole[1]
    below = flatten(index.children, set(), "a", a.depth + 1, a.child_guides)
    assert below == whole[2:4]
    assert subtree_end(whole, 1) == 4
    assert subtree_end(whole, 0) == len(whole)


def test_flatten_survives_a_chain_deeper_than_the_recursion_limit() -> None:
    spans = [make_span(f"s{i}", span_id=f"{i:x}", parent=f"{i - 1:x}" if i else None,
                       start=T0 + i) for i in range(3_000)]
    index = SpanIndex()
    index.update(spans)
    rows = flatten(index.children, set())
    assert len(rows) == 3_000 and rows[-1].depth == 2_999


# --- bars ---


def test_bars_resolve_eighths_of_a_cell() -> None:
    assert bar_glyphs(0, 3, 10) == Bar(0, FULL * 3)
    assert bar_glyphs(0, 2.5, 10) == Bar(0, FULL * 2 + EIGHTHS[4])
    # Starting mid-cell: a left block drawn inverted fills the right part of the first cell.
    assert bar_glyphs(1.25, 3, 10) == Bar(1, EIGHTHS[2] + FULL, lead_inverse=True)
    assert bar_glyphs(1.5, 2, 10) == Bar(1, EIGHTHS[4], lead_inverse=True)


def test_a_zero_length_bar_is_still_an_eighth_wide_and_bars_stay_inside() -> None:
    assert bar_glyphs(4, 4, 10) == Bar(4, EIGHTHS[1])
    assert bar_glyphs(10, 10, 10) == Bar(9, EIGHTHS[7], lead_inverse=True)
    assert bar_glyphs(-3, 40, 10) == Bar(0, FULL * 10)


def test_the_axis_maps_times_to_cells() -> None:
    axis = TimeAxis(T0, T0 + 300 * MS, 60)
    assert axis.x(T0 + 150 * MS) == 30
    assert axis.bar(T0, T0 + 300 * MS) == Bar(0, FULL * 60)
    assert axis.bar(T0 + 150 * MS, T0 + 225 * MS) == Bar(30, FULL * 15)


def test_bar_runs_lay_a_bar_over_the_grid() -> None:
    background = grid_line(12, [0, 5, 10])
    assert background == f"{GRID}    {GRID}    {GRID} "
    runs = bar_runs(Bar(2, EIGHTHS[3] + FULL, lead_inverse=True), background, open_end=True)
    assert runs == [(GRID + " ", "grid"), (EIGHTHS[3], "lead"), (FULL, "bar"),
                    (OPEN_END, "open"), (f"{GRID}    {GRID} ", "grid")]
    assert len("".join(text for text, _ in runs)) == 12
    assert bar_runs(None, background) == [(background, "grid")]
    assert bar_runs(Bar(10, FULL * 5), background) == [(background[:10], "grid"), (FULL * 2, "bar")]


# --- the scale ---


def test_steps_are_round_numbers() -> None:
    assert [nice_step(x) for x in (0.5, 3, 12, 4_000_000, 20_000_001)] == [
        1, 5, 20, 5_000_000, 50_000_000,
    ]
    assert time_unit(300 * MS) == (1_000_000, "ms")
    assert time_unit(2_500_000_000) == (1_000_000_000, "s")
    assert time_unit(900) == (1, "ns")


def test_ticks_read_like_a_ruler() -> None:
    axis = TimeAxis(T0, T0 + 300 * MS, 60)
    assert axis.ticks(min_gap=10) == [(0, "0"), (10, "50ms"), (20, "100ms"), (30, "150ms"),
                                      (40, "200ms"), (50, "250ms"), (60, "300ms")]
    header = axis.header(min_gap=10)
    assert header.startswith("0         50ms      100ms") and len(header) == 60
    # No room at the end for 300ms after 250ms: it is left out rather than overlapping.
    assert header.endswith("250ms     ")
    # With room, the last label ends at the line's end, under the axis' end.
    assert TimeAxis(T0, T0 + 300 * MS, 59).header(61).endswith("200ms            300ms")


def test_ticks_below_the_unit_get_decimals_and_no_trailing_zeros() -> None:
    axis = TimeAxis(T0, T0 + 3 * MS, 60)
    labels = [label for _, label in axis.ticks(min_gap=10)]
    assert labels == ["0", "0.5ms", "1ms", "1.5ms", "2ms", "2.5ms", "3ms"]


def test_an_empty_axis_has_no_ticks() -> None:
    assert TimeAxis(T0, T0, 0).ticks() == []
    assert TimeAxis(T0, T0, 10).ticks()[0] == (0, "0")


# --- columns ---


def test_the_tree_column_fits_the_labels_but_leaves_the_bars_a_quarter() -> None:
    index = nested_index()
    rows = flatten(index.children, set())
    assert label_cells(rows, index.label) == len("│ ├─") + 2 + len("a1")
    assert tree_column(120, 30) == 31  # the labels need little: the bars get the rest
    assert tree_column(120, 200) == 120 - DURATION_CELLS - 2 - 30
    assert tree_column(120, 0) == 12


def test_a_narrow_waterfall_shrinks_the_bars_then_cuts_the_names_then_drops_the_bars() -> None:
    # The names fit with a few cells of bars: the bars shrink, the names stay whole.
    columns = waterfall_columns(48, 28)
    assert (columns.tree, columns.duration, columns.bars) == (29, DURATION_CELLS, 8)
    # With short durations the bars still fit beside whole names.
    columns = waterfall_columns(30, 12)
    assert (columns.tree, columns.duration, columns.bars) == (13, COMPACT_CELLS, BARS_MIN)
    assert columns.compact and columns.duration_header == "Dur"
    # Names longer than the room (a deep workflow at 120x40): cut, the bars keep a column.
    columns = waterfall_columns(50, 45)
    assert (columns.tree, columns.duration, columns.bars) == (33, COMPACT_CELLS, BARS_MIN)
    # Narrower still: no bars, the names get the rest, cut with … when painted.
    for width, labels in ((30, 200), (24, 30), (22, 14)):
        columns = waterfall_columns(width, labels)
        assert columns.bars == 0 and columns.compact
        assert columns.tree + 1 + columns.duration == width
    assert waterfall_columns(120, 30).duration_header == "Duration"
    assert waterfall_columns(6, 50).tree == 0


@pytest.mark.parametrize(("ns", "shown"), [
    (None, "…"), (0, "0ns"), (999, "999ns"), (27_000, "27µs"), (104_000, "104µs"),
    (999_600, "1.0ms"), (5_240_000, "5.2ms"), (9_960_000, "10ms"), (506_400_000, "506ms"),
    (999_600_000, "1.0s"), (1_200_000_000, "1.2s"), (45_000_000_000, "45s"),
    (59_600_000_000, "1m00s"), (125_000_000_000, "2m05s"), (1_800_000_000_000, "30m"),
    (11_100_000_000_000, "3h05m"), (144_000_000_000_000, "40h"),
])
def test_a_compact_duration_keeps_its_unit_in_five_cells(ns: int | None, shown: str) -> None:
    assert compact_duration(ns) == shown
    assert len(shown) <= COMPACT_CELLS - 2  # "⏵ " before a running span's
