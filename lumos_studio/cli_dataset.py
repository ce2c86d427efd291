"""``lumos-studio dataset``: stored runs appended to a dataset file as cases, what ``D`` in the
trace list does, for a script or a CI job (last night's runs of a shared store as cases)."""

from __future__ import annotations

from pathlib import Path

import click

from lumos_studio.cli_score import LAST_MOST
from lumos_studio.cli_support import fail, info, note, open_reader, resolve_trace


@click.command()
@click.argument("trace_ids", nargs=-1, metavar="[TRACE]...")
@click.option("--last", type=click.IntRange(min=1, max=LAST_MOST),
              help="The newest N traces instead.")
@click.option("--to", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="The dataset file to append to (default: datasets/<agent>.jsonl, made if "
                   "missing).")
@click.pass_obj
def dataset(db: Path, trace_ids: tuple[str, ...], last: int | None, target: Path | None) -> None:
    """Add stored runs to a dataset file as cases, for lumos-studio eval.

    Each run becomes one JSON line: its last user message as input, its answer as expected,
    the tools it called as metadata.expected_tools, its trace id. Runs with no user message,
    and experiments (their cases are their dataset's already), are left out and named.
    Nothing is written when the file is no dataset or already holds one of the cases' ids.

    \b
    Examples:
      lumos-studio dataset --last 5
      lumos-studio dataset 1f3a 9c2e --to datasets/regressions.jsonl
    """
    from lumos_core.evals import DatasetError
    from lumos_studio.dataset_cases import append_cases, dataset_path, stored_run_cases

    if bool(trace_ids) == bool(last):
        fail("choose the traces: TRACE ids (prefixes) or --last N", code=2)
    reader = open_reader(db)
    ids = ([t.trace_id for t in reader.list_traces(limit=last or 0)] if last
           else [resolve_trace(reader, t, code=2) for t in trace_ids])
    runs, left_out = stored_run_cases(reader, ids)
    for left in left_out:
        note(f"left out {left.trace_id}: {left.reason}")
    if not runs:
        fail("none of the runs has a user message to make a case's input of",
             "a case needs the question the run answered: pick agent runs, not experiments "
             "(lumos-studio traces)")
    path = target or dataset_path(runs[0].name)
    try:
        total = append_cases(path, [run.case for run in runs])
    except DatasetError as exc:
        fail(f"{exc}; nothing was written", "pick another file with --to, or fix that one")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}", "pick another file with --to")
    info(f"added {len(runs)} case(s) to {path} ({total} in all); run them: lumos-studio eval "
         f"FILE {path} --agent {runs[0].name}")
