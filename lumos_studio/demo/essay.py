"""The bundled demo's second workflow: an essay writer with a loop and a nested workflow, on the
scripted model, so no key and no network.

``outline`` (a function) -> ``write_sections`` (a ``foreach`` over the outline's sections, each
drafted by an agent) -> ``revise`` (a ``while`` loop: ``critique`` scores the draft, ``polish``
improves it, until the score is good enough, at most 4 passes) -> ``review`` (a nested workflow:
``check_facts`` and ``check_style`` in parallel, then ``verdict``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from lumos_core import Agent, Message, ScriptedModel
from lumos_core.workflows import (
    StepContext,
    Workflow,
    agent_step,
    foreach,
    loop_while,
    parallel,
    step,
)

GOOD_ENOUGH = 8  # the critique's score (out of 10) that ends the revising


class EssayRequest(BaseModel):
    """What the writer is asked for."""

    topic: str = Field(min_length=1, description="What the essay is about.")
    sections: int = Field(default=3, ge=1, le=5, description="How many sections to write.")


def _section_script(messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> str:
    heading = messages[-1].text.removeprefix("Write the section: ").strip()
    return f"{heading}: a short paragraph that makes one point and gives one example."


section_writer = Agent(
    name="section_writer",
    instructions="You write one section of an essay, in one short paragraph.",
    model=ScriptedModel(_section_script, latency=0.05),
    description="Drafts one section of the essay.",
)


@step(input_schema=EssayRequest)
def outline(ctx: StepContext) -> list[str]:
    """The essay's section headings, from its topic."""
    request: EssayRequest = ctx.input
    parts = ("Why it matters", "How it works", "Where it goes wrong", "What to try", "In short")
    return [f"{request.topic.strip().capitalize()}: {part}" for part in parts[: request.sections]]


@step
def join_sections(ctx: StepContext) -> dict[str, Any]:
    """The drafted sections as one draft, not yet scored."""
    return {"text": "\n\n".join(ctx.input), "score": 5, "passes": 0}


@step
def critique(ctx: StepContext) -> dict[str, Any]:
    """Score the draft: each revision earns two points (a stand-in for a judging model)."""
    draft: dict[str, Any] = ctx.input
    return {**draft, "score": min(10, 5 + 2 * draft["passes"])}


@step
def polish(ctx: StepContext) -> dict[str, Any]:
    """One revision of the draft."""
    draft: dict[str, Any] = ctx.input
    return {**draft, "text": draft["text"].replace("short ", "tight ", 1),
            "passes": draft["passes"] + 1}


def _needs_work(ctx: StepContext) -> bool:
    draft: dict[str, Any] = ctx.input
    return int(draft["score"]) < GOOD_ENOUGH


@step
def check_facts(ctx: StepContext) -> str:
    """Every section names an example."""
    return "facts: ok" if "example" in ctx.input["text"] else "facts: an example is missing"


@step
def check_style(ctx: StepContext) -> str:
    """No section runs long."""
    longest = max(len(p) for p in ctx.input["text"].split("\n\n"))
    return "style: ok" if longest < 400 else "style: a section runs long"


@step
def verdict(ctx: StepContext) -> str:
    """The essay with what the checks said."""
    checks = ctx.input
    draft: dict[str, Any] = ctx.workflow_input  # the review's input: the revised draft
    notes = "; ".join(str(v) for v in checks.values())
    return f"{draft['text']}\n\n({notes}; revised {draft['passes']} times)"


def build_essay_writer() -> Workflow:
    """The essay writer; its review is a workflow of its own, run as one step."""
    review = Workflow(
        "review",
        [parallel(check_facts, check_style, name="checks"), verdict],
        description="Checks the facts and the style, then gives the verdict.",
    )
    return Workflow(
        "essay_writer",
        [
            outline,
            foreach(
                agent_step(section_writer, prompt=lambda ctx: f"Write the section: {ctx.input}"),
                max_items=5,
                name="write_sections",
            ),
            join_sections,
            loop_while(_needs_work, [critique, polish], max_iterations=4, name="revise"),
            review,
        ],
        description="Writes an essay: an outline, a section at a time, revised until good, "
        "then reviewed.",
        input_schema=EssayRequest,
    )
