"""``lumos-studio fixture``: a recorded agent run becomes a pytest regression test.

The trace (runs of ``--db`` by id prefix, or a saved OTLP JSON lines file) is written beside the
test as ``<test name>.jsonl``; the test replays it with ``lumos_core.testing.replay`` against the
agent as the code defines it now, so it fails with a ``TraceDivergence`` naming the step where
the agent's behaviour changed. Everything taken from the trace is written into the test as a
Python literal (``repr``), never as code.

Nothing is written until the trace has been read and the agent found: ``--agent`` is imported in
a child process as the test will import it, and several traces must be turns of one agent.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lumos_studio.cli_support import fail, info, note, open_reader

if TYPE_CHECKING:
    from lumos_core.testing import RecordedTrace
    from lumos_core.testing.otlp_json import SpanLike

DEMO_MODULE = "lumos_studio.demo.agents"
LOAD_TIMEOUT = 60.0  # seconds the agent's file or module gets to import (as ``run`` gives it)
# What the child process of ``_check_agent`` runs.
_FIND_AGENT = ("import sys; from lumos_studio.cli_fixture import find_agent; "
               "find_agent(*sys.argv[1:])")


@dataclass(frozen=True, slots=True)
class AgentSource:
    """Where the generated test finds the agent: a file, or an importable module."""

    file: Path | None = None
    module: str | None = None
    variable: str | None = None


@click.command()
@click.argument("traces", nargs=-1, required=True, metavar="TRACE...")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The test file to write, e.g. tests/test_weather.py.")
@click.option("--agent", "agent_option", metavar="FILE[:NAME] | MODULE[:VARIABLE]",
              help="Where the agent is defined (default: the bundled demo agent of that name).")
@click.option("--run-tools", is_flag=True,
              help="Run the recorded tools for real (a changed result then fails the test); "
              "by default they answer from the trace.")
@click.option("--force", is_flag=True, help="Overwrite the test and its trace file.")
@click.pass_obj
def fixture(
    db: Path, traces: tuple[str, ...], output: Path, agent_option: str | None, run_tools: bool,
    force: bool,
) -> None:
    """Write a pytest regression test that replays TRACE against the agent that produced it.

    TRACE is a saved OTLP JSON lines file, or trace ids (unique prefixes) of --db, or ``last``
    for the newest: give every turn of a conversation to replay them all (several traces must be
    runs of one agent: a test replays one agent). Nothing is written unless the trace reads and
    --agent defines that agent.

    \b
    Examples:
      lumos-studio fixture 3f2a9c -o tests/test_weather.py
      lumos-studio fixture last -o tests/test_weather.py --agent agents.py
      lumos-studio fixture traces/weather.jsonl -o tests/test_weather.py --agent agents.py
      lumos-studio fixture 3f2a 9c1e -o tests/test_chat.py --agent myapp.agents:support
    """
    if output.suffix != ".py" or not output.stem.startswith("test_"):
        fail(f"{output} is not a test file pytest collects", "name it tests/test_NAME.py", code=2)
    if not output.stem.isidentifier():
        fail(f"{output.stem!r} is not a Python module name", "use letters, digits and _", code=2)
    data = output.with_suffix(".jsonl")
    for path in (output, data):
        if path.exists() and not force:
            fail(f"{path} exists", "pass --force to overwrite it", code=2)
    given = _parse_agent(agent_option) if agent_option is not None else None
    # Nothing is written until every check has passed: a trace from the store is exported into
    # a scratch folder, a saved file is read where it is.
    with tempfile.TemporaryDirectory(prefix="lumos-fixture-") as scratch:
        exported = Path(scratch) / "trace.jsonl"
        trace_file = _trace_file(db, traces, exported)
        recorded = _recorded(trace_file)
        agent_name = _agent_of(recorded, "the trace" if trace_file == exported else trace_file)
        names = recorded.agent_names
        source = given or _demo_source(agent_name)
        if source is None:
            fail(f"the trace's agent {agent_name!r} is not a bundled demo agent",
                 "say where it is defined: --agent agents.py (or --agent package.module)")
        if given is not None:
            _check_agent(given, agent_name, Path(scratch) / "found.json")
        turns = [(t.message, t.output) for t in recorded.turns(agent_name)]
        tools = sorted({c.name for c in recorded.tool_calls(agent_name)}) if run_tools else []
        _write(output, _test_source(output, data, agent_name, source, turns, tools), data,
               trace_file)
    if len(names) > 1:
        note(f"the trace holds several agents ({', '.join(names)}); the test replays "
             f"{agent_name!r}, the outermost")
    info(f"wrote {output} ({len(turns)} turn(s) of agent {agent_name!r}) and {data}")
    info(f"run it: pytest {output}")


def _trace_file(db: Path, traces: tuple[str, ...], scratch: Path) -> Path:
    """The saved file given, or ``scratch`` holding the store's traces as OTLP JSON lines."""
    files = [Path(t) for t in traces if Path(t).is_file()]
    if files:
        if len(traces) > 1:
            fail("give one saved trace file, or trace ids of --db", code=2)
        return files[0]
    from lumos_studio.replay.save import save_traces

    reader = open_reader(db)
    ids = []
    for prefix in traces:
        if prefix == "last":
            newest = reader.list_traces(limit=1)
            if not newest:
                fail(f"no trace in {reader.path}", "record one: lumos-studio run ...")
            ids.append(newest[0].trace_id)
            continue
        matches = reader.resolve_trace_id(prefix)
        if not matches:
            fail(f"no saved file and no trace starting with {prefix!r} in {reader.path}",
                 "list the traces: lumos-studio traces")
        if len(matches) > 1:
            fail(f"{prefix!r} matches several traces ({', '.join(matches)}); "
                 "give more characters")
        ids.append(matches[0])
    try:
        save_traces(reader, ids, scratch)
    except OSError as exc:
        fail(f"cannot export the traces to {scratch}: {exc.strerror or exc}")
    return scratch


def _recorded(path: Path) -> RecordedTrace:
    """The spans of ``path``; a file that is not OTLP JSON lines, or is cut short, fails."""
    from lumos_core.testing import RecordedTrace, read_spans

    hint = "expected OTLP JSON lines (.gz or not), as lumos-studio export writes them"
    try:
        return RecordedTrace(read_spans(path))
    except ValueError as exc:
        fail(str(exc), hint)
    except EOFError as exc:  # worded as ``import`` and replay word it
        from lumos_studio.otlp.files import broken_stream

        fail(f"{path}: {broken_stream(exc)}", hint)
    except (gzip.BadGzipFile, zlib.error) as exc:
        fail(f"{path} is not a readable gzip file ({exc})", hint)
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")


def _agent_of(recorded: RecordedTrace, shown: object) -> str:
    """The agent the test replays: the outermost one of every trace, which must be the same
    (several traces are the turns of one conversation)."""
    from lumos_core.testing import RecordedTrace

    by_trace: dict[str, list[SpanLike]] = {}
    for span in recorded.spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    outermost: dict[str, str | None] = {
        trace_id: next(iter(RecordedTrace(spans).agent_names), None)
        for trace_id, spans in by_trace.items()
    }
    if not any(outermost.values()):
        fail(f"{shown} holds no agent run (no invoke_agent span)",
             "fixture writes tests for agent runs; see lumos-studio show TRACE")
    if len(outermost) > 1 and len(set(outermost.values())) > 1:
        runs = ", ".join(f"{trace_id[:8]}: {name or 'no agent run'}"
                         for trace_id, name in outermost.items())
        fail(f"the traces are not one agent's turns ({runs}); a test replays one agent's "
             "conversation", "give the traces of one agent, and write a test per agent", code=2)
    return next(name for name in outermost.values() if name)


def _write(output: Path, test: str, data: Path, trace_file: Path) -> None:
    """The test and its trace, each written beside its place first, then moved there."""
    pending: list[tuple[Path, Path]] = []
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if not (data.exists() and data.samefile(trace_file)):
            pending.append((data.with_name(f".{data.name}.partial"), data))
            shutil.copyfile(trace_file, pending[-1][0])
        pending.append((output.with_name(f".{output.name}.partial"), output))
        pending[-1][0].write_text(test, encoding="utf-8")
        for partial, final in pending:
            partial.replace(final)
    except OSError as exc:
        for partial, _ in pending:
            partial.unlink(missing_ok=True)
        fail(f"cannot write {exc.filename or output}: {exc.strerror or exc}")


def _check_agent(source: AgentSource, agent_name: str, answer: Path) -> None:
    """Import ``source`` in a child process, as the written test will, and fail (exit 2) unless
    it defines the agent ``agent_name``: user code runs there, not in this process."""
    command = [sys.executable, "-c", _FIND_AGENT, str(answer), str(source.file or ""),
               source.module or "", source.variable or "", agent_name]
    where = source.file or source.module
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=LOAD_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        fail(f"{where} did not load within {LOAD_TIMEOUT:.0f} s",
             "--agent takes the file or module that defines the agent", code=2)
    try:
        found = json.loads(answer.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        last = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        fail(f"importing {where} ended the process ({last[0]})", code=2)
    if found["problem"]:
        fail(found["problem"], found["hint"] or None, code=2)


def find_agent(answer: str, file: str, module: str, variable: str, agent_name: str) -> None:
    """In the child process of ``_check_agent``: what is wrong with the agent's file or module
    (``{"problem": ..., "hint": ...}``, problem "" when the agent is there), written to
    ``answer``."""
    problem, hint = _agent_problem(Path(file) if file else None, module, variable, agent_name)
    Path(answer).write_text(json.dumps({"problem": problem, "hint": hint}), encoding="utf-8")


def _agent_problem(file: Path | None, module: str, variable: str,
                   agent_name: str) -> tuple[str, str]:
    import importlib
    import traceback

    from lumos_core import Agent
    from lumos_core.loader import AgentFileError, agents_in, load_module, workflows_in
    from lumos_studio.sessions.discovery import unknown_name

    where = str(file) if file is not None else module
    try:
        loaded = load_module(file) if file is not None else importlib.import_module(module)
    except AgentFileError as exc:
        return str(exc), exc.code_frame()
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            return (f"no module named {module!r} (from {Path.cwd()})",
                    "--agent takes a file (agents.py) or a module importable from here")
        return f"{type(exc).__name__} while importing {module}: {exc}", ""
    except BaseException as exc:  # the user's code: whatever it raised (SystemExit too), say it
        frames = traceback.extract_tb(exc.__traceback__)
        at = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
        return f"{type(exc).__name__} while importing {where}{at}: {exc}", ""
    if variable:
        value = getattr(loaded, variable, None)
        if value is None:
            return (f"{where} defines no {variable!r}",
                    f"its agents: {', '.join(agents_in(loaded)) or 'none'}")
        if not isinstance(value, Agent):
            return f"{variable!r} in {where} is a {type(value).__name__}, not an Agent", ""
        if value.name != agent_name:
            return (f"{variable!r} in {where} is agent {value.name!r}, but the trace is a run of "
                    f"{agent_name!r}", f"name the variable that holds agent {agent_name!r}")
        return "", ""
    agents = agents_in(loaded)
    if agent_name not in agents:
        return (unknown_name(agent_name, where, agents, workflows_in(loaded)),
                "--agent FILE:VARIABLE names the variable that holds the agent")
    return "", ""


def _demo_source(agent_name: str) -> AgentSource | None:
    from lumos_core.loader import agents_in
    from lumos_studio.demo import agents as demo

    return AgentSource(module=DEMO_MODULE) if agent_name in agents_in(demo) else None


def _parse_agent(option: str) -> AgentSource:
    where, _, variable = option.partition(":")
    if variable and not variable.isidentifier():
        fail(f"{variable!r} is not a Python name", code=2)
    if where.endswith(".py") or os.sep in where or "/" in where:
        path = Path(where)
        if not path.exists():
            fail(f"{path} does not exist", "--agent takes the file that defines the agent",
                 code=2)
        return AgentSource(file=path, variable=variable or None)
    if not all(part.isidentifier() for part in where.split(".")):
        fail(f"{where!r} is neither a file nor a module name", code=2)
    return AgentSource(module=where, variable=variable or None)


def _test_source(
    output: Path, data: Path, agent_name: str, source: AgentSource,
    turns: list[tuple[str, str | None]], tools: list[str],
) -> str:
    if source.file is not None:
        relative = Path(os.path.relpath(source.file.resolve(), output.parent.resolve()))
        imports = ["from pathlib import Path", "",
                   "from lumos_core.loader import agents_in, load_module"]
        module = f"load_module(Path(__file__).parent / {relative.as_posix()!r})"
    else:
        imports = ["import importlib", "from pathlib import Path", "",
                   "from lumos_core.loader import agents_in"]
        module = f"importlib.import_module({source.module!r})"
    imports += ["from lumos_core.testing import replay"]
    if source.variable is not None:
        agent = f"getattr({module}, {source.variable!r})"
    else:
        agent = f"agents_in({module})[{agent_name!r}]"
    function = "test_" + (re.sub(r"\W+", "_", agent_name).strip("_").lower() or "agent")
    turn_lines = "".join(f"    ({message!r}, {answer!r}),\n" for message, answer in turns)
    return f'''"""A regression test written by ``lumos-studio fixture`` from a recorded run.

The model's and the tools' answers come from the trace beside this file; the agent is the one
the code defines now. A change in what it asks (a prompt, a tool's arguments, one more step)
fails with a TraceDivergence naming the step. Memory is fed as recorded.
"""

from __future__ import annotations

{chr(10).join(imports)}

TRACE = Path(__file__).with_name({data.name!r})

#: (user message, recorded answer) of each turn replayed.
RECORDED_TURNS = [
{turn_lines}]

#: Tools that run for real (their current code is tested); the others answer from the trace.
REAL_TOOLS: list[str] = {tools!r}


def {function}_answers_as_recorded() -> None:
    agent = {agent}
    results = replay(TRACE).run(agent, real_tools=REAL_TOOLS)
    assert [(r.new_messages[0].text, r.output) for r in results] == RECORDED_TURNS
'''
