"""Memory: threads and windows, working memory through its tool, recall, shared files."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from lumos_core import Agent, Memory, ScriptedModel, SemanticRecall, WorkingMemory
from lumos_core.memory import MemoryStoreError, StoredMessage
from lumos_core.messages import Message, TextPart, ToolCallPart, ToolResultPart
from lumos_core.telemetry import semconv as sc


def tool_exchange(city: str) -> list[Message]:
    call = ToolCallPart("c1", "get_weather", {"city": city, "units": {"temp": "C"}})
    return [
        Message.user(f"weather in {city}?"),
        Message("assistant", (call,), finish_reason="tool_calls"),
        Message("tool", (ToolResultPart("c1", "get_weather", "boom", is_error=True),)),
        Message("assistant", (TextPart("Sorry, "), TextPart("no weather.")), finish_reason="stop"),
    ]


def test_messages_round_trip_with_tool_calls_and_errors() -> None:
    memory = Memory(":memory:")
    saved = memory.save_messages("t1", tool_exchange("Paris"), resource_id="u1")
    assert [m.seq for m in saved] == [0, 1, 2, 3]
    loaded = memory.messages("t1")
    assert loaded == saved
    assert [m.message for m in loaded] == tool_exchange("Paris")
    assert memory.thread("t1").resource_id == "u1"
    assert [t.id for t in memory.threads("u1")] == ["t1"]
    assert memory.threads("nobody") == []


def test_saving_a_stored_message_replaces_it_in_place() -> None:
    memory = Memory(":memory:")
    first, second = memory.save_messages("t1", [Message.user("hi"), Message.assistant("hello")])
    edited = StoredMessage(first.id, "t1", first.seq, Message.user("hi there"), first.created_ns)
    memory.save_messages("t1", [edited])
    assert [m.message.text for m in memory.messages("t1")] == ["hi there", "hello"]
    assert memory.messages("t1")[1] == second


def test_a_thread_belongs_to_one_resource_and_can_be_deleted() -> None:
    memory = Memory(":memory:")
    memory.save_messages("t1", [Message.user("hi")], resource_id="u1")
    with pytest.raises(MemoryStoreError, match="belongs to resource 'u1'"):
        memory.save_messages("t1", [Message.user("hi")], resource_id="u2")
    memory.save_messages("t1", [Message.user("again")])  # the thread's own resource by default
    assert memory.resolve_resource("t1", None) == "u1"
    assert memory.resolve_resource("new", None) == "default"
    assert memory.delete_thread("t1") and not memory.delete_thread("t1")
    assert memory.messages("t1") == [] and memory.thread("t1") is None


def test_the_window_keeps_the_last_messages_and_never_starts_with_tool_results() -> None:
    memory = Memory(":memory:", last_messages=3, working_memory=False, semantic_recall=False)
    memory.save_messages("t1", tool_exchange("Paris") + tool_exchange("Rome"))
    turn = memory.begin_turn("t1", None, Message.user("and Oslo?"))
    # The last 3 messages are call, result, answer; a window of 3 starting at "tool" is cut.
    assert [m.role for m in turn.history] == ["assistant", "tool", "assistant"]
    memory.last_messages = 2
    turn = memory.begin_turn("t1", None, Message.user("and Oslo?"))
    assert [m.role for m in turn.history] == ["assistant", "user"]  # Rome's answer, "and Oslo?"
    memory.last_messages = 0
    assert memory.begin_turn("t1", None, Message.user("x")).history == []


def test_an_agent_with_memory_continues_its_thread_and_only_sees_the_window() -> None:
    seen: list[list[str]] = []

    def script(messages, tools):  # type: ignore[no-untyped-def]
        seen.append([m.text for m in messages])
        return f"reply {len(seen)}"

    memory = Memory(":memory:", last_messages=4, working_memory=False, semantic_recall=False)
    agent = Agent("echo", model=ScriptedModel(script), memory=memory)
    for i in range(4):
        result = agent.run_sync(f"message {i}", thread_id="t1", resource_id="u1")
    assert seen[1] == ["message 0", "reply 1", "message 1"]
    assert seen[3] == ["message 1", "reply 2", "message 2", "reply 3", "message 3"]
    assert [m.text for m in result.new_messages] == ["message 3", "reply 4"]
    assert (result.thread_id, result.resource_id) == ("t1", "u1")
    assert len(memory.messages("t1")) == 8
    other = agent.run_sync("fresh start")  # no thread named: a new one
    assert other.thread_id not in (None, "t1") and seen[-1] == ["fresh start"]


def test_two_memories_on_one_file_continue_the_same_thread(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"

    def script(messages, tools):  # type: ignore[no-untyped-def]
        return " | ".join(m.text for m in messages)

    first = Agent("a", model=ScriptedModel(script), memory=Memory(path))
    first.run_sync("my name is Ada", thread_id="t1", resource_id="u1")
    first.memory.close()
    second = Agent("a", model=ScriptedModel(script), memory=Memory(path))  # as a new process would
    result = second.run_sync("who am I?", thread_id="t1", resource_id="u1")
    assert result.output == "my name is Ada | my name is Ada | who am I?"
    assert [m.message.text for m in second.memory.messages("t1")][-1] == result.output


def test_the_default_file_is_created_under_the_current_directory_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    memory = Memory()
    assert not (tmp_path / ".lumos").exists()  # defining an agent's memory writes nothing
    memory.save_messages("t1", [Message.user("hi")])
    assert (tmp_path / ".lumos" / "memory.db").is_file()
    assert memory.path == str(tmp_path / ".lumos" / "memory.db")
    memory.close()


def test_saves_from_many_threads_get_distinct_positions() -> None:
    memory = Memory(":memory:")

    def save(worker: int) -> None:
        for i in range(20):
            memory.save_messages("t1", [Message.user(f"{worker}-{i}")])

    workers = [threading.Thread(target=save, args=(w,)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stored = memory.messages("t1")
    assert [m.seq for m in stored] == list(range(80))
    assert len({m.message.text for m in stored}) == 80


def test_the_agent_updates_working_memory_with_its_tool_and_sees_it_at_once(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    model = ScriptedModel([
        ScriptedModel.call("update_working_memory", memory="# User\n- Name: Ada"),
        "Noted.",
    ])
    memory = Memory(":memory:")
    agent = Agent("a", "Be kind.", model, memory=memory)
    assert "update_working_memory" in agent.tools
    agent.run_sync("I am Ada", thread_id="t1", resource_id="u1", tracer_provider=tracer_provider)

    assert memory.working_memory(resource_id="u1") == "# User\n- Name: Ada\n"
    chats = [s for s in exporter.get_finished_spans() if s.name == "chat scripted"]
    before = json.loads(chats[0].attributes[sc.SYSTEM_INSTRUCTIONS])[0]["content"]
    after = json.loads(chats[1].attributes[sc.SYSTEM_INSTRUCTIONS])[0]["content"]
    assert before.startswith("Be kind.\n\n## Working memory") and "- Name:\n" in before
    assert "<working_memory>\n# User\n- Name: Ada\n</working_memory>" in after
    # Resource scope: another thread of the same user sees it; another user does not.
    assert memory.working_memory(thread_id="t2", resource_id="u1") == "# User\n- Name: Ada\n"
    assert memory.working_memory(resource_id="u2") is None


def test_thread_scoped_working_memory_stays_in_its_thread() -> None:
    memory = Memory(":memory:", working_memory=WorkingMemory(scope="thread"))
    memory.update_working_memory("plan: A", thread_id="t1", resource_id="u1")
    assert memory.working_memory(thread_id="t1") == "plan: A\n"
    assert memory.working_memory(thread_id="t2", resource_id="u1") is None
    with pytest.raises(ValueError, match="needs a thread_id"):
        memory.working_memory(resource_id="u1")
    assert memory.delete_working_memory(thread_id="t1")
    assert memory.working_memory(thread_id="t1") is None


class Profile(BaseModel):
    name: str | None = None
    city: str | None = None
    interests: list[str] = []


def test_structured_working_memory_merges_the_fields_the_tool_sends() -> None:
    memory = Memory(":memory:", working_memory=WorkingMemory(schema=Profile))
    tool = memory.tools()[0]
    assert set(tool.parameters_schema["properties"]) == {"memory"}
    model = ScriptedModel([
        ScriptedModel.call("update_working_memory", "c1", memory={"name": "Ada"}),
        ScriptedModel.call("update_working_memory", "c2", memory={"city": "London"}),
        ScriptedModel.call("update_working_memory", "c3", memory={"city": 7}),
        "done",
    ])
    result = Agent("a", model=model, memory=memory).run_sync("x", thread_id="t", resource_id="u")
    assert json.loads(memory.working_memory(resource_id="u")) == {
        "name": "Ada", "city": "London", "interests": [],
    }
    assert result.messages[-2].parts[0].is_error  # the bad type went back to the model


def test_the_working_memory_tool_needs_a_running_thread() -> None:
    outcome = Memory(":memory:").tools()[0]
    result = __import__("asyncio").run(outcome.invoke({"memory": "x"}))
    assert result.is_error and "while the agent runs in a thread" in result.text


def test_recall_finds_the_relevant_past_message_among_distractors() -> None:
    memory = Memory(":memory:", semantic_recall=SemanticRecall(top_k=1, message_range=1))
    distractors = [
        "what's the weather in Paris tomorrow?", "book a table for two at eight",
        "convert 30 euros to dollars", "remind me to call the dentist",
        "how long to boil an egg?", "play some jazz", "translate hello into Spanish",
        "what's 17 times 23?", "set a timer for ten minutes", "who won the match yesterday?",
    ]
    for i, text in enumerate(distractors):
        memory.save_messages(f"old{i}", [Message.user(text), Message.assistant("Done.")],
                             resource_id="u1")
    memory.save_messages("pets", [
        Message.user("hello"),
        Message.user("my dog is called Biscuit and she is a beagle"),
        Message.assistant("What a lovely name!"),
        Message.user("thanks"),
    ], resource_id="u1")
    memory.save_messages("other-user", [Message.user("my dog is called Rex")], resource_id="u2")

    hits = memory.search("what is my dog called?", resource_id="u1", top_k=3)
    assert hits[0].stored.message.text == "my dog is called Biscuit and she is a beagle"
    groups = memory.recall("what breed is my dog?", thread_id="new", resource_id="u1")
    assert [[m.stored.message.text for m in g] for g in groups] == [
        ["hello", "my dog is called Biscuit and she is a beagle", "What a lovely name!"]
    ]
    assert [m.is_hit for m in groups[0]] == [False, True, False]
    assert memory.recall("dog", thread_id="pets", resource_id="u1",
                         exclude=[m.id for m in memory.messages("pets")]) == []


def test_recall_reaches_the_model_as_a_marked_system_message(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    memory = Memory(":memory:", last_messages=2)
    seen = []

    def script(messages, tools):  # type: ignore[no-untyped-def]
        seen.append(messages)
        return "ok"

    agent = Agent("a", model=ScriptedModel(script), memory=memory)
    agent.run_sync("my favourite colour is green", thread_id="t1", resource_id="u1")
    agent.run_sync("what is my favourite colour?", thread_id="t2", resource_id="u1",
                   tracer_provider=tracer_provider)
    recall = seen[-1][0]
    assert recall.role == "system" and recall.text.startswith("## Recalled memory")
    assert "--- thread t1" in recall.text and "user: my favourite colour is green" in recall.text
    chat = next(s for s in exporter.get_finished_spans() if s.name == "chat scripted")
    sent = json.loads(chat.attributes[sc.INPUT_MESSAGES])
    assert sent[0]["role"] == "system" and "favourite colour is green" in sent[0]["parts"][0][
        "content"]
    assert chat.attributes[sc.LUMOS_MEMORY_RECALLED_COUNT] == 2  # the hit and its answer
    summary = json.loads(chat.attributes[sc.LUMOS_CONTEXT_SUMMARY])
    assert summary["thread_id"] == "t2" and summary["resource_id"] == "u1"
    assert [r["thread_id"] for r in summary["recalled"]] == ["t1", "t1"]
    assert summary["recalled"][0]["score"] > 0.2 and summary["recalled"][1]["score"] is None
    assert summary["working_memory"] == {
        "scope": "resource", "chars": len(WorkingMemory().initial()), "written": False,
    }


def test_message_history_replaces_the_stored_window_but_the_turn_is_saved() -> None:
    memory = Memory(":memory:", semantic_recall=False)
    agent = Agent("echo", model="scripted", memory=memory)
    agent.run_sync("one", thread_id="t1")
    given = [Message.user("zero"), Message.assistant("You said: zero")]
    result = agent.run_sync("two", thread_id="t1", message_history=given)
    assert [m.text for m in result.messages] == ["zero", "You said: zero", "two", "You said: two"]
    assert [m.message.text for m in memory.messages("t1")] == [
        "one", "You said: one", "two", "You said: two",
    ]
