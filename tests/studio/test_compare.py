"""Comparing two runs: structural alignment, per-span differences, the summary line."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import SpanRecord
from lumos_studio.replay.compare import (
    align_siblings,
    compare_runs,
    percent_change,
    word_diff,
)
from lumos_studio.replay.loader import load_trace
from tests.builders import MS, T0, make_span, weather_trace

TRACES = Path(__file__).resolve().parents[2] / "traces"


def spans_of(name: str) -> list[SpanRecord]:
    with load_trace(TRACES / name) as loaded:
        assert loaded.problems == []
        return [s for t in loaded.trace_ids for s in loaded.reader.trace_spans(t)]


def with_attributes(span: SpanRecord, **changes: object) -> SpanRecord:
    return replace(span, attributes={**span.attributes, **changes})


def test_a_run_compared_with_itself_has_no_differences() -> None:
    comparison = compare_runs(weather_trace(), weather_trace("1bf7651916cd43dd8448eb211c80319c",
                                                             T0 + 60 * 10**9))
    assert [row.change for row in comparison.rows] == ["same"] * 4
    assert [row.depth for row in comparison.rows] == [0, 1, 1, 1]
    assert comparison.rows[3].path == "invoke_agent weather[0]/chat scripted[1]"
    assert comparison.summary == "tokens ±0 %, latency ±0 %"


def test_changed_prompt_output_arguments_tokens_and_duration_are_reported() -> None:
    agent, chat, tool, answer = weather_trace()
    after = [
        with_attributes(agent,
                        **{sc.SYSTEM_INSTRUCTIONS: '[{"type":"text","content":"Be brief."}]'}),
        with_attributes(chat, **{sc.USAGE_INPUT_TOKENS: 26}),
        replace(with_attributes(tool, **{sc.TOOL_CALL_ARGUMENTS: '{ "city" : "Lyon" }',
                                         sc.TOOL_CALL_RESULT: "Windy in Lyon."}),
                end_ns=tool.start_ns + 90 * MS),
        with_attributes(answer, **{sc.OUTPUT_MESSAGES: '[{"role":"assistant","parts":'
                                   '[{"type":"text","content":"Windy in Lyon."}]}]'}),
    ]
    rows = compare_runs(weather_trace(), after).rows
    fields = {row.path.rsplit("/", 1)[-1]: {d.field: (d.left, d.right) for d in row.diffs}
              for row in rows}
    assert fields["invoke_agent weather[0]"] == {"system instructions": (None, "Be brief.")}
    assert fields["chat scripted[0]"] == {"input tokens": ("20", "26")}
    assert fields["execute_tool get_weather[0]"] == {
        "tool arguments": ('{"city":"Paris"}', '{"city":"Lyon"}'),
        "tool result": ("Sunny, 18 °C in Paris.", "Windy in Lyon."),
        "duration": ("300µs", "90.0ms"),
    }
    assert fields["chat scripted[1]"]["output messages"] == (
        "assistant: Sunny, 18 °C in Paris.", "assistant: Windy in Lyon.")


def test_key_order_and_small_timing_noise_are_not_changes() -> None:
    agent, chat, tool, answer = weather_trace()
    after = [replace(agent, end_ns=agent.end_ns + 2 * MS), chat,
             with_attributes(tool, **{sc.TOOL_CALL_ARGUMENTS: '{ "city": "Paris" }'}), answer]
    assert all(row.change == "same" for row in compare_runs(weather_trace(), after).rows)


def test_an_inserted_or_removed_step_shifts_nothing_else() -> None:
    def tool_call(span_id: str, city: str, start_ms: int) -> SpanRecord:
        return make_span("execute_tool get_weather", span_id=span_id, parent="a000000000000001",
                         start=T0 + start_ms * MS, duration_ms=1,
                         attributes={sc.OPERATION_NAME: "execute_tool",
                                     sc.TOOL_CALL_ARGUMENTS: f'{{"city":"{city}"}}'})

    left = [make_span("root", span_id="a000000000000001", duration_ms=100),
            tool_call("b1", "Paris", 1), tool_call("b2", "Lyon", 2), tool_call("b3", "Nice", 3)]
    right = [left[0], tool_call("c1", "Paris", 1), tool_call("c3", "Nice", 3)]
    rows = compare_runs(left, right).rows
    assert [(r.left.span_id if r.left else None, r.right.span_id if r.right else None, r.change)
            for r in rows] == [("a000000000000001", "a000000000000001", "same"),
                               ("b1", "c1", "same"), ("b2", None, "removed"),
                               ("b3", "c3", "same")]
    assert compare_runs(right, left).counts == {"same": 3, "changed": 0, "added": 1, "removed": 0}


def test_a_different_tool_at_the_same_step_pairs_with_it_and_other_kinds_do_not() -> None:
    tool_a = make_span("execute_tool a", span_id="01", attributes={sc.OPERATION_NAME:
                                                                   "execute_tool"})
    tool_b = make_span("execute_tool b", span_id="02", attributes={sc.OPERATION_NAME:
                                                                   "execute_tool"})
    chat = make_span("chat m", span_id="03", attributes={sc.OPERATION_NAME: "chat"})
    assert align_siblings([tool_a], [tool_b]) == [(tool_a, tool_b)]
    assert align_siblings([tool_a], [chat]) == [(tool_a, None), (None, chat)]


def test_summary_of_the_demo_traces_before_and_after_the_instructions_change() -> None:
    comparison = compare_runs(spans_of("weather-v1.jsonl"), spans_of("weather-v2.jsonl"))
    summary = comparison.summary
    assert re.fullmatch(
        r"tokens −\d+ %, latency −\d+ %, 1 tool call fewer, 2 model calls fewer, \d+ spans changed",
        summary,
    ), summary
    assert comparison.left.tool_calls == 3 and comparison.right.tool_calls == 2
    changes = [(row.path, row.change) for row in comparison.rows]
    assert changes[0] == ("invoke_agent weather[0]", "changed")
    # The two answers pair up; the dropped double-check is what is reported removed.
    assert ("invoke_agent weather[0]/chat scripted[3]", "changed") in changes
    assert [path for path, change in changes if change == "removed"] == [
        "invoke_agent weather[0]/chat scripted[1]",
        "invoke_agent weather[0]/chat scripted[2]",
        "invoke_agent weather[0]/execute_tool get_weather[2]",
    ]
    root_fields = [d.field for d in comparison.rows[0].diffs]
    assert "system instructions" in root_fields and "input tokens" in root_fields


def test_percent_change_and_word_diff() -> None:
    assert percent_change(100, 112) == "+12 %"
    assert percent_change(100, 70) == "−30 %"
    assert percent_change(0, 5) == "new" and percent_change(3, 3) == "±0 %"
    assert word_diff("check each city twice", "check each city once") == [
        ("same", "check each city "), ("removed", "twice"), ("added", "once")]


def test_a_long_comparison_tells_how_far_it_is_up_to_the_whole() -> None:
    def run(trace_id: str) -> list[SpanRecord]:
        root = make_span("invoke_agent long", trace_id=trace_id, span_id="f" * 16)
        return [root, *(make_span(f"step {n}", trace_id=trace_id, span_id=f"{n + 1:016x}",
                                  parent="f" * 16, start=T0 + n) for n in range(2_499))]

    shares: list[float] = []
    comparison = compare_runs(run("1" * 32), run("2" * 32), on_progress=shares.append)
    assert comparison.counts["same"] == 2_500
    assert shares == [0.4, 0.8]  # the spans aligned, every 1,000 rows (two spans each)


def test_a_comparison_aligned_a_part_at_a_time_reads_only_the_spans_its_rows_need() -> None:
    from lumos_studio.replay.compare import Aligning

    def run(trace_id: str) -> list[SpanRecord]:
        root = make_span("invoke_agent long", trace_id=trace_id, span_id="f" * 16)
        return [root, *(make_span(f"step {n}", trace_id=trace_id, span_id=f"{n + 1:016x}",
                                  parent="f" * 16, start=T0 + n) for n in range(999))]

    later = weather_trace("1bf7651916cd43dd8448eb211c80319c", T0 + 60 * 10**9)
    aligning = Aligning(run("1" * 32), run("2" * 32) + later)
    assert aligning.more(10)
    assert len(aligning.rows) == 10 and aligning.share == 20 / 2004  # the root, 9 steps
    # The roots were aligned as siblings (each read), the steps too: not the later run's steps.
    read = {span_id for span_id in aligning.right_views if span_id in aligning.right_views._read}
    assert len(read) == 1_001 and not read & {s.span_id for s in later[1:]}
    first = tuple(aligning.rows)
    whole = aligning.finish()
    assert whole.rows[:10] == first  # the first rows stay as they were
    assert whole == compare_runs(run("1" * 32), run("2" * 32) + later)
