"""The testing kit: the pytest plugin's fixtures and guard, and the readable assertions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from lumos_core import Agent, Message, tool
from lumos_core.models.openai import OpenAIChatModel
from lumos_core.testing import (
    CapturedSpans,
    RealModelCallBlocked,
    assert_output,
    assert_steps,
    assert_tool_called,
    assert_tool_not_called,
    assert_usage,
    block_model_calls,
    steps_of,
)
from lumos_core.testing.pytest_plugin import ScriptedModelFactory
from tests.core.provider_server import ProviderServer, running_server
from tests.core.test_openai_model import completion

UNROUTABLE = "http://192.0.2.1/v1"  # TEST-NET-1: the guard stops the request before it leaves


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def _weather(model: object) -> Agent:
    return Agent("weather", "Answer weather questions.", model, tools=[get_weather])


# ---------------------------------------------------------------------------------- fixtures


def test_scripted_model_and_captured_spans_fixtures(
    scripted_model: ScriptedModelFactory, captured_spans: CapturedSpans
) -> None:
    model = scripted_model(scripted_model.call("get_weather", city="Paris"), "Sunny, 20 °C.")
    result = _weather(model).run_sync("weather in Paris?")  # no tracer_provider passed
    assert captured_spans.names() == ["invoke_agent weather", "chat scripted",
                                      "execute_tool get_weather", "chat scripted"]
    assert captured_spans.attribute("execute_tool", "gen_ai.tool.call.result") == [
        "Sunny in Paris"]
    for source in (result, captured_spans):
        assert_tool_called(source, "get_weather", city="Paris")
        assert_steps(source, ["chat", "execute_tool get_weather", "chat"])
        assert_output(source, "Sunny, 20 °C.")
    assert_steps(captured_spans, ["chat scripted", "execute_tool get_weather", "chat scripted"])
    captured_spans.clear()
    assert len(captured_spans) == 0


def test_scripted_model_takes_a_list_or_a_function(scripted_model: ScriptedModelFactory) -> None:
    by_list = scripted_model(["first", "second"])
    echo = scripted_model(lambda messages, tools: Message.assistant(messages[-1].text.upper()))
    assert Agent("a", model=by_list).run_sync("x").output == "first"
    assert Agent("b", model=echo).run_sync("hi").output == "HI"
    assert scripted_model.made == [by_list, echo]


# ---------------------------------------------------------------------------------- assertions


@pytest.fixture
def paris(scripted_model: ScriptedModelFactory) -> object:
    model = scripted_model(scripted_model.call("get_weather", city="Paris"), "Sunny in Paris.")
    return _weather(model).run_sync("weather in Paris?")


def test_a_tool_call_with_other_arguments_fails_readably(paris: object) -> None:
    call = assert_tool_called(paris, "get_weather")
    assert call.result == "Sunny in Paris" and not call.is_error
    with pytest.raises(AssertionError) as caught:
        assert_tool_called(paris, "get_weather", city="Lyon")
    assert str(caught.value) == ("tool 'get_weather' was called, but never as get_weather("
                                 "city='Lyon'); its calls:\n  get_weather(city='Paris')")
    with pytest.raises(AssertionError, match=r"^tool 'search' was never called \(expected "
                                             r"search\(\)\); calls made: get_weather\(city="):
        assert_tool_called(paris, "search")
    assert_tool_not_called(paris, "search")
    with pytest.raises(AssertionError, match=r"'get_weather' was called 1 time\(s\)"):
        assert_tool_not_called(paris, "get_weather")


def test_other_steps_fail_with_both_sequences_shown(paris: object) -> None:
    with pytest.raises(AssertionError) as caught:
        assert_steps(paris, ["chat", "chat"])
    assert str(caught.value) == (
        "the steps differ at step 2: expected chat, got execute_tool get_weather\n"
        "  expected: chat → chat\n"
        "  actual:   chat → execute_tool get_weather → chat")
    with pytest.raises(AssertionError, match=r"step 4: expected execute_tool x, got \(no more"):
        assert_steps(paris, ["chat", "execute_tool get_weather", "chat", "execute_tool x"])


def test_usage_and_output_checks_say_what_differs(paris: object) -> None:
    usage = assert_usage(paris, max_total_tokens=1_000)
    assert usage.input_tokens > 0
    with pytest.raises(AssertionError, match=rf"usage differs \({usage.input_tokens} in, "
                                             rf"{usage.output_tokens} out\): input tokens: "
                                             rf"{usage.input_tokens}, expected at most 1"):
        assert_usage(paris, max_input_tokens=1)
    assert assert_output(paris, contains="Paris") == "Sunny in Paris."
    with pytest.raises(AssertionError, match=r"not match /Lyon/\n  actual: 'Sunny in Paris\.'"):
        assert_output(paris, matches="Lyon")
    with pytest.raises(AssertionError, match=r"the answer differs\n  expected: 'Rain\.'"):
        assert_output(paris, "Rain.")


def test_steps_of_a_sub_agent_run_show_it(scripted_model: ScriptedModelFactory,
                                           captured_spans: CapturedSpans) -> None:
    inner = Agent("inner", model=scripted_model("inner answer"))

    @tool
    async def ask_inner(question: str) -> str:
        """Ask the inner agent."""
        return (await inner.run(question)).output

    outer = Agent("outer", model=scripted_model(scripted_model.call("ask_inner", question="q"),
                                                "done"), tools=[ask_inner])
    outer.run_sync("go")
    assert steps_of(captured_spans) == ["chat scripted", "execute_tool ask_inner",
                                        "invoke_agent inner", "chat scripted", "chat scripted"]


# ---------------------------------------------------------------------------------- the guard


@pytest.mark.allow_model_calls  # this test installs the guard itself
async def test_the_guard_blocks_other_hosts_and_lets_loopback_through() -> None:
    with running_server() as server, block_model_calls() as blocked:
        server.reply(completion("from the local server"))
        base_url = f"{server.origin}/v1"
        local = _weather(OpenAIChatModel("gpt-4o-mini", api_key="k", base_url=base_url))
        assert (await local.run("hi")).output == "from the local server"
        remote = _weather(OpenAIChatModel("gpt-4o-mini", api_key="k", base_url=UNROUTABLE))
        with pytest.raises(RealModelCallBlocked, match=r"^this test tried to reach 192\.0\.2\.1 "
                                                       r"\(http://192\.0\.2\.1/v1/chat/completions"
                                                       r"\); tests run offline"):
            await remote.run("hi")
        with pytest.raises(RealModelCallBlocked):
            httpx.get("https://api.openai.com/v1/models")
    assert [b.host for b in blocked] == ["192.0.2.1", "api.openai.com"]
    assert isinstance(server, ProviderServer)


_INNER_TESTS = f'''
import pytest
from lumos_core import Agent
from lumos_core.models.openai import OpenAIChatModel

def agent():
    return Agent("a", model=OpenAIChatModel("m", api_key="k", base_url="{UNROUTABLE}", timeout=0.5))

def test_reaches_a_model():
    agent().run_sync("hi")

def test_swallows_the_error():
    try:
        agent().run_sync("hi")
    except Exception:
        pass

@pytest.mark.allow_model_calls
def test_marked():
    import httpx
    assert httpx.AsyncHTTPTransport.handle_async_request.__name__ == "handle_async_request"

def test_offline(scripted_model, captured_spans):
    Agent("a", model=scripted_model("ok")).run_sync("hi")
    assert captured_spans.names() == ["invoke_agent a", "chat scripted"]
'''


def _pytest(tmp_path: Path, *options: str) -> str:
    (tmp_path / "test_inner.py").write_text(_INNER_TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *options,
         "test_inner.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    return done.stdout


def test_the_installed_plugin_fails_tests_that_reach_a_real_model(tmp_path: Path) -> None:
    out = _pytest(tmp_path)
    assert "FAILED test_inner.py::test_reaches_a_model - " in out
    assert "RealModelCallBlocked: this test tried to reach 192.0.2.1" in out
    assert "FAILED test_inner.py::test_swallows_the_error" in out
    assert "PASSED test_inner.py::test_marked" in out
    assert "PASSED test_inner.py::test_offline" in out


def test_the_guard_can_be_switched_off_for_a_project(tmp_path: Path) -> None:
    out = _pytest(tmp_path, "-o", "lumos_block_model_calls=false", "-k", "swallows or marked")
    assert "2 passed" in out


async def test_captured_spans_see_runs_of_an_async_test(
    scripted_model: ScriptedModelFactory, captured_spans: CapturedSpans
) -> None:
    await Agent("a", model=scripted_model("ok")).run("hi")
    assert captured_spans.names() == ["invoke_agent a", "chat scripted"]
