"""``lumos-studio traces``, ``show``, ``export`` and ``import``: the store's traces listed, one
printed as a tree, traces written to OTLP JSON lines and such files loaded in.

Each command imports what it uses in its body, as ``cli.py`` asks of every command.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from pathlib import Path
from typing import BinaryIO

import click

from lumos_studio.cli_support import (
    err,
    error,
    fail,
    file_progress,
    info,
    open_reader,
    open_store,
    out,
    resolve_trace,
    warn,
)
from lumos_studio.display import safe_text
from lumos_studio.store import PostgresUrl, StoreTarget

# The most ``traces`` lists at once: more than a terminal shows, and within SQLite's integers.
MAX_LISTED = 1_000_000


@click.command()
@click.option("--limit", type=click.IntRange(1, MAX_LISTED), default=50, show_default=True,
              help="How many traces to list.")
@click.pass_obj
def traces(db: StoreTarget, limit: int) -> None:
    """List stored traces, newest first."""
    from rich.table import Table

    from lumos_studio.present import format_duration, format_time, status_text
    from lumos_studio.sessions.interrupted import close_interrupted, interrupted_spans

    reader = open_reader(db)
    # A studio that died left runs open: they end here, in a store this user can write.
    if _writable(db) and interrupted_spans(reader):
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


def _writable(db: StoreTarget) -> bool:
    """Whether this user may write ``db``: a store file in a read-only place is only read."""
    if isinstance(db, PostgresUrl):
        return True
    return os.access(db, os.W_OK) and os.access(db.parent, os.W_OK)


@click.command()
@click.argument("trace_id")
@click.pass_obj
def show(db: StoreTarget, trace_id: str) -> None:
    """Print the span tree of TRACE_ID (a unique prefix is enough)."""
    from lumos_core.telemetry import semconv as sc
    from lumos_studio.present import TraceTree, status_text

    reader = open_reader(db)
    full_id = resolve_trace(reader, trace_id)
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


def _named(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value:
        raise click.BadParameter("an empty name is no file: give a file name, or - for "
                                 "standard output", ctx, param)
    return value


@click.command()
@click.option("--trace", "trace_ids", multiple=True, help="A trace id (or prefix); repeatable.")
@click.option("--all", "everything", is_flag=True, help="Export every stored trace.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    callback=_named,
    required=True,
    help="The file to write (OTLP JSON lines; .gz compresses), or - for standard output.",
)
@click.option("--force", is_flag=True,
              help="Replace the output file if it exists (a symlink's target; never the store).")
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
    db: StoreTarget, trace_ids: tuple[str, ...], everything: bool, output: str, force: bool,
    semconv: str,
) -> None:
    """Write traces (spans and their logs) as OTLP JSON lines, the Collector's file format."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from lumos_studio.replay.save import SaveProgress, save_traces

    if bool(trace_ids) == everything:
        fail("choose the traces: --trace ID (repeatable) or --all", code=2)
    path = Path(output)
    to = "standard output" if output == "-" else output
    in_place = output != "-" and _written_in_place(db, path, force)
    reader = open_reader(db)
    ids = reader.trace_ids() if everything else [resolve_trace(reader, t) for t in trace_ids]
    with Progress(TextColumn("{task.description} spans"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("reading", total=None)

        def told(step: SaveProgress) -> None:
            progress.update(task, description="writing" if step.writing else "reading",
                            completed=step.spans, total=step.total)

        try:
            with contextlib.ExitStack() as opened:
                stream: BinaryIO | None = None
                if output == "-":
                    stream = sys.stdout.buffer
                elif in_place:  # appended to: a redirection's file keeps what came before
                    stream = opened.enter_context(open(path, "ab"))
                saved = save_traces(reader, ids, path, semconv=semconv, on_progress=told,
                                    stream=stream)
        except OSError as exc:
            fail(f"cannot write {to}: {exc.strerror or exc}")
    info(f"wrote {saved.traces:,} trace(s), {saved.spans:,} spans, {saved.logs:,} logs to {to}")


# The files SQLite keeps a store in: the database, its write-ahead log, its WAL index and the
# rollback journal (a store being made or migrated).
_STORE_FILES = ("", "-wal", "-shm", "-journal")
# Names of a descriptor this process holds, made by the shell's redirection (> out.jsonl):
# written into as they are, whatever file they reach.
_OPEN_DESCRIPTOR = re.compile(r"/dev/(stdout|stderr|fd/\d+)|/proc/(self|\d+)/fd/\d+")


def _written_in_place(db: StoreTarget, path: Path, force: bool) -> bool:
    """Whether ``export`` writes into ``path`` as it is (a pipe, a device, a descriptor's name)
    rather than replacing it with a new file. Fails for the store or one of its files, for an
    existing file without ``--force``, and for a path that cannot be looked at."""
    suffix = _store_file(db, path)
    if suffix is not None:
        what = f"the store's {suffix} file ({db}{suffix})" if suffix else f"the store itself ({db})"
        fail(f"{path} is {what}: exporting into it would destroy the store",
             "give -o another file")
    try:
        mode = path.stat().st_mode  # a symlink's target
    except FileNotFoundError:
        return False
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    if not stat.S_ISREG(mode) or _OPEN_DESCRIPTOR.fullmatch(str(path.absolute())):
        return True
    if not force:
        fail(f"{path} already exists", "pass --force to replace it, or give -o another file")
    return False


def _store_file(db: StoreTarget, path: Path) -> str | None:
    """Which of the SQLite store ``db``'s files ``path`` names (its suffix; "" the database), by
    name or as the same file (a symlink, a hard link); None for none of them."""
    if isinstance(db, PostgresUrl):
        return None
    names = (path.absolute(), Path(os.path.realpath(path)))  # realpath: a symlink loop too
    for suffix in _STORE_FILES:
        files = {Path(f"{base}{suffix}") for base in (db.absolute(), os.path.realpath(db))}
        if any(name in files for name in names) or any(_same_file(path, f) for f in files):
            return suffix
    return None


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:  # one of them does not exist
        return False


def _size(path: Path) -> int:
    """A file's size for the progress bar (shown from ``PROGRESS_FROM_BYTES`` on); 0 for what
    has none (a pipe, a missing file: the import says why)."""
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


@click.command(name="import")
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
                with file_progress("importing", path, _size(path)) as advance:
                    done = import_file(store, path, on_progress=advance)
            except OSError as exc:  # that file alone: the others are imported still
                error(f"cannot read {path}: {exc.strerror or exc}")
                failed = True
                continue
            except ImportFailed as exc:
                fail(str(exc), exc.hint)
            if not done.records and done.stopped is not None:
                error(f"{path}: {done.stopped.message}; nothing in it was imported")
                failed = True
                continue
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
                error(f"{path}: {done.stopped.message}; the records from that line on were "
                      "not imported")
                failed = True
    if failed:
        sys.exit(1)

