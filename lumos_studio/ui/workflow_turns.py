"""Chatting with a workflow: what a message means (input, or resume data for the suspended run)
and how a run's ending reads in the chat. Free of Textual, so it is tested on its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from lumos_studio.display import safe_str
from lumos_studio.sessions.base import AgentInfo, WorkflowOutcome

NEW_RUN = "/new"  # a workflow forgets its suspended run (an agent starts a new conversation)
RESUME_EXAMPLE = '{"approved": true}'


@dataclass(frozen=True, slots=True)
class WorkflowRequest:
    """One chat message to a workflow: a new run on ``input``, or ``resume`` (a run id) with
    ``resume_data``."""

    input: Any = None
    resume: str | None = None
    resume_data: Any = None


def workflow_request(
    info: AgentInfo, text: str, suspended_run: str | None
) -> WorkflowRequest | str:
    """What ``text`` asks of the workflow, or why it cannot be sent (a message for the chat).

    With a suspended run the text is its resume data (JSON). Otherwise it is the input: the
    workflow validates it against its input schema (as JSON) if it has one, else JSON is parsed
    when it parses and plain text is passed as it is.
    """
    if suspended_run is not None:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return (f"resume data must be JSON, e.g. {RESUME_EXAMPLE} ({exc}); "
                    f"send {NEW_RUN} to start a new run instead")
        return WorkflowRequest(resume=suspended_run, resume_data=data)
    if info.has_input_schema:
        return WorkflowRequest(input=text)
    try:
        return WorkflowRequest(input=orjson.loads(text))
    except orjson.JSONDecodeError:
        return WorkflowRequest(input=text)


def workflow_intro(info: AgentInfo) -> str:
    """The hint a workflow's empty chat starts with: its steps and what to send."""
    steps = " → ".join(info.steps)
    if info.input_example:
        ask = f"send its input as JSON, e.g. {info.input_example}"
    else:
        ask = "send its input (JSON, or text)"
    return f"{info.name} is a workflow ({steps}): {ask}"


def placeholder(info: AgentInfo | None, suspended_run: str | None = None) -> str:
    """The chat input's placeholder for ``info``."""
    if info is None or info.kind != "workflow":
        return "Message the agent, Enter to send"
    if suspended_run is not None:
        return f"JSON resume data for run {safe_str(suspended_run[:8])} ({NEW_RUN}: a new run)"
    if info.has_input_schema:
        return "Workflow input (JSON), Enter to run"
    return "Workflow input, Enter to run"


def pretty(value: Any) -> str:
    """Workflow data for reading: text as it is, anything structured as indented JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def workflow_reply(workflow: str, outcome: WorkflowOutcome) -> list[tuple[str, str]]:
    """A run's ending as chat turns ``(role, text)``: the workflow's name for its status and
    output, ``"error"`` for failures and refusals, ``"hint"`` for how to resume."""
    run = f" · run {outcome.run_id[:8]}" if outcome.run_id else ""
    if outcome.cancelled:
        return [("error", "cancelled")]
    if outcome.status is None:
        return [("error", outcome.error or "the workflow did not run")]
    if outcome.status == "failed":
        where = f" at step {outcome.failed_step}" if outcome.failed_step else ""
        return [("error", f"failed{where}{run}: {outcome.error}")]
    if outcome.status == "suspended":
        return _waiting(workflow, "suspended at", outcome.suspended, run)
    return [(workflow, f"success{run}\n{pretty(outcome.output)}")]


def earlier_run(workflow: str, run_id: str, suspended: dict[str, Any]) -> list[tuple[str, str]]:
    """Chat turns for a run an earlier session left suspended: what it waits for, how to go on."""
    return _waiting(workflow, "a run from an earlier session is waiting at", suspended,
                    f" · run {run_id[:8]}")


def _waiting(
    workflow: str, said: str, suspended: dict[str, Any], run: str
) -> list[tuple[str, str]]:
    steps = ", ".join(suspended)
    payloads = list(suspended.values())
    shown = pretty(payloads[0] if len(payloads) == 1 else dict(suspended))
    return [
        (workflow, f"{said} {steps}{run}\n{shown}"),
        ("hint", f"Your next message resumes this run: send JSON resume data, e.g. "
                 f"{RESUME_EXAMPLE} (or {NEW_RUN} to start a new run)."),
    ]
