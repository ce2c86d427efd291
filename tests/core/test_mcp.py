"""MCP servers as agent tools, against a real MCP server over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lumos_core import Agent
from lumos_core.agent import ToolCallFinished
from lumos_core.mcp import MCPServerError, MCPServerHTTP, MCPServerStdio
from lumos_core.messages import Message, ToolCallPart, ToolResultPart
from lumos_core.models.scripted import ScriptedModel
from lumos_core.telemetry import semconv as sc
from tests.ports import free_port

pytestmark = pytest.mark.timeout(90)

SERVER = Path(__file__).parent / "data" / "weather_mcp_server.py"


def stdio_server(**options: Any) -> MCPServerStdio:
    return MCPServerStdio(sys.executable, [str(SERVER)], **options)


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the MCP test server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the MCP test server did not listen on port {port}")


@pytest.fixture
def http_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The weather server on 127.0.0.1 over streamable HTTP, stopped after the test."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)], stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp", process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tool_results(messages: Sequence[Message]) -> list[ToolResultPart]:
    return [p for m in messages for p in m.parts if isinstance(p, ToolResultPart)]


def spans_named(exporter: InMemorySpanExporter, name: str) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def weather_script(tool: str = "get_weather", **arguments: Any) -> ScriptedModel:
    return ScriptedModel([ScriptedModel.call(tool, **(arguments or {"city": "Paris"})), "done"])


async def test_agent_lists_and_calls_a_stdio_server_tool(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent = Agent("weather", model=weather_script(), tools=[stdio_server()])
    result = await agent.run("Weather in Paris?", tracer_provider=tracer_provider)

    [outcome] = tool_results(result.messages)
    assert (outcome.result, outcome.is_error) == ("Sunny and 21 °C in Paris", False)
    [chat, _] = spans_named(exporter, "chat scripted")
    definitions = {d["name"]: d for d in json.loads(chat.attributes[sc.TOOL_DEFINITIONS])}
    assert definitions["get_weather"]["description"] == "The current weather in a city."
    assert definitions["get_weather"]["parameters"]["required"] == ["city"]
    assert {"lookup_station", "server_pid", "crash"} <= definitions.keys()
    [span] = spans_named(exporter, "execute_tool get_weather")
    attributes = span.attributes
    assert attributes[sc.TOOL_NAME] == "get_weather"
    assert attributes[sc.TOOL_TYPE] == "extension"
    assert attributes[sc.TOOL_DESCRIPTION] == "The current weather in a city."
    assert attributes[sc.LUMOS_MCP_SERVER] == "weather"
    assert attributes[sc.LUMOS_MCP_TRANSPORT] == "stdio"
    assert attributes[sc.MCP_METHOD_NAME] == "tools/call"
    assert attributes[sc.TOOL_CALL_RESULT] == "Sunny and 21 °C in Paris"
    assert span.status.status_code is not StatusCode.ERROR


async def test_agent_calls_a_streamable_http_server_tool(
    http_server: tuple[str, subprocess.Popen[bytes]],
    tracer_provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    url, _ = http_server
    server = MCPServerHTTP(url, headers={"X-Lumos-Test": "1"})
    agent = Agent("weather", model=weather_script(city="Oslo"), tools=[server])
    result = await agent.run("Weather in Oslo?", tracer_provider=tracer_provider)

    [outcome] = tool_results(result.messages)
    assert (outcome.result, outcome.is_error) == ("Sunny and 21 °C in Oslo", False)
    [span] = spans_named(exporter, "execute_tool get_weather")
    assert span.attributes[sc.LUMOS_MCP_SERVER] == "weather"
    assert span.attributes[sc.LUMOS_MCP_TRANSPORT] == "streamable-http"


async def test_http_headers_reach_the_server(
    http_server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, _ = http_server
    server = MCPServerHTTP(url, headers={"X-Lumos-Test": "token-1"})
    model = weather_script("request_header", name="X-Lumos-Test")
    result = await Agent("weather", model=model, tools=[server]).run("header?")

    [outcome] = tool_results(result.messages)
    assert (outcome.result, outcome.is_error) == ("token-1", False)


async def test_a_failing_tool_reaches_the_model_as_an_error(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    seen: list[ToolResultPart] = []

    def script(messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Message | str:
        if len(messages) == 1:
            return ScriptedModel.call("lookup_station", code="XYZ")
        seen.extend(tool_results(messages))
        return "no such station"

    agent = Agent("weather", model=ScriptedModel(script), tools=[stdio_server()])
    result = await agent.run("Station XYZ?", tracer_provider=tracer_provider)

    assert result.output == "no such station"
    [outcome] = seen
    assert outcome.is_error
    assert "no station with code 'XYZ'" in outcome.result
    [span] = spans_named(exporter, "execute_tool lookup_station")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "MCPToolError"


async def test_a_server_that_dies_during_a_call_is_a_tool_error_not_a_crash() -> None:
    agent = Agent("weather", model=weather_script("crash"), tools=[stdio_server()])
    result = await agent.run("crash it")

    [outcome] = tool_results(result.messages)
    assert outcome.is_error
    assert "stopped during the call to 'crash'" in outcome.result
    assert result.output == "done"


async def test_an_http_server_killed_mid_run_is_a_tool_error(
    http_server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = http_server

    def script(messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> Message | str:
        if len(messages) == 1:
            process.kill()
            process.wait()
            return ScriptedModel.call("get_weather", city="Oslo")
        return "done"

    agent = Agent("weather", model=ScriptedModel(script), tools=[MCPServerHTTP(url)])
    result = await agent.run("Weather in Oslo?")

    [outcome] = tool_results(result.messages)
    assert outcome.is_error
    assert url in outcome.result
    assert result.output == "done"


async def test_a_missing_command_names_the_command() -> None:
    missing = MCPServerStdio("no-such-mcp-server-cmd", ["--stdio"])
    agent = Agent("weather", model="scripted", tools=[missing])
    with pytest.raises(MCPServerError) as raised:
        await agent.run("Weather in Paris?")
    message = str(raised.value)
    assert "'no-such-mcp-server-cmd'" in message
    assert "not found" in message


async def test_a_command_that_exits_at_once_says_so() -> None:
    server = MCPServerStdio(sys.executable, ["-c", "raise SystemExit(2)"])
    with pytest.raises(MCPServerError, match="exited before it finished the MCP handshake"):
        await Agent("weather", model="scripted", tools=[server]).run("hi")


async def test_a_command_that_never_answers_times_out_with_its_name() -> None:
    server = MCPServerStdio(
        sys.executable, ["-c", "import time; time.sleep(60)"], connect_timeout=1
    )
    with pytest.raises(MCPServerError, match=r"did not finish connecting within 1 s"):
        await Agent("weather", model="scripted", tools=[server]).run("hi")


async def test_an_unreachable_http_server_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(MCPServerError, match=f"could not reach MCP server at {url}"):
        await Agent("weather", model="scripted", tools=[MCPServerHTTP(url)]).run("hi")


async def test_each_run_starts_and_stops_its_server_unless_the_agent_is_entered() -> None:
    server = stdio_server()
    agent = Agent("weather", model=ScriptedModel(lambda m, t: _pid_step(m)), tools=[server])

    first = int((await agent.run("pid")).output)
    second = int((await agent.run("pid")).output)
    assert first != second
    _assert_gone(first)
    _assert_gone(second)

    async with agent:
        third = int((await agent.run("pid")).output)
        fourth = int((await agent.run("pid")).output)
        assert third == fourth
        os.kill(third, 0)  # still running between the runs
    _assert_gone(third)


def _pid_step(messages: Sequence[Message]) -> Message | str:
    results = tool_results(messages[-1:])
    return results[0].result if results else ScriptedModel.call("server_pid")


def _assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_tool_prefix_resolves_a_name_clash(
    tracer_provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    def get_weather(city: str) -> str:
        """Local weather."""
        return "local"

    clashing = Agent("weather", model="scripted", tools=[get_weather, stdio_server()])
    with pytest.raises(ValueError, match=r"tool 'get_weather' of MCP server .* tool_prefix"):
        await clashing.run("hi")

    model = weather_script("wx_get_weather", city="Rome")
    agent = Agent("weather", model=model, tools=[get_weather, stdio_server(tool_prefix="wx")])
    result = await agent.run("Weather in Rome?", tracer_provider=tracer_provider)

    [outcome] = tool_results(result.messages)
    assert outcome.result == "Sunny and 21 °C in Rome"
    [span] = spans_named(exporter, "execute_tool wx_get_weather")
    assert span.attributes[sc.LUMOS_MCP_TOOL_NAME] == "get_weather"


def test_interpreter_exit_with_a_server_left_open_does_not_hang(tmp_path: Path) -> None:
    """A session never closed by its owner: the process still exits, and so does the server."""
    script = tmp_path / "left_open.py"
    script.write_text(
        "import asyncio, sys\n"
        "from lumos_core.mcp import MCPServerStdio\n"
        "async def main():\n"
        f"    server = MCPServerStdio(sys.executable, [{str(SERVER)!r}])\n"
        "    await server.__aenter__()\n"
        "    print((await server._call('server_pid', {})).text, flush=True)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.strip())
    deadline = time.monotonic() + 30
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and ") Z " not in stat.read_text()  # a zombie has exited


def test_importing_lumos_core_mcp_does_not_import_the_mcp_package() -> None:
    code = "import sys, lumos_core, lumos_core.mcp; print('mcp' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_readme_mcp_example_runs_as_written() -> None:
    root = Path(__file__).parents[2]
    readme = (root / "README.md").read_text()
    section = readme.split("## MCP tools", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Sunny and 21 °C in Paris",
        "Sunny and 21 °C in Oslo",
        "Sunny and 21 °C in Rome",
    ]


async def test_concurrent_runs_share_one_server_process() -> None:
    """The first run to enter may finish last or first: the connection outlives both."""
    agent = Agent(
        "weather", model=ScriptedModel(lambda m, t: _pid_step(m)), tools=[stdio_server()]
    )
    first, second = await asyncio.gather(agent.run("pid"), agent.run("pid"))
    assert first.output == second.output
    _assert_gone(int(first.output))


def test_stream_sync_reports_the_server_tool_call() -> None:
    agent = Agent("weather", model=weather_script(city="Lima"), tools=[stdio_server()])
    finished = [e for e in agent.stream_sync("Weather in Lima?") if isinstance(e, ToolCallFinished)]
    assert [e.result.result for e in finished] == ["Sunny and 21 °C in Lima"]


async def test_the_model_is_offered_the_servers_tools_beside_the_agents_own() -> None:
    """The request's tool list is made once the servers are open, also with output_type."""
    offered: list[list[str]] = []

    def answer(messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> str:
        offered.append(sorted(t["name"] for t in tools))
        return '{"response": "ok"}'

    def local_tool(city: str) -> str:
        """A tool of the agent's own."""
        return city

    agent = Agent("weather", model=ScriptedModel(answer), tools=[local_tool, stdio_server()],
                  output_type=str)
    await agent.run("hi")
    assert "get_weather" in offered[0] and "local_tool" in offered[0]


async def test_two_server_tool_calls_of_one_turn_run_side_by_side() -> None:
    both = Message("assistant", (
        ToolCallPart("c1", "get_weather", {"city": "Paris"}),
        ToolCallPart("c2", "get_weather", {"city": "Oslo"}),
    ), finish_reason="tool_calls")
    agent = Agent("weather", model=ScriptedModel([both, "done"]), tools=[stdio_server()])
    result = await agent.run("Weather in Paris and Oslo?")
    outcomes = tool_results(result.messages)
    assert [o.result for o in outcomes] == ["Sunny and 21 °C in Paris", "Sunny and 21 °C in Oslo"]
    assert not any(o.is_error for o in outcomes)


async def test_a_stdio_server_starts_where_stderr_has_no_file_descriptor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The studio's worker replaces sys.stderr with a writer into log records."""
    import io

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    agent = Agent("weather", model=weather_script(), tools=[stdio_server()])
    [outcome] = tool_results((await agent.run("Weather in Paris?")).messages)
    assert outcome.result == "Sunny and 21 °C in Paris"
