"""The conversation model the chat and the debugger share: per agent, made on first use."""

from __future__ import annotations

from lumos_core.messages import Message
from lumos_studio.ui.conversations import Conversations


def test_a_conversation_begins_empty_on_first_use_and_keeps_its_turns() -> None:
    conversations = Conversations()
    assert "weather" not in conversations
    conversations.record("weather", "you", "weather in Paris?")
    conversations.record("weather", "weather", "Sunny.")
    assert conversations["weather"].turns == [("you", "weather in Paris?"), ("weather", "Sunny.")]
    assert conversations["trip"].turns == []  # another agent's is apart
    assert conversations["trip"].name == "trip" and "trip" in conversations


def test_each_agent_keeps_one_thread_for_the_session() -> None:
    times = iter(["101500", "101501"])
    conversations = Conversations(clock=lambda: next(times))
    assert conversations.thread_id("weather") == "studio-weather-101500"
    assert conversations.thread_id("weather") == "studio-weather-101500"  # not a new one
    assert conversations.thread_id("docs") == "studio-docs-101501"


def test_a_suspended_run_is_offered_until_forgotten() -> None:
    conversations = Conversations()
    conversations["trip"].suspended_run = "run-1"
    conversations["weather"].history = (Message.user("hi"),)
    assert conversations["weather"].suspended_run is None  # another's is apart
    assert conversations["trip"].forget_suspended() == "run-1"
    assert conversations["trip"].forget_suspended() is None
    assert conversations["trip"].suspended_run is None


def test_starting_over_forgets_the_transcript_and_history_and_names_a_new_thread() -> None:
    conversations = Conversations(clock=lambda: "101500")  # all in one second
    first = conversations.thread_id("weather")
    conversations.record("weather", "you", "weather in Paris?")
    conversations["weather"].history = (Message.user("weather in Paris?"),)
    second = conversations.start_over("weather")
    assert (first, second) == ("studio-weather-101500", "studio-weather-101500-2")
    assert conversations["weather"].turns == [] and conversations["weather"].history == ()
    assert conversations.thread_id("weather") == second
    assert conversations.start_over("weather") == "studio-weather-101500-3"
