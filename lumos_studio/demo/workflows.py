"""The bundled demo workflow: a trip planner on the scripted model, so no key and no network.

``plan`` (a function) -> ``research`` (two agents in parallel: weather and sights) ->
``itinerary`` (a branch: indoor when the weather is poor, else outdoor) -> ``approve`` (suspends
for a person when the request asks for approval; resume with ``{"approved": true}``).
"""

from __future__ import annotations

import zlib
from pathlib import Path

from pydantic import BaseModel, Field

from lumos_core import Agent, ScriptedModel, tool
from lumos_core.workflows import (
    SnapshotStore,
    StepContext,
    Workflow,
    agent_step,
    branch,
    parallel,
    step,
)
from lumos_studio.demo.agents import get_weather
from lumos_studio.demo.essay import build_essay_writer

_SIGHTS = (
    "the old town", "the harbour", "the cathedral", "the modern art museum", "the botanical garden",
    "the market hall", "the castle hill", "the river walk", "the science centre", "the opera house",
)
_INDOOR = ("museum", "cathedral", "market hall", "science centre", "opera house")
_POOR_WEATHER = ("rain", "fog", "wind", "cloud")


class TripRequest(BaseModel):
    """What the planner is asked for."""

    destination: str = Field(min_length=1, description="The city to visit.")
    days: int = Field(default=2, ge=1, le=14, description="How many days to plan.")
    needs_approval: bool = Field(default=False, description="Wait for a person to approve.")


class TripPlan(BaseModel):
    """The request, tidied up: what every later step reads."""

    destination: str
    days: int


@tool
def find_sights(city: str) -> str:
    """Sights worth seeing in a city."""
    seed = zlib.crc32(city.strip().lower().encode())
    picks = [_SIGHTS[(seed + i * 3) % len(_SIGHTS)] for i in range(4)]
    return f"In {city.strip().title()}: " + ", ".join(dict.fromkeys(picks)) + "."


weather_scout = Agent(
    name="weather_scout",
    instructions="You report the current weather for a city with get_weather.",
    model=ScriptedModel(latency=0.05),
    tools=[get_weather],
    description="Checks the weather at the destination.",
)

sights_guide = Agent(
    name="sights_guide",
    instructions="You list sights worth seeing in a city with find_sights.",
    model=ScriptedModel(latency=0.05),
    tools=[find_sights],
    description="Suggests sights at the destination.",
)


@step(input_schema=TripRequest, output_schema=TripPlan)
def plan(ctx: StepContext) -> TripPlan:
    """Tidy the request (the destination's spelling) for the steps after it."""
    request: TripRequest = ctx.input
    return TripPlan(destination=request.destination.strip().title(), days=request.days)


def _poor_weather(ctx: StepContext) -> bool:
    return any(word in ctx.get("weather_scout").lower() for word in _POOR_WEATHER)


def _days(ctx: StepContext, indoor: bool) -> str:
    trip: TripPlan = ctx.get("plan")
    sights = ctx.get("sights_guide").split(": ", 1)[-1].rstrip(".").split(", ")
    # The sights that suit the weather first, then the rest for longer trips.
    chosen = sorted(sights, key=lambda s: any(k in s for k in _INDOOR) != indoor)
    lines = [f"Day {day}: {chosen[(day - 1) % len(chosen)]}" for day in range(1, trip.days + 1)]
    kind = "Indoor" if indoor else "Outdoor"
    return f"{kind} plan for {trip.destination} ({ctx.get('weather_scout')})\n" + "\n".join(lines)


@step
def indoor_itinerary(ctx: StepContext) -> str:
    """Museums and halls when the weather is poor."""
    return _days(ctx, indoor=True)


@step
def outdoor_itinerary(ctx: StepContext) -> str:
    """Walks and gardens when the weather is good."""
    return _days(ctx, indoor=False)


@step
def approve(ctx: StepContext) -> str:
    """Ask a person before booking, when the request says so (human in the loop)."""
    itinerary: str = ctx.input
    if not ctx.workflow_input.needs_approval:
        return itinerary
    if not ctx.resumed:
        ctx.suspend({"question": "Book this trip?", "itinerary": itinerary})
    approved = bool((ctx.resume_data or {}).get("approved"))
    return f"{'Approved' if approved else 'Declined'}: {itinerary}"


def build_trip_planner(store: SnapshotStore | str | Path | None = None) -> Workflow:
    """The trip planner, with its runs saved in ``store`` (default ``.lumos/workflows.db``)."""
    return Workflow(
        "trip_planner",
        [
            plan,
            parallel(
                agent_step(
                    weather_scout,
                    prompt=lambda ctx: f"What's the weather in {ctx.input.destination}?",
                ),
                agent_step(
                    sights_guide,
                    prompt=lambda ctx: f"Find sights in {ctx.input.destination}",
                ),
                name="research",
            ),
            branch((_poor_weather, indoor_itinerary), default=outdoor_itinerary, name="itinerary"),
            approve,
        ],
        description="Plans a trip: weather and sights in parallel, then an indoor or outdoor plan.",
        input_schema=TripRequest,
        store=store,
    )


trip_planner = build_trip_planner()
essay_writer = build_essay_writer()  # the demo's second workflow: loops and a nested workflow
