"""Rough edges a newcomer met on the command line (issue 19), each as it now behaves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lumos_studio.cli import cli
from tests.ports import free_port
from tests.studio.test_serve_cli import read_line_with

TRACES = Path(__file__).parents[2] / "traces"


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


def test_an_unknown_demo_name_lists_the_workflow_too(tmp_path: Path) -> None:
    ran = invoke(tmp_path / "s.db", "run", "--demo", "nosuch", "hi")
    assert ran.exit_code == 2
    assert "no agent or workflow named 'nosuch'" in ran.stderr
    assert "agents: assistant, calculator, docs, weather" in ran.stderr
    assert "workflows: essay_writer, trip_planner" in ran.stderr


def test_compare_summary_indents_every_span_row_under_the_summary_line(tmp_path: Path) -> None:
    ran = invoke(tmp_path / "s.db", "compare", str(TRACES / "weather-v1.jsonl"),
                 str(TRACES / "weather-v2.jsonl"), "--summary")
    assert ran.exit_code == 0, ran.output
    summary, root, *children = ran.stdout.splitlines()
    assert summary.startswith("tokens ")
    assert root.startswith("  changed  invoke_agent weather: ")
    assert all(line.startswith("    ") for line in children), children
    assert "    removed  execute_tool get_weather" in children  # no ": removed" echo


@pytest.mark.parametrize(("source", "said"), [
    ("missing.jsonl", "no such file: missing.jsonl"),
    ("runs/today", "no such file: runs/today"),
    (".", "is a directory"),
    ("{broken.jsonl}", "holds no trace"),
], ids=["a missing file", "a missing path", "a directory", "a file without spans"])
def test_compare_names_what_is_wrong_with_a_file_instead_of_looking_up_a_trace_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, said: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if source.startswith("{"):
        source = source.strip("{}")
        (tmp_path / source).write_text("{broken\n")
    ran = invoke(tmp_path / "no-store.db", "compare", source, str(TRACES / "weather-v1.jsonl"),
                 "--summary")
    assert ran.exit_code == 1, ran.output
    assert said in ran.stderr and "no store at" not in ran.stderr
    assert "Traceback" not in ran.output


@pytest.mark.parametrize(("before", "after", "named"), [
    ("", "x", "BEFORE"), ("1f3a", "", "AFTER"), ("  ", "1f3a", "BEFORE"),
], ids=["empty before", "empty after", "blank"])
def test_compare_asks_for_a_file_or_an_id_when_given_an_empty_argument(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str, after: str, named: str
) -> None:
    monkeypatch.chdir(tmp_path)  # '' is not taken for the directory it is run in
    ran = invoke(tmp_path / "no-store.db", "compare", before, after, "--summary")
    assert ran.exit_code == 2, ran.output
    assert f"Invalid value for '{named}': empty: give a trace file or a trace id" in ran.stderr
    assert "is a directory" not in ran.stderr and "no store at" not in ran.stderr


@pytest.mark.parametrize("command", [[], ["dev", "x.py"], ["serve"]],
                         ids=["studio", "dev", "serve"])
def test_every_command_that_listens_names_its_port_option_the_same(command: list[str]) -> None:
    shown = CliRunner().invoke(cli, [*command, "--help"], catch_exceptions=False)
    assert "--otlp-port" in shown.stdout
    assert "--port " not in shown.stdout.replace("--otlp-port", "")


@pytest.mark.parametrize("flag", ["--otlp-port", "--port"], ids=["name", "older-alias"])
def test_serve_listens_on_the_port_given_by_either_name(flag: str, tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lumos_studio", "--db", str(tmp_path / "s.db"), "serve", flag,
         str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = read_line_with(process, "OTEL_EXPORTER_OTLP_ENDPOINT=")
        assert line.strip().endswith(f"127.0.0.1:{port}")
    finally:
        process.kill()
        process.wait(10)


@pytest.mark.parametrize("command", [
    ["--otlp-port", "70000"],
    ["--otlp-port", "-1", "serve"],
    ["dev", "{agents}", "--otlp-port", "70000"],
    ["serve", "--otlp-port", "70000"],
    ["serve", "--otlp-port", "-1"],
    ["serve", "--port", "70000"],
    ["web", "--otlp-port", "70000"],
], ids=["studio", "group-for-serve", "dev", "serve", "serve-negative", "serve-alias", "web"])
def test_a_port_out_of_range_is_a_usage_error_on_every_command(
    tmp_path: Path, command: list[str]
) -> None:
    agents = tmp_path / "agents.py"
    agents.write_text("")
    ran = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "s.db"), *(str(agents) if w == "{agents}" else w
                                                  for w in command)])
    assert ran.exit_code == 2, ran.output
    assert "is not in the range 0<=x<=65535" in ran.stderr
    assert ran.exception is None or isinstance(ran.exception, SystemExit)
    assert not (tmp_path / "s.db").exists()  # refused before anything was opened


def test_dev_hands_the_studio_a_session_that_says_what_the_file_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    import lumos_studio.cli as cli_module
    from lumos_studio.sessions.worker import WorkerSession

    opened: list[object] = []
    monkeypatch.setattr(cli_module, "_open_studio",
                        lambda db, port, make_session, *rest: opened.append(make_session))
    agents = tmp_path / "agents.py"
    agents.write_text("")
    ran = invoke(tmp_path / "s.db", "dev", str(agents), "--agent", "nope", "--no-watch")
    assert ran.exit_code == 0, ran.output
    store = SimpleNamespace(path=tmp_path / "s.db", writer=SimpleNamespace(submit=print))
    session = opened[0](store, "http://127.0.0.1:1")  # type: ignore[operator]
    assert isinstance(session, WorkerSession)
    assert session.only == ("nope",) and session.explain_empty  # tests/ui/test_dev_session.py
