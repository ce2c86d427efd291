"""The trace list's search language: free words plus qualifiers, parsed into SQL over ``traces``.

``weather paris status:error dur:>2s model:gpt-4o tool:get_weather agent:support``

Free words must each match an agent name, the root span's name, a model or the text of the
run's messages (full-text index, prefix match); qualifiers narrow further. Values with spaces go
in double quotes (``agent:"trip planner"``); so do words with a colon (``"http://x"``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from lumos_core.telemetry.semconv import OP_INVOKE_WORKFLOW
from lumos_studio.store.text_ids import TEXT_ID_BITS
from lumos_studio.store.trace_search import NAME_COLUMNS, like_pattern

QUALIFIERS = ("agent", "status", "model", "tool", "dur", "thread", "is")
STATUSES = ("error", "ok", "running", "suspended")
HELP = ("words · agent: status:error|ok|running|suspended model: tool: dur:>2s thread: "
        "is:pinned")

_ALIASES = {"duration": "dur", "conversation": "thread", "conv": "thread", "state": "status"}
_TOKEN = re.compile(r'\s*(?:([A-Za-z_]+):)?("[^"]*"|"[^"]*$|[^\s"]+)?')
_DURATION = re.compile(r"(>=|<=|>|<|=)?\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h)?$")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9,
          "h": 3_600 * 10**9}


class FilterError(ValueError):
    """A query the language cannot read; the message says what to write instead."""


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """A parsed query; the empty filter matches every trace."""

    words: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    threads: tuple[str, ...] = ()
    statuses: frozenset[str] = frozenset()
    durations: tuple[tuple[str, int], ...] = ()  # (operator, nanoseconds)
    pinned: bool = False

    @property
    def empty(self) -> bool:
        return self == TraceFilter()


def _duration(value: str) -> tuple[str, int]:
    match = _DURATION.match(value.strip())
    if match is None:
        raise FilterError(f"dur:{value} — write dur:>2s, dur:<500ms, dur:>=1.5m")
    operator, number, unit = match.groups()
    if unit is None:
        raise FilterError(f"dur:{value} needs a unit (ms, s, m…): dur:>{number}s")
    return operator or ">=", int(float(number) * _UNITS[unit])


def parse_filter(text: str) -> TraceFilter:
    """Read a query; raise ``FilterError`` with a short, fixable message."""
    fields: dict[str, list[str]] = {q: [] for q in (*QUALIFIERS, "words")}
    statuses: set[str] = set()
    durations: list[tuple[str, int]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match is not None  # the pattern matches the empty string
        if match.end() == position:  # a stray quote after a word: "ab"c
            raise FilterError(f'unexpected " at column {position + 1}')
        position = match.end()
        key, value = match.group(1), match.group(2)
        if key is None and value is None:
            continue
        if value is not None and value.startswith('"'):
            if len(value) == 1 or not value.endswith('"'):
                raise FilterError('a quote is not closed: add the closing "')
            value = value[1:-1]
        if key is None:
            if value and value.strip():
                fields["words"].append(value.strip())
            continue
        name = _ALIASES.get(key.lower(), key.lower())
        if name not in QUALIFIERS:
            raise FilterError(
                f"unknown qualifier {key}: — use {', '.join(q + ':' for q in QUALIFIERS)} "
                f'(quote text with a colon: "{key}:…")'
            )
        if not value:
            raise FilterError(f"{key}: needs a value, e.g. {key}:{_EXAMPLES[name]}")
        if name == "status":
            for status in re.split(r"[|,]", value.lower()):
                if status not in STATUSES:
                    raise FilterError(f"status:{status} — use error, ok, running or suspended")
                statuses.add(status)
        elif name == "dur":
            durations.append(_duration(value))
        elif name == "is":
            if value.lower() != "pinned":
                raise FilterError(f"is:{value} — only is:pinned is known")
            fields["is"].append("pinned")
        else:
            fields[name].append(value)
    return TraceFilter(
        words=tuple(fields["words"]),
        agents=tuple(fields["agent"]),
        models=tuple(fields["model"]),
        tools=tuple(fields["tool"]),
        threads=tuple(fields["thread"]),
        statuses=frozenset(statuses),
        durations=tuple(durations),
        pinned=bool(fields["is"]),
    )


_EXAMPLES = {"agent": "weather", "status": "error", "model": "gpt-4o", "tool": "get_weather",
             "dur": ">2s", "thread": "studio-weather", "is": "pinned"}

# A run failed when its root span did (or, with no root stored yet, when any span did): a child
# that failed while the root went on and ended OK (a tool error the agent recovered from) does not
# make the run an error. Only traces with an error are looked into.
ROOT_FAILED_SQL = (
    "(t.error_count > 0 AND (EXISTS (SELECT 1 FROM spans r WHERE r.trace_id = t.trace_id "
    "AND r.parent_span_id IS NULL AND r.status_code = 'ERROR') OR NOT EXISTS (SELECT 1 FROM "
    "spans r WHERE r.trace_id = t.trace_id AND r.parent_span_id IS NULL)))"
)
# Only runs with an error can have failed: said as the index ``traces_by_erred`` is written
# (schema 13), SQLite reads the erred runs in start order from it instead of every run ("refund
# status:error" walked ~125,000 runs at 10M spans for the 6,000 erred ones it asked the word).
ERRED_TERM = "(t.error_count > 0) = 1"
# A finished run that did not fail is SUSPENDED when a workflow of it waits for a person: its
# ``invoke_workflow`` span says ``lumos.workflow.status = suspended``, the rule the list marks its
# rows by (``TraceFinder._mark_suspended``). The attribute is in the span's OTLP bytes, which SQL
# cannot read: ``{span_suspended}`` is each engine's test of them (SQLite: ``SPAN_SUSPENDED_SQL``,
# a function the finder gives its connections; PostgreSQL: ``postgres.trace_filter``'s).
WORKFLOW_SUSPENDED_SQL = (
    "EXISTS (SELECT 1 FROM spans w WHERE w.trace_id = t.trace_id "
    f"AND w.operation = '{OP_INVOKE_WORKFLOW}' AND {{span_suspended}})"
)
SPAN_SUSPENDED_FUNCTION = "lumos_span_suspended"
SPAN_SUSPENDED_SQL = f"{SPAN_SUSPENDED_FUNCTION}(w.span)"
_FINISHED_SQL = f"NOT {ROOT_FAILED_SQL} AND t.running_count = 0"


def status_sql(status: str, span_suspended: str = SPAN_SUSPENDED_SQL) -> str:
    """The condition on ``traces t`` of one of ``STATUSES``, as the list says a run's status
    (``TraceSummary.status``); ``span_suspended``: the engine's test of a stored span's bytes."""
    suspended = WORKFLOW_SUSPENDED_SQL.format(span_suspended=span_suspended)
    if status == "error":
        return ROOT_FAILED_SQL
    if status == "running":
        return f"(NOT {ROOT_FAILED_SQL} AND t.running_count > 0)"
    if status == "ok":
        return f"({_FINISHED_SQL} AND NOT {suspended})"
    assert status == "suspended"
    return f"({_FINISHED_SQL} AND {suspended})"


# Text search: the run's indexed message words (FTS5, a prefix match on the last token). The
# matches' ids tell their traces' ``text_seq`` (``text_ids.TEXT_ID_BITS``).
TEXT_MATCH_SQL = (
    f"SELECT rowid >> {TEXT_ID_BITS} FROM trace_texts_fts WHERE trace_texts_fts MATCH ?"
)
# Shorter words match whole tokens only: as a prefix, a letter or two matches most of the
# index (in bench trace_list, "w" took 3.5 s and "w1" 0.85 s, while a user was still typing),
# and three letters match many words ('w12' 45 ms at 500k texts, 5.5 with an index of 3-letter
# prefixes, which cost a third of indexing a text: schema 14 dropped it).
PREFIX_MIN_CHARS = 4


def fts_phrase(word: str) -> str | None:
    """``gpt-4o`` → ``"gpt-4o"*`` (a phrase whose last token may be a prefix); None if no word.

    A word shorter than ``PREFIX_MIN_CHARS`` is a whole token: ``w12`` → ``"w12"``.
    """
    if not re.search(r"\w", word):
        return None
    star = "*" if len(word) >= PREFIX_MIN_CHARS else ""
    return '"' + word.replace('"', '""') + '"' + star


def field_clauses(trace_filter: TraceFilter, any_like: Callable[[tuple[str, ...], str], str],
                  params: list[object], span_suspended: str = SPAN_SUSPENDED_SQL) -> list[str]:
    """The clauses of the filter's fields (``agent:``, ``model:``, ``tool:``, ``thread:``,
    ``status:``, ``dur:``, ``pinned``), the same on both engines but for how a substring is
    matched (``any_like``, which adds its own parameters) and how a stored span says it is
    suspended (``span_suspended``, ``status_sql``); ``dur:``'s parameters go to ``params``."""
    clauses: list[str] = []
    for value in trace_filter.agents:
        clauses.append(any_like(("t.agents",), value))
    for value in trace_filter.models:
        clauses.append(any_like(("t.models",), value))
    for value in trace_filter.tools:
        clauses.append(any_like(("t.tools",), value))
    for value in trace_filter.threads:
        clauses.append(any_like(("t.conversation_id",), value))
    if trace_filter.statuses:
        clauses.append("(" + " OR ".join(status_sql(s, span_suspended)
                                          for s in sorted(trace_filter.statuses)) + ")")
    for operator, nanoseconds in trace_filter.durations:
        clauses.append(f"(t.running_count = 0 AND t.end_ns - t.start_ns {operator} ?)")
        params.append(nanoseconds)
    if trace_filter.pinned:
        clauses.append("t.pinned_ns IS NOT NULL")
    return clauses


def _name_options(word: str, names: Mapping[str, Sequence[str]] | None,
                  params: list[object]) -> list[str]:
    """How ``word`` matches a run by its names: ``IN`` lists of the values that contain it
    (``names``, from ``trace_search.names_matching``), or LIKEs when not given."""
    if names is None:
        params.extend([like_pattern(word)] * len(NAME_COLUMNS))
        return [" OR ".join(f"t.{c} LIKE ? ESCAPE '\\'" for c in NAME_COLUMNS)]
    options = []
    for column, values in names.items():
        if values:
            options.append(f"t.{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    return options


def names_sql(word: str, names: Mapping[str, Sequence[str]] | None) -> tuple[str, list[object]]:
    """An expression over ``traces t``, true when ``word`` matches the run by its names (not
    its text), and its parameters."""
    params: list[object] = []
    options = _name_options(word, names, params)
    return "(" + (" OR ".join(options) or "0") + ")", params


def filter_sql(
    trace_filter: TraceFilter,
    text_matches: Mapping[str, str] | None = None,
    name_matches: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    thread_matches: Mapping[str, Sequence[str]] | None = None,
) -> tuple[str, list[object]]:
    """A WHERE clause over ``traces t`` (``1`` when empty) and its parameters.

    ``text_matches`` names, for a searched word, a table of the ``text_seq`` of the traces whose
    message text matches it (``TEXT_MATCH_SQL``, run once by the caller); without it, the clause
    runs that match itself, once per statement. ``name_matches`` gives, for a word, the values
    of each name column that contain it (``trace_search.names_matching``): ``IN`` lists then
    replace the word's LIKEs. ``thread_matches`` does the same for a ``thread:`` value: the
    conversation ids that contain it (``trace_search.threads_matching``).
    """
    clauses: list[str] = []
    params: list[object] = []
    text_matches = text_matches or {}
    name_matches = name_matches or {}

    def any_like(columns: tuple[str, ...], value: str) -> str:
        params.extend([like_pattern(value)] * len(columns))
        return "(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")"

    for word in trace_filter.words:
        options = _name_options(word, name_matches.get(word), params)
        table = text_matches.get(word)
        if table is not None:  # checked run by run ("+"): driving from it is the caller's call
            options.append(f"+t.text_seq IN {table}")
        elif (phrase := fts_phrase(word)) is not None:
            params.append(phrase)
            options.append(f"t.text_seq IN ({TEXT_MATCH_SQL})")
        clauses.append("(" + (" OR ".join(options) or "0") + ")")
    thread_matches = thread_matches or {}
    for value in trace_filter.threads:
        if (ids := thread_matches.get(value)) is not None:
            clauses.append(f"t.conversation_id IN ({', '.join('?' * len(ids))})")
            params.extend(ids)
    unresolved = tuple(v for v in trace_filter.threads if v not in thread_matches)
    clauses.extend(field_clauses(replace(trace_filter, threads=unresolved), any_like, params))
    if trace_filter.statuses == {"error"}:
        clauses.append(ERRED_TERM)
    return (" AND ".join(clauses) or "1"), params
