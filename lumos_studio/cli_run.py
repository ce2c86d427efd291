"""``lumos-studio run``: one turn of an agent, or one run of a workflow, or one of an agent's
tools called by hand (``--tool``), from the shell.

A user's FILE runs in a worker process, as ``dev`` runs it (``sessions.worker``): a tool that
crashes or calls ``os._exit``, a kill or a runaway allocation then ends with a sentence saying what
happened, a non-zero exit and the run's spans closed as ERROR, instead of taking this process
down with no word; the worker's memory is capped (``--memory-limit``) and what its tools started
is killed with it. The bundled demo (``--demo``) is the studio's own code and runs in-process.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lumos_core.memory_limit import DEFAULT_MEMORY_MB, MEMORY_ENV
from lumos_studio.cli_break import PAUSED_EXIT, BreakReport, parse_breaks
from lumos_studio.cli_support import fail, info, note, open_store, out, unstored, writable
from lumos_studio.display import safe_text
from lumos_studio.store import local_path

if TYPE_CHECKING:
    from lumos_core.worker_protocol import BreakAt
    from lumos_studio.sessions.base import (
        AgentInfo,
        LoadProblem,
        RunOutcome,
        SessionEvent,
        WorkflowOutcome,
    )
    from lumos_studio.sessions.worker import WorkerSession
    from lumos_studio.store import Store

LOAD_TIMEOUT = 60.0  # seconds the user's file gets to import in the worker


@click.command()
@click.option("--demo", is_flag=True, help="Use the bundled demo agents instead of a FILE.")
@click.option("--thread", help="Continue this conversation thread (the agent needs memory).")
@click.option("--resource", help="The user (resource) the thread belongs to.")
@click.option("--resume", "resume_run", metavar="RUN_ID",
              help="Resume this suspended workflow run; MESSAGE is the resume data (JSON).")
@click.option("--memory-limit", type=click.IntRange(min=0), default=DEFAULT_MEMORY_MB,
              envvar=MEMORY_ENV, show_default=True, show_envvar=True,
              help="MB of memory a FILE's run may use; past it the run is stopped (0: no limit).")
@click.option("--break", "wheres", multiple=True, metavar="WHERE",
              help="Stop before WHERE (a workflow step's name, 'model', 'tool' or 'tool:NAME'), "
              "print what the run was about to use, and end it there (exit "
              f"{PAUSED_EXIT}). Repeatable.")
@click.option("--continue", "keep_going", is_flag=True,
              help="With --break: print each pause and go on to the end.")
@click.option("--tool", metavar="NAME",
              help="Call AGENT's tool NAME by hand, without the model: MESSAGE is its arguments "
              "(a JSON object); print its result.")
@click.argument("args", nargs=-1, required=True, metavar="[FILE] AGENT MESSAGE")
@click.pass_obj
def run(
    db: Path,
    demo: bool,
    thread: str | None,
    resource: str | None,
    resume_run: str | None,
    memory_limit: int,
    wheres: tuple[str, ...],
    keep_going: bool,
    tool: str | None,
    args: tuple[str, ...],
) -> None:
    """Run one turn of AGENT (found by name in FILE), print the answer and record the trace.

    AGENT may name a workflow: MESSAGE is then its input (JSON, or text), and a run that
    suspends can be resumed with --resume RUN_ID and the resume data as MESSAGE.

    --break stops the run before a step, a model call or a tool call and prints the step's
    input, the request about to go to the model, or the tool call's arguments as JSON on stdout.
    The run ends there with exit code 3 (its trace is kept); with --continue it goes on and
    ends as usual. A run that never reaches a --break says so on stderr.

    \b
    Examples:
      lumos-studio run agents.py weather "weather in Paris?"
      lumos-studio run --demo weather "weather in Paris?"
      lumos-studio run --demo assistant "remember that my name is Ada" --thread t1
      lumos-studio run --demo trip_planner '{"destination": "Rome", "needs_approval": true}'
      lumos-studio run --demo trip_planner --resume 3f2a9c1e '{"approved": true}'
      lumos-studio run --demo weather "weather in Paris?" --break tool:get_weather
      lumos-studio run --demo trip_planner '{"destination": "Rome"}' --break research --continue
      lumos-studio run --demo weather --tool get_weather '{"city": "Oslo"}'

    --tool calls one of AGENT's tools as a run would, without the model: the result on stdout,
    an error result (refused arguments, a ToolError, no such tool) on stderr with exit 1.
    """
    from lumos_core.debug import attached
    from lumos_studio.sessions.discovery import AgentFileError, load_demo

    expected = 2 if demo else 3
    if len(args) != expected:
        usage = "--demo AGENT MESSAGE" if demo else "FILE AGENT MESSAGE (or --demo AGENT MESSAGE)"
        fail(f"run takes {usage}; got {len(args)} argument(s)", code=2)
    if keep_going and not wheres:
        fail("--continue goes with --break WHERE", code=2)
    breaks = parse_breaks(wheres)
    report = BreakReport(keep_going)
    if tool is not None:
        _call_tool(db, demo, args, tool, _tool_arguments(args[-1], thread, resource, resume_run),
                   memory_limit, breaks, report)
        report.finish(wheres)
        return
    if not demo:
        _run_file(db, Path(args[0]), args[1], args[2], thread, resource, resume_run, memory_limit,
                  breaks, report)
        report.finish(wheres)
        return
    try:
        catalog = load_demo()
        if args[-2] in catalog.workflows:
            with attached(report.debugger(breaks) if breaks else None):
                _run_workflow(db, catalog.workflows[args[-2]], args[-1], resume_run, "--demo",
                              report)
            report.finish(wheres)
            return
        if resume_run is not None:
            fail(f"--resume is for workflows; {args[-2]!r} is not one", code=2)
        agent = catalog.get(args[-2])
    except AgentFileError as exc:
        frame = exc.code_frame()
        fail(str(exc), frame or None, code=2)
    except LookupError as exc:
        fail(str(exc.args[0]), code=2)
    with attached(report.debugger(breaks) if breaks else None):
        _run_agent(db, agent, args[-1], thread, resource, report)
    report.finish(wheres)


def _tool_arguments(text: str, thread: str | None, resource: str | None,
                    resume_run: str | None) -> dict[str, Any]:
    """``--tool``'s MESSAGE: the tool's arguments, a JSON object (exit 2 for anything else)."""
    import orjson

    if thread or resource or resume_run:
        fail("--tool calls a tool alone: --thread, --resource and --resume do not go with it",
             code=2)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        fail("with --tool, MESSAGE is the tool's arguments as a JSON object",
             """e.g. '{"city": "Oslo"}' ('{}' for none)""", code=2)
    return value


def _call_tool(db: Path, demo: bool, args: tuple[str, ...], tool: str, arguments: dict[str, Any],
               memory_limit: int, breaks: tuple[BreakAt, ...], report: BreakReport) -> None:
    """``--tool``: the demo's agent's tool in this process, a FILE's in a worker process; both
    through their session's ``call_tool``, which says how the call ended the same way."""
    from lumos_studio.sessions.discovery import load_demo
    from lumos_studio.sessions.in_process import InProcessSession

    name = args[-2]
    with open_store(db) as store:
        writable(store)
        if demo:
            catalog = load_demo()
            if name in catalog.workflows:
                fail(f"--tool calls an agent's tool; {name!r} is a workflow", code=2)
            try:
                catalog.get(name)
            except LookupError as exc:
                fail(str(exc.args[0]), code=2)
            outcome = InProcessSession.recording(catalog, store.writer).call_tool(
                name, tool, arguments, breakpoints=breaks, on_pause=report.on_pause)
        else:
            outcome = _call_file_tool(store, Path(args[0]), name, tool, arguments, memory_limit,
                                      breaks, report)
        if report.stopped(outcome.error):
            note(_trace_hint(store, outcome.trace_id) or "")
            report.exit_paused()
        if outcome.error is not None:
            what = (f"tool {tool!r} raised {outcome.error}" if outcome.raised
                    else outcome.message or outcome.error)
            fail(what, _trace_hint(store, outcome.trace_id))
        if outcome.cancelled:
            fail("the call was cancelled", _trace_hint(store, outcome.trace_id))
        problem = unstored(store)
    _print_answer(db, outcome.output, outcome.trace_id, None, problem)


def _call_file_tool(store: Store, path: Path, name: str, tool: str, arguments: dict[str, Any],
                    memory_limit: int, breaks: tuple[BreakAt, ...], report: BreakReport
                    ) -> RunOutcome:
    """``name``'s ``tool`` of ``path`` called in a worker process, its trace into ``store``."""
    from lumos_studio.ingest.otlp_http import OtlpReceiver
    from lumos_studio.sessions.worker import WorkerSession

    receiver = OtlpReceiver(store.writer, port=0).start()
    session = WorkerSession(path, receiver.endpoint, watch=False, record=store.writer.submit,
                            memory_limit_mb=memory_limit, restart=False, echo_prints=True)
    try:
        if _load(session, path, name).kind == "workflow":
            fail(f"--tool calls an agent's tool; {name!r} is a workflow", code=2)
        return session.call_tool(name, tool, arguments, breakpoints=breaks,
                                 on_pause=report.on_pause)
    finally:
        session.stop()
        store.writer.flush()
        receiver.stop()


def _run_agent(
    db: Path, agent: object, message: str, thread: str | None = None,
    resource: str | None = None, report: BreakReport | None = None,
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
        writable(store)
        try:
            result = agent.run_sync(
                message, thread_id=thread, resource_id=resource, **_recording_into(store)
            )
        except (ModelError, AgentRunError) as exc:
            fail(str(exc), _trace_hint(store))
        except Exception as exc:  # user code failed: show where, keep the trace
            if report is not None and report.stopped(str(exc)):
                note(_trace_hint(store) or "")
                report.exit_paused()
            fail(f"agent {agent.name!r} raised {type(exc).__name__}: {exc}", _trace_hint(store))
        problem = unstored(store)
    _print_answer(db, result.output, result.trace_id, result.thread_id, problem)


def _print_answer(db: Path, output: str | None, trace_id: str | None, thread: str | None,
                  problem: tuple[str, str] | None = None) -> None:
    """The answer, then where its trace is; or, when the trace was not stored, why (exit 1)."""
    out.print(safe_text(output or "", limit=None, multiline=True))
    if problem is not None:
        fail(*problem)
    where = f" · thread {thread}" if thread else ""
    note(f"trace {trace_id} recorded in {db}{where}")


def _run_workflow(
    db: Path, workflow: object, text: str, resume_run: str | None, source: str,
    report: BreakReport | None = None,
) -> None:
    """Run (or resume) a workflow like the studio's chat does, recording its trace in ``db``."""

    from lumos_core.session_catalog import use_snapshot_store
    from lumos_core.workflows import Workflow, WorkflowError
    from lumos_studio.sessions.base import workflow_store_beside

    assert isinstance(workflow, Workflow)
    data = _workflow_input(text, resume_run)
    use_snapshot_store({workflow.name: workflow}, workflow_store_beside(local_path(db)))
    with open_store(db) as store:
        writable(store)
        providers = _recording_into(store)
        try:
            if resume_run is None:
                done = workflow.run_sync(data, **providers)
            else:
                done = workflow.resume_sync(resume_run, resume_data=data, **providers)
        except WorkflowError as exc:  # bad input, an unknown run: nothing ran
            fail(str(exc), code=2)
        problem = unstored(store)
    if report is not None and done.status == "failed" and report.stopped(done.error):
        note(f"{workflow.name} · run {done.run_id} · {_recorded(db, done.trace_id, problem)}")
        report.exit_paused()
    _print_workflow(db, workflow.name, source, done.status, done.run_id, done.trace_id,
                    f"step {done.failed_step!r} failed: {done.error}",
                    dict(done.suspended), done.output if done.status != "failed" else None,
                    problem)


def _print_workflow(db: Path, name: str, source: str, status: str, run_id: str | None,
                    trace_id: str | None, failure: str, suspended: Any, output: Any,
                    problem: tuple[str, str] | None = None) -> None:
    """What the run ended with, and where its trace is; or, when the trace was not stored, why
    (exit 1)."""
    from lumos_studio.ui.workflow_turns import pretty

    note(f"{name} · run {run_id} · {status} · {_recorded(db, trace_id, problem)}")
    if status == "failed":
        fail(failure, None if problem is None else f"{problem[0]}; {problem[1]}")
    shown = suspended if status == "suspended" else output
    out.print(safe_text(pretty(shown), limit=None, multiline=True))
    if problem is not None:
        fail(*problem)
    if status == "suspended":
        info(f"suspended; resume with: lumos-studio run {source} {name} --resume "
             f"{run_id} '<JSON resume data>'")


def _recorded(db: Path, trace_id: str | None, problem: tuple[str, str] | None) -> str:
    """Where the run's trace was recorded, or that it was not (``unstored``)."""
    if problem is None:
        return f"trace {trace_id} recorded in {db}"
    return f"trace {trace_id} not stored"


def _recording_into(store: Store) -> dict[str, Any]:
    """The ``tracer_provider`` and ``logger_provider`` arguments of a run that ``store`` records."""
    from lumos_studio.ingest import studio_logger_provider, studio_tracer_provider

    return {"tracer_provider": studio_tracer_provider(store.writer),
            "logger_provider": studio_logger_provider(store.writer)}


def _trace_hint(store: Store, trace_id: str | None = None) -> str | None:
    """Once what the run recorded is committed: where its trace is, or why it was not stored."""
    problem = unstored(store)
    if problem is not None:
        return f"the run's trace was not stored: {problem[0]}; {problem[1]}"
    if trace_id is None:
        latest = store.reader.list_traces(limit=1)
        trace_id = latest[0].trace_id if latest else None
    return f"the run's trace: lumos-studio show {trace_id}" if trace_id else None



def _workflow_input(text: str, resume_run: str | None) -> Any:
    """A workflow's input: JSON, or the text itself (resume data must be JSON)."""
    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        if resume_run is not None:
            fail("resume data must be JSON", 'e.g. \'{"approved": true}\'', code=2)
        return text


def _run_file(db: Path, path: Path, name: str, message: str, thread: str | None,
              resource: str | None, resume_run: str | None, memory_limit: int,
              breaks: tuple[BreakAt, ...] = (), report: BreakReport | None = None) -> None:
    """Run ``name`` of ``path`` in a worker process, recording its trace in ``db``."""
    from lumos_studio.ingest.otlp_http import OtlpReceiver
    from lumos_studio.sessions.base import workflow_store_beside
    from lumos_studio.sessions.worker import WorkerSession

    with open_store(db) as store:
        writable(store)
        receiver = OtlpReceiver(store.writer, port=0).start()
        session = WorkerSession(
            path, receiver.endpoint, watch=False,
            workflow_store=workflow_store_beside(local_path(db)),
            record=store.writer.submit, memory_limit_mb=memory_limit, restart=False,
            echo_prints=True,
        )
        try:
            info = _load(session, path, name)
            if info.kind == "workflow":
                data = _workflow_input(message, resume_run)
                done = session.run_workflow(
                    name, None if resume_run else data, resume=resume_run,
                    resume_data=data if resume_run else None, breakpoints=breaks,
                    on_pause=report.on_pause if report is not None else None,
                )
                if report is not None and report.stopped(done.error):
                    recorded = _recorded(db, done.trace_id, unstored(store))
                    note(f"{name} · run {done.run_id} · {recorded}")
                    report.exit_paused()
                _report_workflow(db, store, str(path), name, done)
                return
            if resume_run is not None:
                fail(f"--resume is for workflows; {name!r} is not one", code=2)
            if (thread or resource) and not info.has_memory:
                fail(f"agent {name!r} has no memory, so --thread cannot continue a conversation",
                     "give it one: Agent(..., memory=Memory())", code=2)
            outcome = session.run(
                name, message, (), thread_id=thread, resource_id=resource, breakpoints=breaks,
                on_pause=report.on_pause if report is not None else None,
            )
            if report is not None and report.stopped(outcome.error):
                note(_trace_hint(store, outcome.trace_id) or "")
                report.exit_paused()
            if outcome.error is not None:
                what = f"agent {name!r} raised {outcome.error}" if outcome.raised else (
                    outcome.message or outcome.error)
                fail(what, _trace_hint(store, outcome.trace_id))
            if outcome.cancelled:
                fail("the run was cancelled", _trace_hint(store, outcome.trace_id))
        finally:
            session.stop()
            store.writer.flush()
            receiver.stop()
        problem = unstored(store)
    _print_answer(db, outcome.output, outcome.trace_id, outcome.thread_id, problem)


def _load(session: WorkerSession, path: Path, name: str) -> AgentInfo:
    """Start ``session``'s worker and find ``name`` in what it loaded (exit 2 when not)."""
    loaded = threading.Event()
    problems: list[LoadProblem] = []

    def heard(event: SessionEvent) -> None:
        if event.output:  # what the user's code printed, or a crash's last words
            info(event.output)
        if event.problem is not None:
            problems.append(event.problem)
        if event.agents is not None or event.problem is not None:
            loaded.set()

    session.listener = heard
    session.start()
    if not loaded.wait(LOAD_TIMEOUT):
        fail(f"{path} did not load within {LOAD_TIMEOUT:.0f} s", code=2)
    if problems:
        fail(problems[0].message, problems[0].frame or None, code=2)
    found = {a.name: a for a in session.agents}
    if name not in found:
        from lumos_studio.sessions.discovery import unknown_name

        agents = [a.name for a in session.agents if a.kind == "agent"]
        workflows = [a.name for a in session.agents if a.kind == "workflow"]
        fail(unknown_name(name, session.path, agents, workflows), code=2)
    return found[name]


def _report_workflow(db: Path, store: Store, source: str, name: str, done: WorkflowOutcome) -> None:
    if done.status is None:
        if done.error and not done.traceback and not done.cancelled:  # refused: nothing ran
            fail(done.error, code=2)
        fail(done.error or "the run was cancelled", _trace_hint(store, done.trace_id))
    failure = f"step {done.failed_step!r} failed: {done.error}"
    _print_workflow(db, name, source, done.status, done.run_id, done.trace_id, failure,
                    done.suspended, done.output if done.status != "failed" else None,
                    unstored(store))
