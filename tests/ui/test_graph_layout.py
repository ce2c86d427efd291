"""The graph's drawing and states, without Textual: each shape of workflow, an agent's loop, and
the states a run's spans and live step updates give its nodes."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lumos_core import Agent, ScriptedModel
from lumos_core.session_catalog import describe_workflow
from lumos_core.worker_protocol import StepShape
from lumos_core.workflows import SnapshotStore
from lumos_studio.demo.agents import weather
from lumos_studio.demo.essay import build_essay_writer
from lumos_studio.ingest.convert import span_to_record
from lumos_studio.sessions.base import AgentInfo, StreamUpdate
from lumos_studio.ui.graph_layout import BREAKPOINT, Look, layout_graph, node_order
from lumos_studio.ui.graph_model import (
    NodeRun,
    NodeState,
    apply_update,
    graph_of,
    merged,
    runs_from_spans,
)
from tests.builders import MS, T0
from tests.hostile import CORPUS
from tests.ui.graph_fixtures import (
    branch_info,
    loop_info,
    nested_info,
    parallel_info,
    run_spans,
    sequence_info,
)


def drawn(info: AgentInfo, look: Look | None = None) -> list[str]:
    return layout_graph(graph_of(info), look or Look()).text().splitlines()


def row_of(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines) if text in line)


def test_a_sequence_is_boxes_one_under_another_joined_by_arrows() -> None:
    lines = drawn(sequence_info())
    rows = [row_of(lines, f"○ {name}") for name in ("fetch", "parse", "summarise", "publish")]
    assert rows == sorted(rows) and all(b - a == 4 for a, b in itertools.pairwise(rows))
    assert lines[rows[0] + 1].strip().startswith("└") and lines[rows[0] + 2].strip() == "▼"


def test_parallel_steps_are_lanes_side_by_side_between_a_fork_and_a_join() -> None:
    lines = drawn(parallel_info())
    lane_row = row_of(lines, "○ weather")
    assert "○ sights" in lines[lane_row] and "○ hotels" in lines[lane_row]
    assert "∥ research" in lines[lane_row - 5]
    fork, join = lines[lane_row - 3], lines[lane_row + 2]
    assert fork.strip().startswith("┌") and fork.strip().endswith("┐") and "┼" in fork
    assert join.strip().startswith("└") and join.strip().endswith("┘")
    assert row_of(lines, "○ book") > lane_row


def test_a_branch_shows_each_case_under_its_condition_and_the_default_as_else() -> None:
    lines = drawn(branch_info())
    conditions = lines[row_of(lines, "if is_big")]
    assert "if is_small" in conditions and "else" in conditions
    assert conditions.index("if is_big") < conditions.index("if is_small") < conditions.index(
        "else")
    assert "⎇ size" in lines[row_of(lines, "size")]
    assert row_of(lines, "○ big_plan") == row_of(lines, "○ ask_again") > row_of(lines, "else")


def test_a_loop_is_a_frame_with_its_bound_and_then_its_passes() -> None:
    info = loop_info()
    lines = drawn(info)
    assert "↻ ≤5 passes" in lines[row_of(lines, "revise")]
    assert "while needs_more" in lines[row_of(lines, "while")]
    assert "↻ ≤10 items" in lines[row_of(lines, "each_language")]
    frame_top, frame_bottom = row_of(lines, "revise"), row_of(lines, "while needs_more")
    assert frame_top < row_of(lines, "○ critique") < row_of(lines, "○ polish") < frame_bottom

    running = Look(runs={"revise": NodeRun(NodeState.RUNNING, T0, None, "s", iterations=2)},
                   now_ns=T0 + 1500 * MS)
    title = drawn(info, running)[row_of(lines, "revise")]
    assert "▶ revise" in title and "↻ 2/5 passes" in title and "1.50s" in title


def test_a_nested_workflow_is_boxed_inside_or_folded_to_one_box() -> None:
    info = nested_info()
    lines = drawn(info)
    top = row_of(lines, "⇶ review")
    assert lines[top].strip().startswith("╔") and "╚" in lines[row_of(lines, "╚")]
    assert top < row_of(lines, "∥ checks") < row_of(lines, "○ verdict") < row_of(lines, "╚")
    folded = drawn(info, Look(collapsed={"review"}))
    assert "⇶ review ▸ 2 steps" in "\n".join(folded)
    assert not any("verdict" in line for line in folded)
    assert node_order(graph_of(info), Look(collapsed={"review"})) == ["write", "review", "ship"]


def test_an_agent_is_its_loop_of_model_and_tools() -> None:
    lines = drawn(AgentInfo.of(weather))
    assert "model ↔ tools" in lines[0] and "≤10 calls" in lines[0]
    assert row_of(lines, "◎ scripted") < row_of(lines, "⚒ get_weather")


def test_a_breakpoint_marks_the_nodes_gutter_and_the_selection_is_tagged() -> None:
    canvas = layout_graph(graph_of(sequence_info()), Look(selected="parse",
                                                          breakpoints={"parse"}))
    box = canvas.boxes["parse"]
    assert canvas.chars[box.y + 1][box.x - 2] == BREAKPOINT
    label = [tag for tag in canvas.tags[box.y + 1] if tag == "selected"]
    assert len(label) == len("○ parse")
    assert sum(row.count(BREAKPOINT) for row in canvas.chars) == 1


def test_hostile_step_names_are_drawn_inert_and_cut() -> None:
    info = AgentInfo("w", "", kind="workflow",
                     shape=(StepShape("\x1b[31mred\x1b[0m" + "x" * 60, "function"),))
    text = layout_graph(graph_of(info), Look()).text()
    assert "\x1b" not in text and "…" in text


def test_states_come_from_the_spans_of_a_run_of_this_workflow_only() -> None:
    root = graph_of(loop_info())
    spans = run_spans("loop", {"draft": ("success", 0, 20), "revise": ("", 20, None),
                               "critique": ("failed", 25, 5)}, passes={"revise": 2})
    runs = runs_from_spans(root, spans)
    assert runs["draft"].state is NodeState.DONE and runs["draft"].end_ns == T0 + 20 * MS
    assert runs["revise"].state is NodeState.RUNNING and runs["revise"].iterations == 2
    assert runs["critique"].state is NodeState.FAILED
    assert "polish" not in runs
    assert runs_from_spans(root, run_spans("another", {"draft": ("success", 0, 20)})) == {}


def test_live_updates_win_when_more_final_and_a_pause_shows_paused() -> None:
    live: dict[str, NodeRun] = {}
    assert apply_update(live, StreamUpdate(step="draft", step_status="running"), T0)
    assert apply_update(live, StreamUpdate(step="draft", step_status="success"), T0 + 5 * MS)
    assert not apply_update(live, StreamUpdate(text="hello"), T0)
    stored = {"draft": NodeRun(NodeState.RUNNING, T0, None, "span1")}
    runs = merged(stored, live, paused="revise")
    assert runs["draft"].state is NodeState.DONE and runs["draft"].span_id == "span1"
    assert runs["revise"].state is NodeState.PAUSED


def test_a_real_run_of_the_demo_essay_writer_colours_every_step(
    tmp_path: Path, exporter: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    provider = tracer_provider
    workflow = build_essay_writer()
    workflow.store = SnapshotStore(tmp_path / "runs.db")
    run = asyncio.run(workflow.run({"topic": "graphs", "sections": 2},
                                   tracer_provider=provider))
    assert run.status == "success"
    root = graph_of(AgentInfo.from_wire(describe_workflow(workflow)))
    runs = runs_from_spans(root, [span_to_record(s) for s in exporter.get_finished_spans()])
    steps = [node.id for node in root.walk()][1:]
    assert all(runs[step].state is NodeState.DONE for step in steps), runs
    assert runs["write_sections"].iterations == 2 and runs["revise"].iterations == 3


def test_every_hostile_name_is_drawn_inert_in_full_cells() -> None:
    for name, text in CORPUS.items():
        info = AgentInfo(text, "", kind="workflow", shape=(
            StepShape(text, "function"),
            StepShape(f"b-{name}", "branch", (StepShape(f"c-{name}", "function", condition=text),)),
        ))
        canvas = layout_graph(graph_of(info), Look(selected=text))
        drawn_text = "".join("".join(row) for row in canvas.chars)
        assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in drawn_text), name
        assert all(len(row) == canvas.width for row in canvas.chars), name
        assert "\u202e" not in drawn_text and "\ud800" not in drawn_text, name


def test_an_agents_run_lights_its_model_its_sub_agent_and_not_the_sub_agents_calls(
    exporter: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    helper = Agent("researcher", "Researches.", model=ScriptedModel(["found it"]))
    lead = Agent("lead", "Leads.", tools=[helper], model=ScriptedModel(
        [ScriptedModel.call("researcher", input="look it up"), "done"]))
    asyncio.run(lead.run("go", tracer_provider=tracer_provider))
    root = graph_of(AgentInfo.of(lead))
    runs = runs_from_spans(root, [span_to_record(s) for s in exporter.get_finished_spans()])
    assert runs["lead"].state is NodeState.DONE and runs["lead"].iterations == 2
    assert runs["model"].iterations == 2  # the lead's two calls, not the researcher's one
    assert runs["agent:researcher"].state is NodeState.DONE
