"""``lumos-studio eval``: run an experiment from the shell, print its scores, compare it with the
previous one on the same dataset, and exit non-zero under a threshold (ready for CI).

The FILE is imported in this process, as pytest imports tests (``run`` and ``dev`` box user
code in a worker; an experiment's spans nest under its case spans, which needs one process).
Spans and scores are recorded in the store like any run, so the studio shows the experiment.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import click
from rich.text import Text

from lumos_studio.cli_support import err, fail, info, note, open_store, out, unstored
from lumos_studio.display import VALUE_LIMIT, safe_str, safe_text

if TYPE_CHECKING:  # what a run of the command uses is imported by the command
    from lumos_studio.experiments import Change, ExperimentComparison
    from lumos_studio.semantics.experiment import ExperimentView

DEMO_DATASETS = Path(__file__).resolve().parent / "demo" / "datasets"
ALL = "*"


@click.command(name="eval")
@click.option("--demo", is_flag=True, help="Use the bundled demo agents instead of a FILE.")
@click.option("--agent", "task_name", help="The agent or workflow to run (default: the only one).")
@click.option("--name", help="The experiment's name (default: the dataset's).")
@click.option("--threshold", "thresholds", multiple=True, metavar="[SCORER=]RATE",
              help="Fail (exit 1) when a scorer's pass rate is under RATE (0-1); without "
                   "SCORER= for every scorer. Repeatable.")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(min=1),
              help="Cases run at once.")
@click.option("--repeats", default=1, show_default=True, type=click.IntRange(min=1),
              help="Runs of each case.")
@click.option("--seed", type=int, help="Shuffle the start order; sent to models as their seed.")
@click.option("--cases", "show_cases", is_flag=True, help="Print every case's scores too.")
@click.argument("args", nargs=-1, required=True, metavar="[FILE] DATASET")
@click.pass_obj
def eval_(db: Path, demo: bool, task_name: str | None, name: str | None,
          thresholds: tuple[str, ...], concurrency: int, repeats: int, seed: int | None,
          show_cases: bool, args: tuple[str, ...]) -> None:
    """Run AGENT on every case of DATASET, score the answers and record the experiment.

    DATASET is a JSONL file (one {"id", "input", "expected", "metadata"} object a line) or the
    name of a Dataset in FILE. Scorers are the Scorer objects FILE defines (bound to a name or
    held in a list or tuple); without any, Contains (when cases have an expected output) and
    ToolTrajectory (when they list metadata.expected_tools).

    \b
    Examples:
      lumos-studio eval --demo weather --agent weather
      lumos-studio eval agents.py evals/weather.jsonl --agent weather --threshold 0.9
      lumos-studio eval agents.py weather_cases --threshold contains=1 --cases
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from lumos_core.evals import Experiment
    from lumos_studio.cli_run import _recording_into
    from lumos_studio.experiments import compare_experiments, load_experiment, previous_experiment

    expected = 1 if demo else 2
    if len(args) != expected:
        usage = "--demo DATASET" if demo else "FILE DATASET (or --demo DATASET)"
        fail(f"eval takes {usage}; got {len(args)} argument(s)", code=2)
    limits = _thresholds(thresholds)
    module = _demo_module() if demo else _load(Path(args[0]))
    dataset = _dataset(module, args[-1], demo)
    task = _task(module, task_name)
    scorers = _scorers(module, dataset)
    known = {s.name for s in scorers}
    unknown = sorted(set(limits) - known - {ALL})
    if unknown:
        fail(f"--threshold names no scorer {', '.join(unknown)} (scorers: "
             f"{', '.join(sorted(known))})", code=2)
    experiment = Experiment(dataset, task, scorers, name=name, concurrency=concurrency,
                            repeats=repeats, seed=seed)
    with open_store(db) as store:
        providers = _recording_into(store)
        experiment.tracer_provider = providers["tracer_provider"]
        experiment.logger_provider = providers["logger_provider"]
        total = len(dataset) * repeats
        with Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True,
                      disable=not err.is_terminal) as progress:
            bar = progress.add_task(safe_str(f"{experiment.name} · {experiment.task_label}"),
                                    total=total)
            result = experiment.run_sync(on_case=lambda _: progress.advance(bar))
        problem = unstored(store)
        if problem is not None:
            fail(*problem)
        view = load_experiment(store.reader, result.trace_id or "")
        if view is None:
            fail("the experiment's spans did not reach the store", "check the disk and --db")
        previous = previous_experiment(store.reader, view.header)
        before = load_experiment(store.reader, previous.trace_id) if previous else None
    comparison = compare_experiments(before, view) if before is not None else None
    _print_scorers(view, comparison)
    if show_cases:
        _print_cases(view, comparison)
    if comparison is not None:
        _print_comparison(comparison)
    else:
        note(f"no earlier experiment on dataset {dataset.name!r} to compare with")
    note(f"experiment {result.experiment_id} · trace {result.trace_id} recorded in {db} · "
         f"{total} case runs in {result.duration_s:.2f} s")
    below = _below(view, limits)
    for line in below:
        err.print(Text.assemble(("threshold:", "bold red"), " ", safe_text(line, limit=None)))
    if below:
        sys.exit(1)


def _thresholds(given: tuple[str, ...]) -> dict[str, float]:
    limits: dict[str, float] = {}
    for item in given:
        scorer, equals, rate = item.rpartition("=")
        if equals and not scorer.strip():
            fail(f"--threshold {item!r} names no scorer before '=': write SCORER=RATE for one "
                 "scorer (contains=0.8) or RATE for every scorer (0.8)", code=2)
        try:
            value = float(rate)
        except ValueError:
            value = math.nan
        if not 0 <= value <= 1:
            fail(f"--threshold {item!r}: write SCORER=RATE or RATE, a pass rate from 0 to 1 "
                 "(contains=0.8)", code=2)
        limits[scorer.strip() or ALL] = value
    return limits


def _below(view: ExperimentView, limits: dict[str, float]) -> list[str]:
    lines = []
    for stats in view.scorers:
        least = limits.get(stats.name, limits.get(ALL))
        if least is not None and stats.pass_rate < least:
            lines.append(f"{stats.name}: pass rate {stats.pass_rate:.0%} is under {least:.0%}")
    return lines


def _demo_module() -> ModuleType:
    import importlib

    return importlib.import_module("lumos_studio.demo.agents")


def _load(path: Path) -> ModuleType:
    from lumos_studio.cli_user_module import load_user_module

    if not path.exists():
        fail(f"no such file: {path}", code=2)
    return load_user_module(path, "agents")


def _dataset(module: ModuleType, given: str, demo: bool) -> Any:
    from lumos_core.evals import Dataset, DatasetError

    found = {v.name: v for v in vars(module).values() if isinstance(v, Dataset)}
    attribute = getattr(module, given, None)
    if isinstance(attribute, Dataset):
        return attribute
    if given in found:
        return found[given]
    path = Path(given)
    if demo and not path.is_file():  # (a folder of that name, docs/ at the repo's root: not it)
        path = DEMO_DATASETS / f"{given}.jsonl"
        if not path.is_file():
            demo_names = sorted({*found, *(p.stem for p in DEMO_DATASETS.glob("*.jsonl"))})
            fail(f"no demo dataset {given!r}; the demo has: {', '.join(demo_names)}",
                 "eval --demo DATASET takes one of those (or a .jsonl file of cases)", code=2)
    if not path.is_file():
        names = ", ".join(sorted(found)) or "none"
        fail(f"no dataset {given!r}: not a file, nor a Dataset in the file (found: {names})",
             "give a .jsonl file of cases or the name of a Dataset", code=2)
    try:
        return Dataset.from_jsonl(path)
    except DatasetError as exc:
        fail(str(exc), code=2)


def _task(module: ModuleType, name: str | None) -> Any:
    from lumos_core.loader import definitions_in

    found = definitions_in(module)
    tasks: dict[str, Any] = {**found.workflows, **found.agents}
    known = ", ".join(sorted(tasks)) or "none"
    if name is None:
        if len(tasks) != 1:
            fail(f"choose what to run with --agent NAME (found: {known})", code=2)
        return next(iter(tasks.values()))
    if name not in tasks:
        fail(f"no agent or workflow named {name!r} (found: {known})", code=2)
    return tasks[name]


def _scorers(module: ModuleType, dataset: Any) -> list[Any]:
    from lumos_core.evals import Contains, Scorer, ToolTrajectory

    # A scorer bound to a name, or held in a list or tuple (``SCORERS = [Contains(), ...]``).
    found: dict[int, Any] = {}
    for value in vars(module).values():
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, Scorer):
                found.setdefault(id(item), item)
    defined = list(found.values())
    if defined:
        return defined
    scorers: list[Any] = []
    if any(c.expected is not None for c in dataset):
        scorers.append(Contains())
    if any("expected_tools" in c.metadata for c in dataset):
        scorers.append(ToolTrajectory())
    if not scorers:
        fail("nothing to score: the cases have no expected output or expected_tools and the "
             "file defines no Scorer", "add \"expected\" to the cases or define scorers",
             code=2)
    return scorers


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _mean(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _delta(before: float | None, after: float | None) -> Text:
    if before is None or after is None or abs(after - before) < 1e-9:
        return Text("")
    points = (after - before) * 100
    return Text(f"{points:+.0f} pts", style="green" if points > 0 else "red")


def _print_scorers(view: ExperimentView, comparison: ExperimentComparison | None) -> None:
    from rich.table import Table

    header = view.header
    title = safe_text(f"{header.name} · dataset {header.dataset} · {header.task} · "
                      f"{len(view.cases)} runs", limit=None)
    out.print(title)
    table = Table()
    table.add_column("scorer", no_wrap=True)
    table.add_column("mean", justify="right")
    table.add_column("pass rate", justify="right")
    table.add_column("passed", justify="right")
    if comparison is not None:
        table.add_column("vs previous", justify="right")
    changes = {s.name: s for s in comparison.scorers} if comparison else {}
    for stats in view.scorers:
        passed = round(stats.pass_rate * stats.count)
        row: list[Text | str] = [safe_text(stats.name), _mean(stats.mean),
                                 _rate(stats.pass_rate), f"{passed}/{stats.count}"]
        if comparison is not None:
            moved = changes.get(stats.name)
            row.append(_delta(moved.before_pass_rate, moved.after_pass_rate) if moved else "")
        table.add_row(*row)
    out.print(table)


def _print_cases(view: ExperimentView, comparison: ExperimentComparison | None) -> None:
    from rich.table import Table

    marks = {(c.case_id, c.repeat): c.change for c in comparison.cases} if comparison else {}
    names = [s.name for s in view.scorers]
    table = Table(title="cases", title_justify="left")
    table.add_column("case", no_wrap=True, overflow="ellipsis", max_width=24)
    if view.header.repeats > 1:
        table.add_column("run", justify="right")
    for name in names:
        table.add_column(safe_str(name), justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("why", overflow="fold")
    for case in view.cases:
        row: list[Text | str] = [safe_text(case.case_id)]
        if view.header.repeats > 1:
            row.append(str(case.repeat + 1))
        reasons = []
        for name in names:
            score = case.scores.get(name)
            if score is None:
                row.append("")
                continue
            shown = "err" if score.score is None else f"{score.score:.2f}"
            row.append(Text(f"{shown} {'✓' if score.passed else '✗'}",
                            style="green" if score.passed else "red"))
            if not score.passed and score.explanation:
                reasons.append(f"{name}: {score.explanation}")
        if case.error:
            reasons.insert(0, case.error)
        change = marks.get(case.key)
        row.append(_change_mark(change))
        row.append(safe_text("; ".join(reasons), limit=VALUE_LIMIT))
        table.add_row(*row)
    out.print(table)


def _change_mark(change: Change | None) -> Text:
    from lumos_studio.experiments import Change

    if change is Change.REGRESSED:
        return Text("▼ regressed", style="red")
    if change is Change.IMPROVED:
        return Text("▲ improved", style="green")
    if change is Change.NEW:
        return Text("new", style="dim")
    return Text("")


def _print_comparison(comparison: ExperimentComparison) -> None:
    from lumos_studio.experiments import Change
    from lumos_studio.present import format_time

    before = comparison.before.header
    regressed = [c for c in comparison.cases if c.change is Change.REGRESSED]
    improved = comparison.count(Change.IMPROVED)
    info(f"compared with {before.name} ({before.experiment_id}, {format_time(before.start_ns)}, "
         f"trace {before.trace_id[:12]}): {len(regressed)} regressed, {improved} improved, "
         f"{comparison.count(Change.SAME)} unchanged")
    for case in regressed[:20]:
        which = ", ".join(n for n, c in case.changes.items() if c is Change.REGRESSED)
        line = Text.assemble(("  ▼ ", "red"), safe_text(case.case_id), f" ({which})")
        out.print(line)
    if len(regressed) > 20:
        note(f"  {len(regressed) - 20} more regressed cases; --cases lists them all")

