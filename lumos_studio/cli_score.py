"""``lumos-studio score`` and ``annotate``: scores given to stored traces after the fact, by
scorers or by a person, stored as ``gen_ai.evaluation.result`` records beside the spans."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.text import Text

from lumos_studio.cli_support import (
    fail,
    info,
    open_reader,
    open_store,
    out,
    resolve_trace,
    unstored,
)
from lumos_studio.display import VALUE_LIMIT, safe_text

if TYPE_CHECKING:
    from lumos_studio.records import SpanRecord

# Spans an --span that names none, or several, lists as the ones to choose from.
SPANS_LISTED = 10
_ONE_OF_THESE = "give one of these ids (a prefix is enough):"
# The most traces ``score --last`` takes: more than a store holds in practice, and a number
# SQLite's LIMIT takes (a 20-digit one overflowed it, with a traceback).
LAST_MOST = 1_000_000


class FiniteFloat(click.ParamType):  # type: ignore[type-arg]
    """A number that is one (not nan, not inf), at least ``least`` when given: ``score``'s
    budgets and ``annotate``'s score say so alike."""

    name = "FLOAT"

    def __init__(self, least: float | None = None) -> None:
        self.least = least

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        try:
            number = float(value) if isinstance(value, int | float) else float(str(value))
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.least is not None and number < self.least:
            self.fail(f"{value!r} is less than {self.least:g}", param, ctx)
        return number


def _not_blank(context: click.Context, parameter: click.Parameter, value: str | None
               ) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("must not be empty", context, parameter)
    return value


def _texts(context: click.Context, parameter: click.Parameter, value: tuple[str, ...]
           ) -> tuple[str, ...]:
    if any(not text for text in value):
        raise click.BadParameter("an empty text is in every answer; give some text",
                                 context, parameter)
    return value


def _tool_names(context: click.Context, parameter: click.Parameter, value: str | None
                ) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise click.BadParameter(f"{value!r} names no tool; give the tools' names in order, "
                                 "comma separated (get_weather,search_docs)", context, parameter)
    return names


@click.command()
@click.argument("trace_ids", nargs=-1, metavar="[TRACE]...")
@click.option("--last", type=click.IntRange(min=1, max=LAST_MOST),
              help="The newest N traces instead.")
@click.option("--contains", "texts", multiple=True, callback=_texts,
              help="The answer contains TEXT (repeatable).")
@click.option("--regex", help="The answer matches this regular expression.")
@click.option("--tools", callback=_tool_names,
              help="These tools were called, in order (comma separated).")
@click.option("--max-seconds", type=FiniteFloat(least=0),
              help="The agent's run took at most this many seconds.")
@click.option("--max-tokens", type=click.IntRange(min=0),
              help="Its model calls used at most this many tokens.")
@click.option("--file", "scorer_file", type=click.Path(exists=True, path_type=Path),
              help="Also the Scorer objects this Python file defines.")
@click.pass_obj
def score(db: Path, trace_ids: tuple[str, ...], last: int | None, texts: tuple[str, ...],
          regex: str | None, tools: list[str] | None, max_seconds: float | None,
          max_tokens: int | None, scorer_file: Path | None) -> None:
    """Score stored traces' agent runs after the fact; the scores are stored with the spans.

    \b
    Examples:
      lumos-studio score --last 5 --contains Paris --tools get_weather
      lumos-studio score 1f3a 9c2e --max-seconds 2 --max-tokens 500
    """
    from rich.table import Table

    from lumos_core.evals import Contains, Latency, Regex, TokenBudget, ToolTrajectory
    from lumos_studio.scoring import score_traces

    scorers: list[Any] = [Contains(list(texts))] if texts else []
    if regex is not None:
        try:
            scorers.append(Regex(regex))
        except re.error as exc:
            fail(f"--regex {regex!r} is not a regular expression: {exc}", code=2)
    if tools is not None:
        scorers.append(ToolTrajectory(tools))
    if max_seconds is not None:
        scorers.append(Latency(max_seconds))
    if max_tokens is not None:
        scorers.append(TokenBudget(max_tokens))
    if scorer_file is not None:
        scorers.extend(_file_scorers(scorer_file))
    if not scorers:
        fail("choose a scorer: --contains, --regex, --tools, --max-seconds, --max-tokens or "
             "--file", code=2)
    if bool(trace_ids) == bool(last):
        fail("choose the traces: TRACE ids (prefixes) or --last N", code=2)
    reader = open_reader(db)
    ids = ([t.trace_id for t in reader.list_traces(limit=last or 0)] if last
           else [resolve_trace(reader, t, code=2) for t in trace_ids])
    scored = score_traces(reader, ids, scorers)
    table = Table()
    for column in ("trace", "scorer", "score", "why"):
        table.add_column(column, overflow="fold" if column == "why" else "ellipsis",
                         no_wrap=column != "why")
    with open_store(db) as store:
        for trace in scored:
            store.writer.submit_many(trace.records)
            if trace.span_id is None:
                table.add_row(trace.trace_id[:12], "", "", Text("no spans", style="dim"))
            for result in trace.scores:
                shown = "err" if result.value is None else f"{result.value:.2f}"
                table.add_row(trace.trace_id[:12], safe_text(result.name),
                              Text(f"{shown} {'✓' if result.passed else '✗'}",
                                   style="green" if result.passed else "red"),
                              safe_text(result.explanation, limit=VALUE_LIMIT))
        problem = unstored(store)
    out.print(table)
    if problem is not None:
        fail(*problem)
    info(f"stored {sum(len(t.records) for t in scored)} score(s) with "
         f"{sum(1 for t in scored if t.span_id)} trace(s) in {db}")


@click.command()
@click.argument("trace_id")
@click.option("--span", "span_id", callback=_not_blank,
              help="The span to annotate: its id, a unique prefix of it, or its name "
                   "(default: the agent's run).")
@click.option("--name", default="human", show_default=True, callback=_not_blank,
              help="What the annotation judges.")
@click.option("--score", "value", type=FiniteFloat(), help="A score (0-1 by convention).")
@click.option("--label", default="", help="A label: good, bad, off-topic...")
@click.option("--note", default="", help="Why, in a sentence.")
@click.option("--pass/--fail", "passed", default=None, help="Whether the span passes.")
@click.pass_obj
def annotate(db: Path, trace_id: str, span_id: str | None, name: str, value: float | None,
             label: str, note: str, passed: bool | None) -> None:
    """Annotate a stored span by hand: a score or a label, and a note.

    \b
    Examples:
      lumos-studio annotate 1f3a --label wrong-city --fail --note "asked Paris, answered Lyon"
      lumos-studio annotate 1f3a --span get_weather --score 0 --note "asked for Lyon's"
    """
    from lumos_studio.scoring import Annotation, annotation_record, sample_of_trace

    try:
        annotation = Annotation(name, value, label, note, passed)
    except ValueError as exc:
        fail(f"{exc}; give --score, --label or --note", code=2)
    reader = open_reader(db)
    full_id = resolve_trace(reader, trace_id, code=2)
    spans = reader.trace_spans(full_id)
    if span_id is None:
        found = sample_of_trace(spans)
        span_id = found[0].span_id if found else None
    else:
        span_id = _find_span(spans, span_id, full_id)
    if span_id is None:
        fail(f"trace {full_id} has no spans to annotate", code=2)
    with open_store(db) as store:
        store.writer.submit(annotation_record(full_id, span_id, annotation))
        problem = unstored(store)
    if problem is not None:
        fail(*problem)
    info(f"annotated span {span_id} of trace {full_id}")


def _find_span(spans: Sequence[SpanRecord], given: str, trace_id: str) -> str:
    """The id of the one span of the trace ``given`` names: its id, a prefix of it, its name,
    or the last word of its name (``execute_tool search_memory``: ``search_memory``); exit 2,
    listing the spans to choose from, when none or several are so named."""
    exact = [s for s in spans if s.span_id == given]
    named = [s for s in spans if s.name == given or s.span_id.startswith(given)]
    targets = [s for s in spans if s.name.rsplit(" ", 1)[-1] == given]
    for found in (exact, named, targets):
        if len(found) == 1:
            return found[0].span_id
        if found:
            fail(f"{given!r} names {len(found)} spans of trace {trace_id}",
                 _span_choices(_ONE_OF_THESE, found), code=2)
    near = [s for s in spans if given.casefold() in s.name.casefold()]
    fail(f"trace {trace_id} has no span {given!r} (by id, id prefix or name)",
         _span_choices(_ONE_OF_THESE if near else "its spans:", near or spans),
         code=2)


def _span_choices(heading: str, spans: Sequence[SpanRecord]) -> str:
    """``heading``, then up to ``SPANS_LISTED`` spans, one a line: id and name."""
    lines = [heading, *(f"  {s.span_id}  {s.name}" for s in spans[:SPANS_LISTED])]
    if len(spans) > SPANS_LISTED:
        lines.append(f"  … {len(spans) - SPANS_LISTED} more")
    return "\n".join(lines)


def _file_scorers(path: Path) -> list[Any]:
    from lumos_core.evals import Scorer
    from lumos_studio.cli_user_module import load_user_module

    module = load_user_module(path, "scorers")
    found = list({id(v): v for v in vars(module).values() if isinstance(v, Scorer)}.values())
    if not found:
        fail(f"{path} defines no Scorer", code=2)
    return found
