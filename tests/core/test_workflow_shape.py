"""The shape of a workflow and an agent as the studio learns it from the worker: every step with
what it contains, a branch case's condition, a loop's bound, an agent's sub-agents."""

from __future__ import annotations

import pytest

from lumos_core import Agent, ScriptedModel
from lumos_core.session_catalog import describe, describe_workflow
from lumos_core.worker_protocol import (
    ProtocolError,
    Ready,
    StepShape,
    SubAgentDescription,
    decode,
    encode,
)
from lumos_studio.demo.essay import build_essay_writer
from lumos_studio.demo.workflows import build_trip_planner


def test_a_workflow_describes_its_loops_and_nested_workflow_with_their_bounds() -> None:
    shape = {s.name: s for s in describe_workflow(build_essay_writer()).shape}
    assert list(shape) == ["outline", "write_sections", "join_sections", "revise", "review"]
    assert shape["write_sections"].kind == "foreach" and shape["write_sections"].bound == 5
    assert [c.kind for c in shape["write_sections"].children] == ["agent"]
    revise = shape["revise"]
    assert (revise.kind, revise.bound, revise.condition) == ("while", 4, "needs_work")
    assert [c.name for c in revise.children[0].children] == ["critique", "polish"]
    review = shape["review"]
    assert review.kind == "workflow"
    assert [(c.name, c.kind) for c in review.children] == [("checks", "parallel"),
                                                           ("verdict", "function")]


def test_a_branch_names_each_cases_condition_and_leaves_the_default_unnamed() -> None:
    branch = next(s for s in describe_workflow(build_trip_planner(":memory:")).shape
                  if s.kind == "branch")
    assert [(c.name, c.condition) for c in branch.children] == [
        ("indoor_itinerary", "poor_weather"), ("outdoor_itinerary", "")]


def test_an_agent_names_its_sub_agents_and_hand_offs_and_its_step_bound() -> None:
    helper = Agent("helper", "Helps.", model=ScriptedModel())
    expert = Agent("expert", "Knows.", model=ScriptedModel())
    lead = Agent("lead", "Leads.", model=ScriptedModel(), tools=[helper], handoffs=[expert],
                 max_steps=4)
    described = describe(lead)
    assert described.sub_agents == (SubAgentDescription("helper", "helper"),
                                     SubAgentDescription("expert", "transfer_to_expert", True))
    assert described.max_steps == 4


def test_the_shape_crosses_the_wire_and_a_bad_one_is_refused() -> None:
    ready = Ready(1, workflows=(describe_workflow(build_essay_writer()),))
    assert decode(encode(ready)) == ready
    line = encode(Ready(1, workflows=(describe_workflow(build_essay_writer()),))).replace(
        b'"bound":4', b'"bound":"four"')
    with pytest.raises(ProtocolError, match="bound"):
        decode(line)
    assert StepShape("a", "function").children == ()
