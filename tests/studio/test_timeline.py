"""Playback on the recorded clock: the trace as it was at an instant, and the playback clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumos_core.telemetry import semconv as sc
from lumos_studio.records import LogRecord, SpanEvent
from lumos_studio.replay.loader import load_trace
from lumos_studio.replay.timeline import (
    INSTANT,
    PlaybackClock,
    format_offset,
    instants,
    logs_at,
    memory_at,
    next_instant,
    previous_instant,
    span_at,
    spans_at,
)
from tests.builders import MS, T0, make_span, weather_trace

TRACES = Path(__file__).resolve().parents[2] / "traces"


class FakeTime:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_instants_are_span_starts_ends_and_log_times_sorted_once() -> None:
    spans = weather_trace()
    logs = [LogRecord(T0 + 5 * MS, "note"), LogRecord(T0 + 1 * MS, "same time as a start")]
    moments = instants(spans, logs)
    assert moments == sorted(set(moments))
    assert moments[0] == T0 and moments[-1] == T0 + 300 * MS
    assert T0 + 5 * MS in moments and len(moments) == 8 + 1  # the second log shares a start


def test_the_trace_at_an_instant_shows_running_spans_as_running() -> None:
    agent, first_chat, tool, _ = weather_trace()
    during_tool = tool.start_ns + 100_000
    shown = {s.span_id: s for s in spans_at(weather_trace(), during_tool)}
    assert set(shown) == {agent.span_id, first_chat.span_id, tool.span_id}
    assert shown[first_chat.span_id] == first_chat  # finished: as recorded
    running_tool, running_agent = shown[tool.span_id], shown[agent.span_id]
    assert running_tool.running and running_tool.status_code == "UNSET"
    # What is only known at the end is not shown yet; what was known at the start is.
    assert sc.TOOL_CALL_RESULT not in running_tool.attributes
    assert running_tool.attributes[sc.TOOL_CALL_ARGUMENTS] == '{"city":"Paris"}'
    assert sc.OUTPUT_MESSAGES not in running_agent.attributes
    assert sc.USAGE_INPUT_TOKENS not in running_agent.attributes
    assert spans_at(weather_trace(), agent.end_ns) == weather_trace()
    assert spans_at(weather_trace(), T0 - 1) == []


def test_a_running_span_loses_its_error_and_later_events() -> None:
    span = make_span(status="ERROR", duration_ms=10,
                     events=(SpanEvent("early", T0 + 1 * MS), SpanEvent("exception", T0 + 9 * MS)))
    at = span_at(span, T0 + 5 * MS)
    assert at is not None and at.status_code == "UNSET" and at.end_ns is None
    assert [e.name for e in at.events] == ["early"]
    assert span_at(span, T0 + 10 * MS) == span


def test_logs_at_and_stepping_between_instants() -> None:
    logs = [LogRecord(T0 + i * MS, i) for i in (1, 5, 9)]
    assert [log.body for log in logs_at(logs, T0 + 5 * MS)] == [1, 5]
    moments = [10, 20, 30]
    assert next_instant(moments, 10) == 20 and next_instant(moments, 15) == 20
    assert next_instant(moments, 30) is None
    assert previous_instant(moments, 20) == 10 and previous_instant(moments, 25) == 20
    assert previous_instant(moments, 10) is None


def test_format_offset() -> None:
    assert format_offset(1_234_000_000) == "00:01.234"
    assert format_offset(62 * 10**9) == "01:02.000"
    assert format_offset(3723 * 10**9) == "1:02:03.0"


def test_clock_plays_on_the_recorded_clock_at_speed_and_stops_at_the_end() -> None:
    fake = FakeTime()
    clock = PlaybackClock(instants(weather_trace()), now=fake)
    assert clock.position_ns == T0 and not clock.playing and clock.fraction == 0.0
    clock.play()
    fake.now += 0.1
    assert clock.position_ns == T0 + 100 * MS
    clock.set_speed(2.0)
    fake.now += 0.05
    assert clock.position_ns == T0 + 200 * MS
    clock.pause()
    fake.now += 10
    assert clock.position_ns == T0 + 200 * MS and not clock.playing
    clock.play()
    fake.now += 10
    assert clock.position_ns == clock.end_ns and clock.at_end and not clock.playing
    assert clock.fraction == 1.0
    clock.play()  # at the end, play starts again from the start
    assert clock.playing and clock.position_ns == T0


def test_clock_speeds_step_through_instants_and_scrub() -> None:
    fake = FakeTime()
    clock = PlaybackClock([T0, T0 + 10, T0 + 40, T0 + 100], now=fake)
    assert [clock.faster() for _ in range(8)][-2:] == [INSTANT, INSTANT]
    assert [clock.slower() for _ in range(8)][-1] == 1.0
    with pytest.raises(ValueError, match="speed"):
        clock.set_speed(3.0)
    assert clock.step_next() == T0 + 10 and clock.index == 2
    clock.play()
    assert clock.step_next() == T0 + 40 and not clock.playing  # stepping pauses
    assert clock.step_previous() == T0 + 10
    assert clock.step_previous() == T0 and clock.step_previous() == T0
    assert clock.scrub(0.5) == T0 + 50 and clock.index == 3
    assert clock.scrub(2.0) == T0 + 100 and clock.step_next() == T0 + 100
    assert clock.scrub(-1) == T0


def test_instant_speed_jumps_to_the_end_at_once() -> None:
    clock = PlaybackClock([T0, T0 + 10**12], speed=INSTANT, now=FakeTime())
    clock.play()
    assert clock.position_ns == T0 + 10**12 and not clock.playing


def test_a_first_part_plays_on_past_its_end_until_the_rest_comes() -> None:
    """A recording read in parts: playing on past the first part holds its end, still playing,
    and the rest, once there, plays on from where the wall clock says."""
    fake = FakeTime()
    clock = PlaybackClock([T0, T0 + 100 * MS], now=fake, partial=True)
    clock.play()
    fake.now += 0.3
    assert clock.position_ns == T0 + 100 * MS and clock.playing
    clock.extend([T0, T0 + 100 * MS, T0 + 250 * MS, T0 + 1_000 * MS])
    assert not clock.partial and clock.end_ns == T0 + 1_000 * MS
    assert clock.position_ns == T0 + 300 * MS and clock.playing
    fake.now += 1
    assert clock.position_ns == clock.end_ns and not clock.playing  # the real end pauses


def test_a_first_part_keeps_a_paused_position_and_speed_when_extended() -> None:
    fake = FakeTime()
    clock = PlaybackClock([T0, T0 + 100 * MS], now=fake, partial=True)
    clock.faster()
    clock.step_next()
    clock.play()  # at the first part's end: not back to the start, more is coming
    assert clock.position_ns == T0 + 100 * MS and clock.playing
    clock.pause()
    clock.extend([T0, T0 + 100 * MS, T0 + 400 * MS])
    assert clock.position_ns == T0 + 100 * MS and not clock.playing and clock.speed == 2.0
    assert clock.index == 2 and len(clock.instants) == 3
    played_past = PlaybackClock([T0, T0 + 100 * MS], now=fake, partial=True)
    played_past.play()
    fake.now += 5  # past the whole recording's end before the rest came
    played_past.extend([T0, T0 + 100 * MS, T0 + 400 * MS])
    assert played_past.position_ns == T0 + 400 * MS and not played_past.playing


def test_the_end_key_on_a_first_part_means_the_whole_recording_s_end() -> None:
    fake = FakeTime()
    clock = PlaybackClock([T0, T0 + 100 * MS], now=fake, partial=True)
    clock.scrub(1.0)
    clock.extend([T0, T0 + 100 * MS, T0 + 400 * MS])
    assert clock.position_ns == T0 + 400 * MS and not clock.playing
    stepped = PlaybackClock([T0, T0 + 100 * MS], now=fake, partial=True)
    stepped.step_next()
    stepped.step_next()  # stepped to the first part's end: the next step is still to come
    stepped.extend([T0, T0 + 100 * MS, T0 + 400 * MS])
    assert stepped.position_ns == T0 + 100 * MS and stepped.step_next() == T0 + 400 * MS


def test_empty_recordings_do_not_divide_by_zero() -> None:
    clock = PlaybackClock([], now=FakeTime())
    assert clock.fraction == 1.0 and clock.step_next() == 0
    one = PlaybackClock.for_records([make_span(duration_ms=None)], now=FakeTime())
    assert one.duration_ns == 0 and one.scrub(0.5) == T0


def test_memory_at_an_instant_is_rebuilt_from_the_memory_records_so_far() -> None:
    with load_trace(TRACES / "assistant.jsonl") as loaded:
        logs = loaded.reader.logs(limit=10_000)
        spans = [s for t in loaded.trace_ids for s in loaded.reader.trace_spans(t)]
    moments = instants(spans, logs)
    assert memory_at(logs, moments[0]).threads == {}
    first_update = min(log.time_ns for log in logs if log.event_name == sc.EVENT_MEMORY_UPDATE)
    before, after = memory_at(logs, first_update - 1), memory_at(logs, first_update)
    assert before.working_memory == {}
    assert "Favourite colour: teal" in after.working_memory_of("demo-thread")
    final = memory_at(logs, moments[-1])
    assert "City: Lyon" in final.working_memory_of("demo-thread")
    assert len(final.threads["demo-thread"].messages) > len(after.threads["demo-thread"].messages)
