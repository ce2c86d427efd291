"""``lumos-studio``: the terminal app, and headless commands on the same store.

Importing this module reads no store and loads no Textual, OpenTelemetry SDK or query code: each
command imports what it uses in its body, so ``--help`` and every command start quickly
(``tests/studio/test_startup.py`` keeps it so).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lumos_core.memory_limit import DEFAULT_MEMORY_MB, MEMORY_ENV
from lumos_studio.cli_eval import eval_
from lumos_studio.cli_fixture import fixture
from lumos_studio.cli_forward import (
    DEFAULT_QUEUE_MB,
    forward_options,
    forwarding,
    with_group_targets,
)
from lumos_studio.cli_run import run
from lumos_studio.cli_score import annotate, score
from lumos_studio.cli_support import (
    StoreTargetType,
    err,
    error,
    fail,
    info,
    note,
    open_reader,
    open_store,
    or_given_to_group,
    out,
    store_failure,
    warn,
)
from lumos_studio.cli_web import web
from lumos_studio.display import VALUE_LIMIT, safe_str, safe_text
from lumos_studio.new.command import new
from lumos_studio.process_settings import use_studio_process_settings
from lumos_studio.store import DEFAULT_DB, StoreError, StoreTarget, StoreUnusable, local_path

if TYPE_CHECKING:
    from lumos_studio.records import LogRecord, SpanRecord
    from lumos_studio.replay.loader import LoadedTrace
    from lumos_studio.sessions.base import Session
    from lumos_studio.store import Store, StoreReader

OTLP_PORT_HELP = "Port for the OTLP/HTTP receiver (the next free one if taken; 0: any)."


class _Commands(click.Group):
    """Every command: a store found unusable midway (damage past what opening checks, a
    replayed .db) ends in one line and exit 2, like one refused when opened."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreError as exc:
            store_failure(exc, hint=False)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):  # locked, disk: not the file's fault
                fail(f"cannot use the store {ctx.obj}: {exc}")
            store_failure(StoreUnusable(f"{ctx.obj} is damaged ({exc})"))
        except Exception as exc:
            if not type(exc).__module__.startswith("psycopg"):
                raise
            # The PostgreSQL store went away or refused a statement midway: one line.
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            fail(f"the PostgreSQL store {ctx.obj} failed: {first}",
                 "check that the server is up and reachable, then run the command again")


@click.group(
    cls=_Commands,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--db",
    type=StoreTargetType(),
    default=DEFAULT_DB,
    envvar="LUMOS_DB",
    show_default=True,
    help="The store the studio and every command read and write: a SQLite file, or a shared "
    "PostgreSQL database as postgresql://user@host:5432/database.",
)
@click.option("--otlp-port", default=4318, show_default=True, help=OTLP_PORT_HELP)
@forward_options
@click.option("--read-only", is_flag=True,
              help="Open the studio on --db to look only: no receiver, no agents, nothing "
                   "written (a store other processes write, a shared one).")
@click.pass_context
def cli(ctx: click.Context, db: StoreTarget, otlp_port: int, forward: tuple[str, ...],
        forward_queue_mb: int, read_only: bool) -> None:
    """Lumos Studio: a terminal console for developing AI agents.

    With no command, opens the studio on the bundled demo agents (scripted model, no API key).
    To work on your own agents: lumos-studio dev agents.py
    """
    ctx.obj = db
    if read_only:
        if ctx.invoked_subcommand is not None:
            fail(f"--read-only opens the studio alone, not {ctx.invoked_subcommand}",
                 "run lumos-studio --read-only (traces, show and export only read anyway)",
                 code=2)
        if forward:
            fail("a read-only studio receives nothing, so it forwards nothing",
                 "leave out --forward", code=2)
        _open_read_only_studio(db)
        return
    if ctx.invoked_subcommand is None:
        from lumos_studio.sessions.discovery import load_demo
        from lumos_studio.sessions.in_process import InProcessSession

        _open_studio(
            db,
            otlp_port,
            lambda store, endpoint: InProcessSession.recording(load_demo(), store.writer),
            forward, forward_queue_mb,
        )


@cli.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--agent", "agents", multiple=True, help="Only this agent (repeatable).")
@click.option("--otlp-port", default=4318, show_default=True, help=OTLP_PORT_HELP)
@click.option("--no-watch", is_flag=True, help="Do not reload when the source changes.")
@click.option("--memory-limit", type=click.IntRange(min=0), default=DEFAULT_MEMORY_MB,
              envvar=MEMORY_ENV, show_default=True, show_envvar=True,
              help="MB of memory the worker may use; a run past it is stopped (0: no limit).")
@forward_options
@click.pass_obj
def dev(
    db: StoreTarget, path: Path, agents: tuple[str, ...], otlp_port: int, no_watch: bool,
    memory_limit: int, forward: tuple[str, ...], forward_queue_mb: int,
) -> None:
    """Open the studio on the agents and workflows PATH (a file or a package) defines.

    The agents run in a worker process that restarts within a second when you save, keeping the
    conversation; errors in your code show in the studio instead of crashing it. A worker that
    dies (a crash, os._exit, a kill) is restarted and its run's open spans are closed as ERROR
    with the reason; processes your tools start are killed with it. Any program that exports
    OTLP to the printed endpoint shows up too.
    """
    from lumos_studio.sessions.base import workflow_store_beside
    from lumos_studio.sessions.worker import WorkerSession

    _open_studio(
        db,
        or_given_to_group(otlp_port, "otlp_port"),
        lambda store, endpoint: WorkerSession(
            path,
            endpoint,
            watch=not no_watch,
            only=agents,
            workflow_store=workflow_store_beside(store.path),
            record=store.writer.submit,
            memory_limit_mb=memory_limit,
        ),
        with_group_targets(forward), forward_queue_mb,
    )


def _open_studio(db: StoreTarget, otlp_port: int, make_session: Callable[[Store, str], Session],
                 forward: tuple[str, ...] = (), forward_queue_mb: int = DEFAULT_QUEUE_MB) -> None:
    """Store, forwarder, OTLP receiver, session, app: opened in order and closed in reverse."""
    from lumos_studio.app import StudioApp
    from lumos_studio.ingest.otlp_http import OtlpReceiver
    from lumos_studio.sessions.interrupted import close_interrupted

    with (forwarding(local_path(db), forward, forward_queue_mb) as forwarder,
          open_store(db) as store):
        close_interrupted(store.reader, store.writer)  # what a studio that died left running
        try:
            receiver = OtlpReceiver(
                store.writer, port=otlp_port,
                forward=forwarder,
            ).start()
        except OSError as exc:
            fail(
                f"cannot listen for OTLP on port {otlp_port}: {exc.strerror or exc}",
                "try --otlp-port 0 (any free port)",
            )
        try:
            StudioApp(
                store, make_session(store, receiver.endpoint), endpoint=receiver.endpoint,
                forwarder=forwarder,
            ).run()
        finally:
            receiver.stop()


def _open_read_only_studio(db: StoreTarget) -> None:
    """The studio on a reader of ``db`` alone: what others store shows as it is committed."""
    from lumos_studio.app import StudioApp
    from lumos_studio.ui.read_only import ReadOnlySession, ReadOnlyStore

    with ReadOnlyStore(open_reader(db), db) as store:
        StudioApp(store, ReadOnlySession()).run()


@cli.command()
@click.option("--limit", default=50, show_default=True, help="How many traces to list.")
@click.pass_obj
def traces(db: StoreTarget, limit: int) -> None:
    """List stored traces, newest first."""
    from rich.table import Table

    from lumos_studio.present import format_duration, format_time, status_text
    from lumos_studio.sessions.interrupted import close_interrupted, interrupted_spans

    reader = open_reader(db)
    if interrupted_spans(reader):  # a studio that died left runs open: they end here
        with open_store(db) as store:
            close_interrupted(store.reader, store.writer)
    summaries = reader.list_traces(limit=limit)
    if not summaries:
        info(f'no traces in {db} yet; try: lumos-studio run --demo weather "weather?"')
        return
    title = safe_text(f"{reader.count_traces()} traces in {db}", limit=None)
    table = Table(title=title, title_justify="left")
    table.add_column("trace id", no_wrap=True, min_width=32)
    table.add_column("started", no_wrap=True)
    table.add_column("root", no_wrap=True, overflow="ellipsis")
    table.add_column("agent", no_wrap=True, overflow="ellipsis")
    for column in ("duration", "spans", "tokens"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for t in summaries:
        tokens = (t.input_tokens or 0) + (t.output_tokens or 0)
        table.add_row(
            safe_text(t.trace_id),
            format_time(t.start_ns),
            safe_text(t.root_name),
            safe_text(t.agent_name or ""),
            format_duration(t.duration_ns),
            str(t.span_count),
            str(tokens or ""),
            status_text(t.status),
        )
    out.print(table)


@cli.command()
@click.argument("trace_id")
@click.pass_obj
def show(db: StoreTarget, trace_id: str) -> None:
    """Print the span tree of TRACE_ID (a unique prefix is enough)."""
    from lumos_core.telemetry import semconv as sc
    from lumos_studio.present import TraceTree, status_text

    reader = open_reader(db)
    full_id = _resolve(reader, trace_id)
    headers = reader.trace_headers(full_id)  # the tree needs no span decoded
    out.print(TraceTree(full_id, headers))
    workflows = [h.span_id for h in headers if h.operation == sc.OP_INVOKE_WORKFLOW]
    waiting = [s for s in reader.spans_by_id(full_id, workflows)
               if s.attributes.get(sc.LUMOS_WORKFLOW_STATUS) == "suspended"]
    if waiting and not any(h.running or h.failed for h in headers):
        steps = ", ".join(str(x) for x in waiting[0].attributes.get(
            sc.LUMOS_WORKFLOW_SUSPENDED_STEPS, ()))
        line = status_text("SUSPENDED")
        line.append(f"  waiting at: {steps}" if steps else "", style="")
        out.print(line)


@cli.command()
@click.option("--trace", "trace_ids", multiple=True, help="A trace id (or prefix); repeatable.")
@click.option("--all", "everything", is_flag=True, help="Export every stored trace.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The file to write (OTLP JSON lines; .gz compresses).",
)
@click.option(
    "--semconv",
    type=click.Choice(["as-recorded", "latest"]),
    default="as-recorded",
    show_default=True,
    help="latest: write any dialect (OpenInference, OpenLLMetry, AI SDK…) as current OTel GenAI "
    "attributes, keeping the others; as-recorded: the spans exactly as received.",
)
@click.pass_obj
def export(
    db: StoreTarget, trace_ids: tuple[str, ...], everything: bool, output: Path, semconv: str
) -> None:
    """Write traces (spans and their logs) as OTLP JSON lines, the Collector's file format."""
    from lumos_studio.replay.save import save_traces

    if bool(trace_ids) == everything:
        fail("choose the traces: --trace ID (repeatable) or --all", code=2)
    reader = open_reader(db)
    ids = reader.trace_ids() if everything else [_resolve(reader, t) for t in trace_ids]
    try:
        saved = save_traces(reader, ids, output, semconv=semconv)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    info(f"wrote {saved.traces} trace(s), {saved.spans} spans, {saved.logs} logs to {output}")


@cli.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_obj
def import_(db: StoreTarget, files: tuple[Path, ...]) -> None:
    """Load OTLP JSON lines files (ours or the Collector's) into the store.

    Importing the same file twice stores each span and log record once: the second time reports
    them as already in the store. Exits 1 if a file is not OTLP JSON lines, is cut short, or
    could not be stored.
    """
    from lumos_studio.importer import ImportFailed, import_file, not_otlp_reason

    failed = False
    with open_store(db) as store:
        for path in files:
            try:
                done = import_file(store, path)
            except OSError as exc:
                fail(f"cannot read {path}: {exc.strerror or exc}")
            except ImportFailed as exc:
                fail(str(exc), "retry once nothing else holds the store (or the disk has room)")
            if not done.records and done.problems:
                error(f"{path} is not OTLP JSON lines: {not_otlp_reason(done.problems[0])}")
                failed = True
                continue
            warnings = [p for p in done.problems if p is not done.stopped]
            for line, problem in warnings[:10]:
                warn(f"{path}:{line}: {problem}")
            if len(warnings) > 10:
                warn(f"{len(warnings) - 10} more problem lines in {path}")
            if not done.records:
                error(f"{path} holds no spans or log records")
                failed = True
                continue
            info(done.summary())
            if done.stopped is not None:
                error(f"{path}: {done.stopped.message}; the lines after it were not "
                     "imported")
                failed = True
    if failed:
        sys.exit(1)



def _resolve(reader: StoreReader, prefix: str) -> str:
    matches = reader.resolve_trace_id(prefix)
    if not matches:
        fail(
            f"no trace starting with {prefix!r} in {getattr(reader, 'target', reader.path)}",
            "list them: lumos-studio traces"
        )
    if len(matches) > 1:
        fail(f"{prefix!r} matches several traces ({', '.join(matches)}); give more characters")
    return matches[0]


TOKEN_ENV = "LUMOS_OTLP_TOKEN"
SERVE_HELP = f"""\
Receive OTLP/HTTP traces and logs into the store until Ctrl-C (headless: CI, other hosts).

\b
Point exporters at the printed endpoint:
  OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:PORT
With a token (--token or {TOKEN_ENV}), every request must carry it:
  OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>
Listening on anything but loopback (--host 0.0.0.0) requires a token.

Idle connections close after 10 s, and at most --max-connections are served at once (beyond:
503 and Retry-After). A full disk is answered 507, a read-only store 503, both saying so.
"""


@cli.command(help=SERVE_HELP)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; other than loopback, a token is required.")
@click.option("--otlp-port", "port", default=4318, show_default=True, help=OTLP_PORT_HELP)
@click.option("--port", "port_alias", type=int, default=None, hidden=True)  # its older name
@click.option("--max-body", default=32 << 20, show_default=True, help="Largest body, in bytes.")
@click.option("--max-connections", default=64, show_default=True, type=click.IntRange(min=1),
              help="Connections served at once; more are answered 503 with Retry-After.")
@click.option("--token", envvar=TOKEN_ENV, show_envvar=True, default=None,
              help="Require Authorization: Bearer TOKEN on every request.")
@forward_options
@click.pass_obj
def serve(
    db: StoreTarget, host: str, port: int, port_alias: int | None, max_body: int,
    max_connections: int, token: str | None, forward: tuple[str, ...], forward_queue_mb: int,
) -> None:
    from lumos_studio.ingest.otlp_http import (
        OtlpReceiver,
        ReceiverStats,
        TokenRequired,
        is_loopback,
    )

    port = or_given_to_group(port, "port", "otlp_port") if port_alias is None else port_alias
    exposed = not is_loopback(host)
    if exposed and not token:  # before the store is opened or anything is bound
        fail(
            str(TokenRequired(host)),
            f"pass --token SECRET (or set {TOKEN_ENV}); exporters then send "
            "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20SECRET",
            code=2,
        )
    live, shown = sys.stderr.isatty(), [""]
    problem_shown: list[object] = [None]

    def report(stats: ReceiverStats) -> None:
        problem = receiver.writer.storage_error
        if problem != problem_shown[0]:
            problem_shown[0] = problem
            if live:
                err.print()
            if problem is not None:
                error(problem.message)
            else:
                info("the store takes writes again")
        line = receiver.status_line()
        if forwarder is not None:
            line = f"{line} {safe_str(forwarder.status_line(), VALUE_LIMIT)}"
        if line != shown[0]:
            shown[0] = line
            click.echo("\r" + line if live else line, err=True, nl=not live)

    forward = with_group_targets(forward)
    with (forwarding(local_path(db), forward, forward_queue_mb) as forwarder,
          open_store(db) as store):
        store.writer.serve_without_ui()  # no UI here to leave the GIL to between steps
        try:
            receiver = OtlpReceiver(
                store.writer, host=host, port=port, max_body=max_body,
                max_connections=max_connections, token=token,
                forward=forwarder,
            )
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                 "try --otlp-port 0 (any free port)")
        out.print(safe_text(f"receiving OTLP/HTTP on {receiver.endpoint} into {db}", limit=None))
        out.print(f"OTEL_EXPORTER_OTLP_ENDPOINT={receiver.endpoint}", markup=False)
        if token:
            out.print("OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>", markup=False)
        sys.stdout.flush()
        if exposed:
            warn(f"listening on {host}: other machines can reach it; only requests with the "
                 "token are taken")
        receiver.serve_forever(report)
        store.writer.flush()
        forwarded = f" {forwarder.status_line()}" if forwarder is not None else ""
    err.print(("\n" if live else "") + f"stopped; stored {receiver.stats.line()}",
              safe_text(forwarded, limit=VALUE_LIMIT))


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def replay(path: Path) -> None:
    """Play a saved trace back on its recorded clock.

    PATH is OTLP JSON lines (our export or the OpenTelemetry Collector's file exporter), a
    .jsonl.gz, or a studio .db. It is read into a temporary store: your --db is not touched.
    Keys: space play/pause, . and , step, + and - speed, [ and ] scrub.
    """
    from lumos_studio.replay_app import ReplayApp

    loaded = _load_saved(path)
    ReplayApp(loaded).run()


@cli.command()
@click.argument("before")
@click.argument("after")
@click.option("--summary", "summary_only", is_flag=True,
              help="Print the summary and the changed spans instead of opening the viewer.")
@click.pass_obj
def compare(db: StoreTarget, before: str, after: str, summary_only: bool) -> None:
    """Compare two runs, span by span: BEFORE and AFTER are saved trace files or trace ids.

    \b
    Examples:
      lumos-studio compare traces/weather-v1.jsonl traces/weather-v2.jsonl
      lumos-studio compare 1f3a 9c2e        # two traces of --db, by id prefix
    """
    from textual.app import App

    from lumos_studio.ui.screens.compare import CompareScreen

    (left, left_logs), (right, right_logs) = _run_records(db, before), _run_records(db, after)
    if summary_only:
        _print_comparison(left, right, left_logs, right_logs)
        return

    class CompareApp(App[None]):
        TITLE = "Lumos Studio — compare"

        def on_mount(self) -> None:
            self.push_screen(
                CompareScreen(left, right, left_title=before, right_title=after,
                              left_logs=left_logs, right_logs=right_logs),
                lambda _: self.exit(),
            )

    CompareApp().run()


def _print_comparison(left: list[SpanRecord], right: list[SpanRecord],
                      left_logs: list[LogRecord], right_logs: list[LogRecord]) -> None:
    from rich.text import Text

    from lumos_studio.replay.compare import compare_runs

    comparison = compare_runs(left, right, left_logs, right_logs)
    out.print(safe_text(comparison.summary, limit=None))
    for row in comparison.rows:
        if row.change == "same":
            continue
        name = safe_str((row.left or row.right).name)  # type: ignore[union-attr]
        fields = ": " + ", ".join(safe_str(d.field) for d in row.diffs) if row.diffs else ""
        # under the summary line, one step in per level of the tree
        out.print(Text(f"{'  ' * (row.depth + 1)}{row.change:8} {name}{fields}"))


def _load_saved(path: Path) -> LoadedTrace:
    """Load a saved trace with a progress bar; problems are listed, valid records kept."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from lumos_studio.replay.loader import ReplayError, load_trace

    total = path.stat().st_size
    with Progress(
        TextColumn("loading {task.description}", markup=False), BarColumn(), DownloadColumn(),
        console=err, transient=True, disable=total < 5_000_000,
    ) as progress:
        task = progress.add_task(safe_str(path.name), total=total)
        try:
            loaded = load_trace(
                path, on_progress=lambda p: progress.update(task, completed=p.bytes_read)
            )
        except ReplayError as exc:
            if isinstance(exc, StoreUnusable):
                store_failure(exc, hint=False)
            fail(str(exc))
    for problem in loaded.problems[:10]:
        warn(str(problem))
    if loaded.problem_count > 10:
        warn(f"{loaded.problem_count - 10} more problems in {path}")
    if not loaded.spans and not loaded.logs and not loaded.read_only:
        loaded.close()
        fail(
            f"nothing to replay in {path}",
            "expected OTLP JSON lines, a .jsonl.gz or a studio .db",
        )
    return loaded


# A run's newest log records read for a comparison (earlier GenAI forms carry messages there).
RUN_LOGS = 10_000


def _run_records(db: StoreTarget, source: str) -> tuple[list[SpanRecord], list[LogRecord]]:
    """The spans and log records of one run: the first trace of a saved file, or a trace of the
    store by id."""
    path = Path(source)
    if path.is_file():
        with _load_saved(path) as loaded:
            ids = loaded.trace_ids
            if not ids:
                fail(f"{path} holds no trace")
            if len(ids) > 1:
                note(f"{path} holds {len(ids)} traces; comparing the first")
            return (loaded.reader.trace_spans(ids[0]),
                    loaded.reader.logs(trace_id=ids[0], limit=RUN_LOGS))
    reader = open_reader(db)
    trace_id = _resolve(reader, source)
    return reader.trace_spans(trace_id), reader.logs(trace_id=trace_id, limit=RUN_LOGS)


cli.add_command(run)
cli.add_command(fixture)
cli.add_command(new)
cli.add_command(eval_)
cli.add_command(score)
cli.add_command(annotate)
cli.add_command(web)


def main() -> None:
    """Console-script entry point."""
    use_studio_process_settings()
    cli(prog_name="lumos-studio")
