"""``lumos-studio replay`` and ``compare``: saved runs (trace files, or the store's traces for
``compare``) played back on their clock or compared span by span.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from lumos_studio.cli_support import (
    fail,
    file_progress,
    note,
    open_reader,
    out,
    resolve_trace,
    store_failure,
    warn,
)
from lumos_studio.display import safe_str, safe_text
from lumos_studio.store import StoreTarget, StoreUnusable

if TYPE_CHECKING:
    from lumos_studio.records import LogRecord, SpanRecord
    from lumos_studio.replay.loader import LoadedTrace


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def replay(path: Path) -> None:
    """Play a saved trace back on its recorded clock.

    PATH is OTLP JSON lines (our export or the OpenTelemetry Collector's file exporter), a
    .jsonl.gz, or a studio .db. It is read into a temporary store: your --db is not touched.
    A big file's start plays at once while the rest is read (the header counts it); saving
    or comparing its runs waits until it is read. Keys: space play/pause, . and , step, + and
    - speed, [ and ] scrub.
    """
    from lumos_studio.replay.loader import FIRST_RECORDS
    from lumos_studio.replay_app import ReplayApp

    # Its start only: the replay draws it at once and reads the rest meanwhile.
    loaded = _load_saved(path, first=FIRST_RECORDS)
    ReplayApp(loaded).run()


def _named_run(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """BEFORE and AFTER name something: ``''`` is no file (``Path('')`` would be ``.``)."""
    if not value.strip():
        raise click.BadParameter("empty: give a trace file or a trace id", ctx, param)
    return value


@click.command()
@click.argument("before", callback=_named_run)
@click.argument("after", callback=_named_run)
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
    from lumos_studio.compare_app import CompareApp

    (left, left_logs), (right, right_logs) = _run_records(db, before), _run_records(db, after)
    if summary_only:
        _print_comparison(left, right, left_logs, right_logs)
        return
    CompareApp(left, right, left_title=before, right_title=after, left_logs=left_logs,
               right_logs=right_logs).run()


def _print_comparison(left: list[SpanRecord], right: list[SpanRecord],
                      left_logs: list[LogRecord], right_logs: list[LogRecord]) -> None:
    from rich.text import Text

    from lumos_studio.replay.compare import compare_runs

    comparison = compare_runs(left, right, left_logs, right_logs)
    out.print(safe_text(comparison.summary, limit=None))
    lines: list[str] = []
    for row in comparison.rows:
        if row.change == "same":
            continue
        name = safe_str((row.left or row.right).name)  # type: ignore[union-attr]
        fields = ": " + ", ".join(safe_str(d.field) for d in row.diffs) if row.diffs else ""
        # under the summary line, one step in per level of the tree
        lines.append(f"{'  ' * (row.depth + 1)}{row.change:8} {name}{fields}")
    # Printed a thousand lines at a time: a print a line cost ~50 µs (90,000 changed spans of
    # a 100k-span run took 4.5 s), one Text of them all as much; a thousand at once, ~14 µs.
    for start in range(0, len(lines), _LINES_A_PRINT):
        out.print(Text("\n".join(lines[start:start + _LINES_A_PRINT])))


_LINES_A_PRINT = 1_000


def _load_saved(path: Path, first: int | None = None) -> LoadedTrace:
    """Load a saved trace (its ``first`` records only, if given) with a progress bar; problems
    are listed, valid records kept."""
    from lumos_studio.replay.loader import ReplayError, load_trace

    with file_progress("loading", path, path.stat().st_size) as advance:
        try:
            loaded = load_trace(path, first=first, on_progress=lambda p: advance(p.bytes_read))
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


def _run_records(db: StoreTarget, source: str) -> tuple[list[SpanRecord], list[LogRecord]]:
    """The spans and log records of one run: the first trace of a saved file, or a trace of the
    store by id."""
    from lumos_studio.replay.loader import is_store_file
    from lumos_studio.replay.saved_run import RUN_LOGS

    path = Path(source)
    if path.is_dir():
        fail(f"{path} is a directory", "give a saved trace file (.jsonl, .jsonl.gz, .db) or a "
             "trace id")
    if not path.exists() and (path.suffix in _SAVED_SUFFIXES or "/" in source):
        fail(f"no such file: {path}", "give a saved trace file or a trace id of --db")
    if path.is_file():
        if not is_store_file(path):
            return _read_run(path)
        with _load_saved(path) as loaded:
            ids = loaded.trace_ids
            if not ids:
                fail(f"{path} holds no trace")
            if len(ids) > 1:
                note(f"{path} holds {len(ids)} traces; comparing the first")
            return (loaded.reader.trace_spans(ids[0]),
                    loaded.reader.logs(trace_id=ids[0], limit=RUN_LOGS))
    reader = open_reader(db)
    trace_id = resolve_trace(reader, source)
    return reader.trace_spans(trace_id), reader.logs(trace_id=trace_id, limit=RUN_LOGS)


# What names a saved trace file rather than a trace id (ids are hex: none has a dot or a slash).
_SAVED_SUFFIXES = frozenset({".jsonl", ".json", ".gz", ".db"})


def _read_run(path: Path) -> tuple[list[SpanRecord], list[LogRecord]]:
    """The first run of a saved OTLP JSON lines file, read from it with a progress bar; its
    problems are listed, its valid records kept."""
    from lumos_studio.replay.saved_run import read_saved_run

    with file_progress("reading", path, path.stat().st_size) as advance:
        try:
            run = read_saved_run(path, advance)
        except OSError as exc:
            fail(f"cannot read {path}: {exc.strerror or exc}")
    for problem in run.problems[:10]:
        warn(f"{path}:{problem.line_number}: {problem.message}")
    if len(run.problems) > 10:
        warn(f"{len(run.problems) - 10} more problems in {path}")
    if not run.spans:
        fail(f"{path} holds no trace",
             "expected OTLP JSON lines with spans, a .jsonl.gz or a studio .db")
    if run.traces > 1:
        note(f"{path} holds {run.traces} traces; comparing the first")
    return run.spans, run.logs
