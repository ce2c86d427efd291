"""``lumos-studio run --thread``: a conversation continued by separate runs, and the demo agents
with memory and retrieval."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lumos_core import rebuild_memory_state
from lumos_core.telemetry import semconv as sc
from lumos_studio.cli import cli
from lumos_studio.store import StoreReader

AGENT_FILE = '''
from lumos_core import Agent, Memory

notes = Agent(name="notes", instructions="Keep notes.", model="scripted",
              memory=Memory({path!r}))
plain = Agent(name="plain", model="scripted")
'''


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


def trace_of(result: Result) -> str:
    return result.stderr.split("trace ")[1].split()[0]


def chat_inputs(db: Path, trace_id: str) -> list[list[dict]]:
    spans = StoreReader(db).trace_spans(trace_id)
    return [json.loads(s.attributes[sc.INPUT_MESSAGES]) for s in spans if s.name.startswith("chat")]


def test_a_second_run_in_the_same_thread_continues_the_conversation(tmp_path: Path) -> None:
    db = tmp_path / "studio.db"
    agents = tmp_path / "agents.py"
    agents.write_text(AGENT_FILE.format(path=str(tmp_path / "memory.db")))

    first = invoke(db, "run", str(agents), "notes", "buy oat milk", "--thread", "t1",
                   "--resource", "ada")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "You said: buy oat milk"
    assert "thread t1" in first.stderr
    second = invoke(db, "run", "--thread", "t1", str(agents), "notes", "and bread")
    assert second.exit_code == 0, second.output

    texts = [[p["content"] for m in chat for p in m["parts"] if p["type"] == "text"]
             for chat in chat_inputs(db, trace_of(second))]
    assert texts[0][-3:] == ["buy oat milk", "You said: buy oat milk", "and bread"]
    spans = StoreReader(db).trace_spans(trace_of(second))
    root = next(s for s in spans if s.parent_span_id is None)
    assert root.attributes[sc.CONVERSATION_ID] == "t1"
    assert root.attributes[sc.LUMOS_MEMORY_RESOURCE_ID] == "ada"  # the thread's own resource
    # Memory events reached the store, tied to their spans, and rebuild the thread.
    logs = StoreReader(db).logs(trace_id=trace_of(second))
    assert {log.event_name for log in logs} == {"lumos.memory.upsert_memory"}
    memory_span_ids = {s.span_id for s in spans if s.name == "upsert_memory"}
    assert {log.span_id for log in logs} <= memory_span_ids
    first_logs = StoreReader(db).logs(trace_id=trace_of(first))
    state = rebuild_memory_state(first_logs + logs)
    assert [m.message.text for m in state.threads["t1"].messages] == [
        "buy oat milk", "You said: buy oat milk", "and bread", "You said: and bread",
    ]


def test_thread_on_an_agent_without_memory_is_refused(tmp_path: Path) -> None:
    agents = tmp_path / "agents.py"
    agents.write_text(AGENT_FILE.format(path=str(tmp_path / "memory.db")))
    ran = invoke(tmp_path / "s.db", "run", str(agents), "plain", "hi", "--thread", "t1")
    assert ran.exit_code == 2
    assert "has no memory" in ran.stderr and "Memory()" in ran.stderr


@pytest.fixture
def demo_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The demo assistant keeps its memory in ./.lumos: run it in a fresh directory."""
    from lumos_studio.demo.agents import assistant

    monkeypatch.chdir(tmp_path)
    assistant.memory.close()  # the next use opens .lumos/memory.db here
    yield tmp_path
    assistant.memory.close()


def test_the_demo_assistant_remembers_across_threads_and_runs(demo_dir: Path) -> None:
    db = demo_dir / "studio.db"
    said = [
        ("t1", "remember that my name is Ada", "Got it, I'll remember that."),
        ("t1", "my favourite colour is green", "You said: my favourite colour is green"),
        ("t2", "what is my name?", "Your name is Ada."),
        ("t2", "what is my favourite colour?", "Your favourite colour is green (you told me "
                                               "earlier)."),
        ("t3", "what is my job?", "I don't know your job yet. Tell me: remember that my job is …"),
    ]
    for thread, message, answer in said:
        ran = invoke(db, "run", "--demo", "assistant", message, "--thread", thread)
        assert ran.exit_code == 0, ran.output
        assert ran.stdout.strip() == answer
    assert (demo_dir / ".lumos" / "memory.db").is_file()


def test_the_demo_docs_agent_answers_from_the_readme_citing_the_passage(tmp_path: Path) -> None:
    ran = invoke(tmp_path / "s.db", "run", "--demo", "docs", "how do I export traces?")
    assert ran.exit_code == 0, ran.output
    answer = ran.stdout
    assert answer.startswith("From README.md › Lumos Studio")
    assert "export" in answer and "[1] README.md#" in answer
    spans = StoreReader(tmp_path / "s.db").trace_spans(trace_of(ran))
    retrieval = next(s for s in spans if s.name == "retrieval readme")
    assert retrieval.attributes[sc.RETRIEVAL_QUERY_TEXT] == "how do I export traces?"
    cited = answer.rsplit("[1] ", 1)[1].strip()
    assert retrieval.attributes[sc.LUMOS_RETRIEVAL_IDS][0] == cited
