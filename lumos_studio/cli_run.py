"""``lumos-studio run``: one turn of an agent, or one run of a workflow, from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lumos_studio.cli_support import fail, info, note, open_store, out
from lumos_studio.display import safe_text
from lumos_studio.store import Store


@click.command()
@click.option("--demo", is_flag=True, help="Use the bundled demo agents instead of a FILE.")
@click.option("--thread", help="Continue this conversation thread (the agent needs memory).")
@click.option("--resource", help="The user (resource) the thread belongs to.")
@click.option("--resume", "resume_run", metavar="RUN_ID",
              help="Resume this suspended workflow run; MESSAGE is the resume data (JSON).")
@click.argument("args", nargs=-1, required=True, metavar="[FILE] AGENT MESSAGE")
@click.pass_obj
def run(
    db: Path,
    demo: bool,
    thread: str | None,
    resource: str | None,
    resume_run: str | None,
    args: tuple[str, ...],
) -> None:
    """Run one turn of AGENT (found by name in FILE), print the answer and record the trace.

    AGENT may name a workflow: MESSAGE is then its input (JSON, or text), and a run that
    suspends can be resumed with --resume RUN_ID and the resume data as MESSAGE.

    \b
    Examples:
      lumos-studio run agents.py weather "weather in Paris?"
      lumos-studio run --demo weather "weather in Paris?"
      lumos-studio run --demo assistant "remember that my name is Ada" --thread t1
      lumos-studio run --demo trip_planner '{"destination": "Rome", "needs_approval": true}'
      lumos-studio run --demo trip_planner --resume 3f2a9c1e '{"approved": true}'
    """
    from lumos_studio.sessions.discovery import AgentFileError, load_demo, load_file

    expected = 2 if demo else 3
    if len(args) != expected:
        usage = "--demo AGENT MESSAGE" if demo else "FILE AGENT MESSAGE (or --demo AGENT MESSAGE)"
        fail(f"run takes {usage}; got {len(args)} argument(s)", code=2)
    try:
        catalog = load_demo() if demo else load_file(Path(args[0]))
        if args[-2] in catalog.workflows:
            source = "--demo" if demo else args[0]
            _run_workflow(db, catalog.workflows[args[-2]], args[-1], resume_run, source)
            return
        if resume_run is not None:
            fail(f"--resume is for workflows; {args[-2]!r} is not one", code=2)
        agent = catalog.get(args[-2])
    except AgentFileError as exc:
        frame = exc.code_frame()
        fail(str(exc), frame or None, code=2)
    except LookupError as exc:
        fail(str(exc.args[0]), code=2)
    _run_agent(db, agent, args[-1], thread, resource)


def _run_agent(
    db: Path, agent: object, message: str, thread: str | None = None, resource: str | None = None
) -> None:
    from lumos_core import Agent, AgentRunError, ModelError

    assert isinstance(agent, Agent)
    if (thread or resource) and agent.memory is None:
        fail(
            f"agent {agent.name!r} has no memory, so --thread cannot continue a conversation",
            "give it one: Agent(..., memory=Memory())",
            code=2,
        )
    with open_store(db) as store:
        try:
            result = agent.run_sync(
                message, thread_id=thread, resource_id=resource, **_recording_into(store)
            )
        except (ModelError, AgentRunError) as exc:
            store.writer.flush()
            fail(str(exc), _trace_hint(store))
        except Exception as exc:  # user code failed: show where, keep the trace
            store.writer.flush()
            fail(f"agent {agent.name!r} raised {type(exc).__name__}: {exc}", _trace_hint(store))
        store.writer.flush()
    out.print(safe_text(result.output, limit=None, multiline=True))
    where = f" · thread {result.thread_id}" if result.thread_id else ""
    note(f"trace {result.trace_id} recorded in {db}{where}")


def _run_workflow(
    db: Path, workflow: object, text: str, resume_run: str | None, source: str
) -> None:
    """Run (or resume) a workflow like the studio's chat does, recording its trace in ``db``."""
    import orjson

    from lumos_core.runner import use_snapshot_store
    from lumos_core.workflows import Workflow, WorkflowError
    from lumos_studio.sessions.base import workflow_store_beside
    from lumos_studio.ui.workflow_turns import pretty

    assert isinstance(workflow, Workflow)
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        if resume_run is not None:
            fail("resume data must be JSON", 'e.g. \'{"approved": true}\'', code=2)
        data = text
    use_snapshot_store({workflow.name: workflow}, workflow_store_beside(db))
    with open_store(db) as store:
        providers = _recording_into(store)
        try:
            if resume_run is None:
                done = workflow.run_sync(data, **providers)
            else:
                done = workflow.resume_sync(resume_run, resume_data=data, **providers)
        except WorkflowError as exc:  # bad input, an unknown run: nothing ran
            fail(str(exc), code=2)
        store.writer.flush()
    note(f"{workflow.name} · run {done.run_id} · {done.status} · trace {done.trace_id} "
         f"recorded in {db}")
    if done.status == "failed":
        fail(f"step {done.failed_step!r} failed: {done.error}")
    if done.status == "suspended":
        out.print(safe_text(pretty(dict(done.suspended)), limit=None, multiline=True))
        info(f"suspended; resume with: lumos-studio run {source} {workflow.name} --resume "
             f"{done.run_id} '<JSON resume data>'")
        return
    out.print(safe_text(pretty(done.output), limit=None, multiline=True))


def _recording_into(store: Store) -> dict[str, Any]:
    """The ``tracer_provider`` and ``logger_provider`` arguments of a run that ``store`` records."""
    from lumos_studio.ingest import studio_logger_provider, studio_tracer_provider

    return {"tracer_provider": studio_tracer_provider(store.writer),
            "logger_provider": studio_logger_provider(store.writer)}


def _trace_hint(store: Store) -> str | None:
    latest = store.reader.list_traces(limit=1)
    return f"the run's trace: lumos-studio show {latest[0].trace_id}" if latest else None

