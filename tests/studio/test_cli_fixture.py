"""``lumos-studio fixture``: a recorded run becomes a pytest test that passes against the agent
that produced it and fails, naming the step, once the agent behaves otherwise."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lumos_studio.cli import cli
from lumos_studio.cli_fixture import AgentSource, _test_source
from lumos_studio.store import StoreReader

STUDIO = str(Path(sys.executable).with_name("lumos-studio"))

AGENTS = '''
from lumos_core import Agent, ScriptedModel, tool

@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"

weather = Agent("weather", "Answer weather questions.", ScriptedModel(), tools=[get_weather])
'''


def _studio(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([STUDIO, "--db", "studio.db", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def _recorded(cwd: Path, *args: str) -> str:
    """Run an agent turn; the trace id prefix it was recorded under."""
    done = _studio(cwd, "run", *args)
    return done.stderr.split("trace ")[1].split()[0][:8]


def _pytest(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests"], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_a_demo_run_becomes_a_passing_regression_test(tmp_path: Path) -> None:
    trace = _recorded(tmp_path, "--demo", "weather", "weather in Paris?")
    done = _studio(tmp_path, "fixture", trace, "-o", "tests/test_weather.py")
    assert "wrote tests/test_weather.py (1 turn(s) of agent 'weather')" in done.stderr
    assert (tmp_path / "tests/test_weather.jsonl").is_file()
    ran = _pytest(tmp_path)
    assert ran.returncode == 0 and "1 passed" in ran.stdout, ran.stdout


def test_a_changed_tool_or_prompt_fails_with_the_step_where_it_diverged(tmp_path: Path) -> None:
    agents = tmp_path / "agents.py"
    agents.write_text(AGENTS)
    trace = _recorded(tmp_path, "agents.py", "weather", "weather in Paris?")
    _studio(tmp_path, "fixture", trace, "-o", "tests/test_weather.py", "--agent", "agents.py",
            "--run-tools")
    assert _pytest(tmp_path).returncode == 0

    agents.write_text(AGENTS.replace("Sunny in", "Rainy in"))
    ran = _pytest(tmp_path)
    assert ran.returncode == 1
    assert "TraceDivergence: model call 2 (span " in ran.stdout
    assert "message 3 of the conversation differs" in ran.stdout
    assert '"response":"Rainy in Paris"' in ran.stdout

    agents.write_text(AGENTS.replace("Answer weather questions.", "Answer in French."))
    ran = _pytest(tmp_path)
    assert "model call 1 (span " in ran.stdout and "the system instructions differ" in ran.stdout
    assert "recorded: 'Answer weather questions.'" in ran.stdout


def test_a_memory_conversation_replays_against_the_memory_that_recorded_it(
    tmp_path: Path,
) -> None:
    """The assistant's memory file (.lumos/memory.db here) already holds the thread when the test
    runs: the replay must show each turn what it saw when recorded, not what the file holds."""
    first = _recorded(tmp_path, "--demo", "assistant", "remember that my city is Lyon",
                      "--thread", "t1", "--resource", "ada")
    second = _recorded(tmp_path, "--demo", "assistant", "what is my city?", "--thread", "t1",
                       "--resource", "ada")
    done = _studio(tmp_path, "fixture", first, second, "-o", "tests/test_assistant.py")
    assert "(2 turn(s) of agent 'assistant')" in done.stderr
    assert (tmp_path / ".lumos/memory.db").is_file()
    ran = _pytest(tmp_path)
    assert ran.returncode == 0 and "1 passed" in ran.stdout, ran.stdout


def test_a_saved_file_works_too_and_nothing_is_overwritten_unasked(tmp_path: Path) -> None:
    saved = Path(__file__).resolve().parents[2] / "traces" / "calculator.jsonl"
    runner = CliRunner()
    args = ["--db", str(tmp_path / "s.db"), "fixture", str(saved), "-o",
            str(tmp_path / "tests" / "test_calc.py")]
    assert runner.invoke(cli, args).exit_code == 0
    again = runner.invoke(cli, args)
    assert again.exit_code == 2 and "test_calc.py exists" in again.output
    assert runner.invoke(cli, [*args, "--force"]).exit_code == 0
    ran = _pytest(tmp_path)
    assert ran.returncode == 0 and "1 passed" in ran.stdout, ran.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "-o", "tests/test_x.py"], "no saved file and no trace starting with 'nope'"),
        (["x", "-o", "tests/x.py"], "is not a test file pytest collects"),
        (["x", "-o", "tests/test_x.py", "--agent", "a b"], "is neither a file nor a module"),
    ],
)
def test_mistakes_get_one_sentence(tmp_path: Path, args: list[str], message: str) -> None:
    CliRunner().invoke(cli, ["--db", str(tmp_path / "s.db"), "run", "--demo", "weather", "hi"])
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "s.db"), "fixture", *args])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


def test_an_agent_outside_the_demo_needs_agent(tmp_path: Path) -> None:
    (tmp_path / "agents.py").write_text(AGENTS.replace('Agent("weather"', 'Agent("mine"'))
    trace = _recorded(tmp_path, "agents.py", "mine", "weather in Paris?")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "studio.db"), "fixture", trace,
                                      "-o", str(tmp_path / "tests/test_mine.py")])
    assert result.exit_code == 1
    assert "the trace's agent 'mine' is not a bundled demo agent" in result.output
    assert not (tmp_path / "tests/test_mine.jsonl").exists()


SAVED = Path(__file__).resolve().parents[2] / "traces"


def _fixture(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(tmp_path / "s.db"), "fixture", *args])


def test_a_file_that_does_not_read_is_named_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("garbage.jsonl").write_text("garbage\n")
    whole = gzip.compress((SAVED / "calculator.jsonl").read_bytes())
    Path("trunc.jsonl.gz").write_bytes(whole[:len(whole) // 2])

    garbage = _fixture(tmp_path, "garbage.jsonl", "-o", "tests/test_b.py")
    assert garbage.exit_code == 1
    assert garbage.output.startswith("error: garbage.jsonl:1: not an OTLP JSON line")
    cut = _fixture(tmp_path, "trunc.jsonl.gz", "-o", "tests/test_b.py")
    assert cut.exit_code == 1 and "Aborted" not in cut.output
    assert cut.output.startswith(
        "error: trunc.jsonl.gz: the file is cut short: its gzip stream ends early")
    assert not Path("tests").exists()

    fixed = _fixture(tmp_path, str(SAVED / "calculator.jsonl"), "-o", "tests/test_b.py")
    assert fixed.exit_code == 0, fixed.output
    assert sorted(p.name for p in Path("tests").iterdir()) == ["test_b.jsonl", "test_b.py"]


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        ("agents.py:nope", "error: agents.py defines no 'nope'\nits agents: mine\n"),
        ("agents.py", "error: no agent or workflow named 'calculator' in agents.py (agents: "
         "mine)\n"),
        ("agents.py:mine", "error: 'mine' in agents.py is agent 'mine', but the trace is a run of "
         "'calculator'\n"),
        ("agents.py:Agent", "error: 'Agent' in agents.py is a type, not an Agent\n"),
        ("raises.py", "raises.py:1: RuntimeError while importing: boom\n>    1 | raise"),
        ("exits.py", "error: SystemExit while importing exits.py"),
        ("no.such.module:x", "error: no module named 'no.such.module' (from "),
        ("lumos_studio.demo.agents:weather", "error: 'weather' in lumos_studio.demo.agents is "
         "agent 'weather', but the trace is a run of 'calculator'\n"),
    ],
)
def test_an_agent_that_cannot_be_found_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, agent: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("agents.py").write_text(AGENTS.replace('Agent("weather"', 'Agent("mine"')
                                 .replace("weather = ", "mine = "))
    Path("raises.py").write_text('raise RuntimeError("boom")\n')
    Path("exits.py").write_text("import sys\nsys.exit(3)\n")
    refused = _fixture(tmp_path, str(SAVED / "calculator.jsonl"), "-o", "tests/test_c.py",
                       "--agent", agent)
    assert refused.exit_code == 2, refused.output
    assert message in refused.output and "Traceback" not in refused.output
    assert not Path("tests").exists()


def test_the_agent_module_that_defines_it_passes_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = _fixture(tmp_path, str(SAVED / "calculator.jsonl"), "-o", "tests/test_c.py",
                    "--agent", "lumos_studio.demo.agents:calculator")
    assert done.exit_code == 0, done.output
    ran = _pytest(tmp_path)
    assert ran.returncode == 0 and "1 passed" in ran.stdout, ran.stdout


def test_traces_of_different_agents_are_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    for agent, message in (("weather", "weather in Paris?"), ("calculator", "2 + 2")):
        ran = CliRunner().invoke(cli, ["--db", db, "run", "--demo", agent, message])
        assert ran.exit_code == 0, ran.output
    calculator, weather = [t.trace_id for t in StoreReader(tmp_path / "s.db").list_traces()]
    test = str(tmp_path / "tests" / "test_both.py")

    refused = _fixture(tmp_path, weather[:8], calculator[:8], "-o", test)

    assert refused.exit_code == 2
    assert refused.output.startswith(
        f"error: the traces are not one agent's turns ({weather[:8]}: weather, "
        f"{calculator[:8]}: calculator); a test replays one agent's conversation\n"
        "give the traces of one agent, and write a test per agent")
    assert not (tmp_path / "tests").exists()

def test_text_from_the_trace_is_written_as_literals_never_as_code(tmp_path: Path) -> None:
    hostile = '"""\nimport os; os.remove("x")  # \\'
    source = _test_source(tmp_path / "test_h.py", tmp_path / "test_h.jsonl", 'we"ird\nname',
                          AgentSource(module="lumos_studio.demo.agents"), [(hostile, hostile)],
                          [])
    namespace: dict[str, object] = {"__file__": str(tmp_path / "test_h.py")}
    exec(compile(source, "test_h.py", "exec"), namespace)
    assert namespace["RECORDED_TURNS"] == [(hostile, hostile)]
    assert "test_we_ird_name_answers_as_recorded" in namespace


def _readme_block(heading: str, language: str) -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_the_readme_testing_section_runs_as_written(tmp_path: Path) -> None:
    """The README's agents.py, its test file and its shell lines, as written."""
    (tmp_path / "agents.py").write_text(_readme_block("Your own agents", "python"))
    test_file = _readme_block("Testing your agents", "python")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / test_file.split("\n")[0].removeprefix("# tests/")).write_text(test_file)
    (tmp_path / ".venv").symlink_to(sys.prefix)  # the README names .venv/bin, as make makes it
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
           "LUMOS_DB": str(tmp_path / "studio.db"), "HOME": str(tmp_path)}
    done = subprocess.run(["bash", "-ec", _readme_block("Testing your agents", "sh")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    ran = _pytest(tmp_path)
    assert ran.returncode == 0 and "2 passed" in ran.stdout, ran.stdout


MCP_AGENTS = '''
import sys

from lumos_core import Agent, ScriptedModel
from lumos_core.mcp import MCPServerStdio

server = MCPServerStdio(sys.executable, [SERVER])
script = [ScriptedModel.call("get_weather", city="Paris"), "Sunny in Paris."]
weather = Agent("weather", "Answer weather questions.", ScriptedModel(script), tools=[server])
'''


@pytest.mark.timeout(240)
def test_a_run_with_mcp_tools_replays_without_its_server(tmp_path: Path) -> None:
    server = Path(__file__).resolve().parents[1] / "core" / "data" / "weather_mcp_server.py"
    agents = tmp_path / "agents.py"
    agents.write_text(MCP_AGENTS.replace("[SERVER]", f"[{str(server)!r}]"))
    trace = _recorded(tmp_path, "agents.py", "weather", "weather in Paris?")
    _studio(tmp_path, "fixture", trace, "-o", "tests/test_weather.py", "--agent", "agents.py")
    agents.write_text(MCP_AGENTS.replace("[SERVER]", "['/nonexistent/weather_mcp_server.py']"))
    ran = _pytest(tmp_path)  # the server could not start: the trace answers its tool
    assert ran.returncode == 0 and "1 passed" in ran.stdout, ran.stdout
