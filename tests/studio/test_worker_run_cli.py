"""``lumos-studio run FILE``: the run happens in a worker, so a crash is a sentence, not silence."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from lumos_studio.cli import cli
from lumos_studio.store import StoreReader
from tests.studio.test_worker_streams_and_workflows import DEFINITIONS

AGENTS = '''
import os
from lumos_core import Agent, tool

@tool
def exit_now(city: str) -> str:
    """Exit the process for a city."""
    os._exit(1)

@tool
def hoard(city: str) -> str:
    """Allocate memory without bound for a city."""
    kept = []
    while True:
        kept.append(bytearray(16 << 20))

crasher = Agent(name="crasher", model="scripted", tools=[exit_now])
hoarder = Agent(name="hoarder", model="scripted", tools=[hoard])
'''


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


def test_a_tool_that_exits_makes_run_say_so_and_close_the_trace(tmp_path: Path) -> None:
    agents = tmp_path / "agents.py"
    agents.write_text(AGENTS)
    db = tmp_path / "studio.db"
    ran = invoke(db, "run", str(agents), "crasher", "for the city of Paris")
    assert ran.exit_code == 1
    assert "the worker exited with code 1 while running tool 'exit_now'" in ran.stderr
    assert "Traceback" not in ran.output
    trace_id = ran.stderr.split("lumos-studio show ")[1].split()[0]
    spans = {s.name: s for s in StoreReader(db).trace_spans(trace_id)}
    assert spans["execute_tool exit_now"].status_message == "worker exited with code 1"
    assert not any(s.running for s in spans.values())


def test_run_stops_a_runaway_tool_at_the_memory_limit(tmp_path: Path) -> None:
    agents = tmp_path / "agents.py"
    agents.write_text(AGENTS)
    ran = invoke(tmp_path / "studio.db", "run", "--memory-limit", "300", str(agents), "hoarder",
                 "for the city of Cairo")
    assert ran.exit_code == 1
    assert "the run used more than 300 MB and was stopped; raise --memory-limit" in ran.stderr


def test_a_workflow_of_a_file_suspends_and_resumes_through_the_worker(tmp_path: Path) -> None:
    path = tmp_path / "defs.py"
    path.write_text(DEFINITIONS)
    db = tmp_path / "studio.db"
    waiting = invoke(db, "run", str(path), "shop", '{"item": "tea", "count": 5}')
    assert waiting.exit_code == 0, waiting.output
    assert "· suspended ·" in waiting.stderr and '"question": "confirm?"' in waiting.stdout
    run_id = waiting.stderr.split("--resume ")[1].split()[0]
    resumed = invoke(db, "run", str(path), "shop", "--resume", run_id, '{"ok": true}')
    assert resumed.exit_code == 0, resumed.output
    assert '"confirmed": true' in resumed.stdout
    bad = invoke(db, "run", str(path), "shop", '{"count": 5}')
    assert bad.exit_code == 2 and "item" in bad.stderr


PRINTING = '''
from lumos_core import Agent, tool

@tool
def greet(name: str) -> str:
    """Greet someone."""
    print("greeting", name)
    return f"hello {name}"

print("loaded the greeter")
greeter = Agent(name="greeter", model="scripted", tools=[greet])
'''


def test_what_the_agents_code_prints_shows_on_stderr_and_stays_a_log_record(
        tmp_path: Path) -> None:
    agents = tmp_path / "agents.py"
    agents.write_text(PRINTING)
    db = tmp_path / "studio.db"
    ran = invoke(db, "run", str(agents), "greeter", "greet Ada")
    assert ran.exit_code == 0
    assert "loaded the greeter" in ran.stderr
    assert "greeting" in ran.stderr
    assert "greeting" not in ran.stdout  # stdout is the answer alone, for scripts
    reader = StoreReader(db)
    bodies = [str(log.body) for log in reader.logs(limit=50)]
    assert any(body.startswith("greeting") for body in bodies)
