"""``lumos-studio``: the terminal app, and headless commands on the same store.

Importing this module reads no store and loads no Textual, OpenTelemetry SDK or query code: each
command imports what it uses in its body, so ``--help`` and every command start quickly
(``tests/studio/test_startup.py`` keeps it so). The group and the studio's own commands are here;
the others live in the ``cli_*.py`` modules beside it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lumos_core.memory_limit import DEFAULT_MEMORY_MB, MEMORY_ENV
from lumos_studio.cli_dataset import dataset
from lumos_studio.cli_eval import eval_
from lumos_studio.cli_fixture import fixture
from lumos_studio.cli_forward import (
    DEFAULT_QUEUE_MB,
    forward_options,
    forwarding,
    with_group_targets,
)
from lumos_studio.cli_replay import compare, replay
from lumos_studio.cli_run import run
from lumos_studio.cli_score import annotate, score
from lumos_studio.cli_serve import serve
from lumos_studio.cli_support import (
    OTLP_PORT,
    OTLP_PORT_HELP,
    StoreTargetType,
    fail,
    open_reader,
    open_store,
    or_given_to_group,
    store_failure,
)
from lumos_studio.cli_traces import export, import_, show, traces
from lumos_studio.cli_web import web
from lumos_studio.new.command import new
from lumos_studio.process_settings import (
    hold_collections,
    settle_start_up,
    use_studio_process_settings,
)
from lumos_studio.store import DEFAULT_DB, StoreError, StoreTarget, StoreUnusable, local_path

if TYPE_CHECKING:
    from lumos_studio.sessions.base import Session
    from lumos_studio.store import Store


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
@click.option("--otlp-port", type=OTLP_PORT, default=4318, show_default=True,
              help=OTLP_PORT_HELP)
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
    if ctx.invoked_subcommand not in (None, "dev"):  # the studio settles after its first frame
        settle_start_up()
    if read_only:
        if ctx.invoked_subcommand == "web":
            fail("--read-only opens the studio alone, not web",
                 "for read-only visitors of web, give them a token of their own: lumos-studio "
                 "web --read-token R", code=2)
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
        from lumos_studio.sessions.demo import demo_session

        _open_studio(db, otlp_port, lambda store, endpoint: demo_session(store.writer),
                     forward, forward_queue_mb)


@cli.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--agent", "agents", multiple=True,
              help="Only this agent or workflow (repeatable). A name the file does not define "
                   "is said in the studio, with the names it does.")
@click.option("--otlp-port", type=OTLP_PORT, default=4318, show_default=True,
              help=OTLP_PORT_HELP)
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
            explain_empty=True,
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


cli.add_command(traces)
cli.add_command(show)
cli.add_command(export)
cli.add_command(import_)
cli.add_command(serve)
cli.add_command(replay)
cli.add_command(compare)
cli.add_command(run)
cli.add_command(fixture)
cli.add_command(new)
cli.add_command(eval_)
cli.add_command(score)
cli.add_command(annotate)
cli.add_command(dataset)
cli.add_command(web)


def main() -> None:
    """Console-script entry point."""
    use_studio_process_settings()
    hold_collections()
    cli(prog_name="lumos-studio")
