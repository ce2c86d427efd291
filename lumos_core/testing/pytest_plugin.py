"""The pytest plugin ``lumos_core`` installs (entry point ``pytest11: lumos``).

Fixtures: ``scripted_model`` (makes ``ScriptedModel``s), ``captured_spans`` (the spans of the
test's agent runs), ``captured_metrics`` (the GenAI client metrics of its model calls),
``evaluate`` (an experiment as a test, ``lumos_core.evals``). The guard is on by default: a test
whose code sends an HTTP request to a host other than this machine fails with
``RealModelCallBlocked`` naming the host, even when the code under test swallowed the error.
Let a test through with ``@pytest.mark.allow_model_calls``; switch the guard off for a whole
project with ``lumos_block_model_calls = false`` in the pytest ini options, or for one session
with ``LUMOS_ALLOW_MODEL_CALLS=1``.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from lumos_core.models.scripted import ScriptedModel, ScriptFunction, ScriptStep
from lumos_core.testing.capture import CapturedSpans
from lumos_core.testing.guard import RealModelCallBlocked, block_model_calls
from lumos_core.testing.metrics import CapturedMetrics

if TYPE_CHECKING:
    from lumos_core.evals.pytest_check import ExperimentCheck

_BLOCKED = pytest.StashKey[list[RealModelCallBlocked]]()
_ALLOW_ENV = "LUMOS_ALLOW_MODEL_CALLS"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "lumos_block_model_calls",
        "fail tests that send HTTP requests to non-loopback hosts (a real model); default true",
        type="bool",
        default=True,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_model_calls: let this test reach real model providers (lumos_core's guard fails "
        "tests that send HTTP requests to non-loopback hosts otherwise)",
    )


def _guard_on(request: pytest.FixtureRequest) -> bool:
    if request.node.get_closest_marker("allow_model_calls") is not None:
        return False
    if os.environ.get(_ALLOW_ENV, "").strip().lower() in ("1", "true", "yes"):
        return False
    return bool(request.config.getini("lumos_block_model_calls"))


@pytest.fixture(autouse=True)
def _lumos_model_call_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Block requests to real model providers for the test (see the module docstring)."""
    if not _guard_on(request):
        yield
        return
    with block_model_calls() as blocked:
        request.node.stash[_BLOCKED] = blocked
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """A test that passed although a blocked call happened (its code caught the error) fails."""
    result = yield
    blocked = item.stash.get(_BLOCKED, [])
    if blocked:
        raise blocked[0]
    return result


class ScriptedModelFactory:
    """``scripted_model("Hello!")`` or ``scripted_model([call, "answer"])`` or
    ``scripted_model(function)``: a new ``ScriptedModel``; ``scripted_model.call`` makes the
    assistant message that calls a tool."""

    call = staticmethod(ScriptedModel.call)

    def __init__(self) -> None:
        self.made: list[ScriptedModel] = []

    def __call__(
        self, *steps: ScriptStep | list[ScriptStep] | ScriptFunction, **options: Any
    ) -> ScriptedModel:
        script: Any
        if len(steps) == 1 and (callable(steps[0]) or isinstance(steps[0], list | tuple)):
            script = steps[0]
        else:
            script = list(steps) if steps else None
        model = ScriptedModel(script, **options)
        self.made.append(model)
        return model


@pytest.fixture
def scripted_model() -> ScriptedModelFactory:
    """Makes ``ScriptedModel``s: the replies in order, or a function of the conversation."""
    return ScriptedModelFactory()


@pytest.fixture
def captured_spans() -> Iterator[CapturedSpans]:
    """The spans of every agent run in the test (their provider is active for the test)."""
    captured = CapturedSpans()
    with captured.active():
        yield captured
    captured.shutdown()


@pytest.fixture
def captured_metrics() -> Iterator[CapturedMetrics]:
    """The ``gen_ai.client.*`` histograms of every model call in the test."""
    captured = CapturedMetrics()
    with captured.active():
        yield captured
    captured.shutdown()


@pytest.fixture
def evaluate() -> ExperimentCheck:
    """Runs an experiment and fails the test with the cases under the threshold."""
    from lumos_core.evals.pytest_check import ExperimentCheck

    return ExperimentCheck()
