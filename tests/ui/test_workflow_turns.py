"""What a chat message to a workflow means, and how its run reads in the chat."""

from __future__ import annotations

from lumos_studio.sessions.base import AgentInfo, WorkflowOutcome
from lumos_studio.ui.waterfall_layout import span_kind
from lumos_studio.ui.workflow_turns import (
    WorkflowRequest,
    placeholder,
    workflow_intro,
    workflow_reply,
    workflow_request,
)
from tests.builders import make_span

TYPED = AgentInfo("trip", "", kind="workflow", steps=("plan", "approve"), has_input_schema=True,
                  input_example='{"destination":"…"}')
UNTYPED = AgentInfo("echo", "", kind="workflow", steps=("echo",))


def test_input_goes_to_the_schema_as_text_and_is_parsed_without_one() -> None:
    assert workflow_request(TYPED, '{"destination": "Oslo"}', None) == WorkflowRequest(
        input='{"destination": "Oslo"}')
    assert workflow_request(UNTYPED, '{"n": 2}', None) == WorkflowRequest(input={"n": 2})
    assert workflow_request(UNTYPED, "hello there", None) == WorkflowRequest(input="hello there")


def test_with_a_suspended_run_the_message_is_json_resume_data() -> None:
    assert workflow_request(TYPED, '{"approved": true}', "run1") == WorkflowRequest(
        resume="run1", resume_data={"approved": True})
    refused = workflow_request(TYPED, "yes please", "run1")
    assert isinstance(refused, str)
    assert refused.startswith('resume data must be JSON, e.g. {"approved": true}')
    assert "/new" in refused


def test_the_intro_and_placeholder_say_what_to_send() -> None:
    assert workflow_intro(TYPED) == (
        'trip is a workflow (plan → approve): send its input as JSON, e.g. {"destination":"…"}')
    assert placeholder(TYPED) == "Workflow input (JSON), Enter to run"
    assert placeholder(TYPED, "abcdef123456").startswith("JSON resume data for run abcdef12")
    assert placeholder(AgentInfo("a", "m")) == "Message the agent, Enter to send"


def test_replies_show_status_and_pretty_output_or_how_to_resume() -> None:
    done = WorkflowOutcome(status="success", run_id="abcdef123456", output={"a": [1, 2]})
    assert workflow_reply("trip", done) == [
        ("trip", 'success · run abcdef12\n{\n  "a": [\n    1,\n    2\n  ]\n}')]
    waiting = WorkflowOutcome(status="suspended", run_id="r2", suspended={"approve": {"q": "ok?"}})
    (role, text), (hint_role, hint) = workflow_reply("trip", waiting)
    assert role == "trip" and text.startswith("suspended at approve · run r2\n")
    assert hint_role == "hint" and "resumes this run" in hint
    failed = WorkflowOutcome(status="failed", run_id="r3", error="boom", failed_step="plan")
    assert workflow_reply("trip", failed) == [("error", "failed at step plan · run r3: boom")]
    assert workflow_reply("trip", WorkflowOutcome(error="input is invalid")) == [
        ("error", "input is invalid")]


def test_step_spans_are_coloured_as_the_workflow() -> None:
    step = make_span("step plan", attributes={"lumos.workflow.step.name": "plan"})
    assert span_kind(step) == "workflow"
    root = make_span("invoke_workflow t", attributes={"gen_ai.operation.name": "invoke_workflow"})
    assert span_kind(root) == "workflow"
    assert span_kind(make_span("misc")) == "other"
