"""``lumos-studio run --tool``: one of an agent's tools called by hand from the shell, in a worker
for a FILE and in-process for the demo; its result on stdout, its trace stored, every wrong
input a sentence and an exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumos_core.telemetry import semconv as sc
from lumos_studio.store import StoreReader
from tests.studio.test_worker_run_cli import invoke
from tests.ui.test_tool_call_again import AGENTS


@pytest.fixture
def agents(tmp_path: Path) -> Path:
    path = tmp_path / "agents.py"
    path.write_text(AGENTS)
    return path


def stored_call(db: Path, stderr: str) -> dict[str, object]:
    """The attributes of the one span of the trace the command named."""
    trace_id = stderr.split("trace ")[1].split()[0] if "recorded in" in stderr else (
        stderr.split("lumos-studio show ")[1].split()[0])
    (span,) = StoreReader(db).trace_spans(trace_id)
    assert span.name == "execute_tool get_weather"
    return dict(span.attributes)


def test_a_files_tool_is_called_in_a_worker_and_its_trace_stored(
    tmp_path: Path, agents: Path
) -> None:
    db = tmp_path / "studio.db"
    called = invoke(db, "run", str(agents), "weather", "--tool", "get_weather",
                    '{"city": "Lima"}')
    assert called.exit_code == 0, called.stderr
    assert called.stdout == "Sunny in Lima\n"
    attributes = stored_call(db, called.stderr)
    assert attributes[sc.TOOL_CALL_RESULT] == "Sunny in Lima"
    assert attributes[sc.LUMOS_TOOL_AGENT] == "weather"


@pytest.mark.parametrize(("arguments", "said"), [
    ('{"city": "Atlantis"}', "error: no weather under the sea"),
    ("{}", "error: Invalid arguments for tool 'get_weather': city: Field required"),
    ('{"city": "bug"}', "error: tool 'get_weather' raised ZeroDivisionError: division by zero"),
])
def test_an_error_result_or_a_raising_tool_exits_1_with_its_trace(
    tmp_path: Path, agents: Path, arguments: str, said: str
) -> None:
    db = tmp_path / "studio.db"
    called = invoke(db, "run", str(agents), "weather", "--tool", "get_weather", arguments)
    assert called.exit_code == 1
    assert called.stderr.startswith(said)
    assert "Traceback" not in called.output
    assert stored_call(db, called.stderr)[sc.LUMOS_TOOL_AGENT] == "weather"


def test_the_demos_tool_is_called_in_this_process(tmp_path: Path) -> None:
    db = tmp_path / "studio.db"
    called = invoke(db, "run", "--demo", "weather", "--tool", "get_weather", '{"city": "Oslo"}')
    assert called.exit_code == 0, called.stderr
    assert "Oslo" in called.stdout
    assert stored_call(db, called.stderr)[sc.TOOL_CALL_ARGUMENTS] == '{"city":"Oslo"}'
    unknown = invoke(db, "run", "--demo", "weather", "--tool", "get_forecast", "{}")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: Unknown tool 'get_forecast'. Available tools: "
                                     "get_weather.")


@pytest.mark.parametrize(("args", "said"), [
    (["weather", "--tool", "get_weather", "Oslo"],
     "error: with --tool, MESSAGE is the tool's arguments as a JSON object"),
    (["weather", "--tool", "get_weather", '["Oslo"]'],
     "error: with --tool, MESSAGE is the tool's arguments as a JSON object"),
    (["trip_planner", "--tool", "get_weather", "{}"],
     "error: --tool calls an agent's tool; 'trip_planner' is a workflow"),
    (["weather", "--tool", "get_weather", "--thread", "t1", "{}"],
     "error: --tool calls a tool alone: --thread, --resource and --resume do not go with it"),
])
def test_a_wrong_call_is_refused_before_anything_runs(
    tmp_path: Path, args: list[str], said: str
) -> None:
    db = tmp_path / "studio.db"
    called = invoke(db, "run", "--demo", *args)
    assert called.exit_code == 2
    assert called.stderr.startswith(said)
    assert not db.exists() or not StoreReader(db).list_traces()


def test_break_stops_a_tool_called_by_hand_before_it_runs(tmp_path: Path, agents: Path) -> None:
    called = invoke(tmp_path / "studio.db", "run", str(agents), "weather", "--tool",
                    "get_weather", '{"city": "Rome"}', "--break", "tool")
    assert called.exit_code == 3
    assert called.stdout == '{\n  "city": "Rome"\n}\n'
    assert "paused before tool call 'get_weather'" in called.stderr
