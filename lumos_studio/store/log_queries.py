"""Filtering and paging log records for a virtualised list: a count, then windows by position.

A view shows logs ordered by (time_ns, id) and asks only for the rows on screen. ``match_logs``
resolves a ``LogFilter`` once (how many logs match, up to which id); ``fetch_window`` returns the
rows at positions ``offset .. offset+limit``; ``update_matches`` adds the logs written since.

How each filter stays fast at a million rows (figures: ``python -m bench logs_filter``):

- level, logger, service: SQL over indexes; ``logs_by_time`` holds (time_ns, id, severity_number)
  so paging a level filter walks one index. Windows near either end, or next to a known row
  (an ``Anchor``), cost a page; a jump to the middle walks the index once.
- free text: FTS5 (``logs_fts``) counts at once. Its hits come in id order, not time order, so
  small results (``MATERIALIZE_LIMIT``) are sorted in Python once and sliced; large ones are paged
  by walking the time index in chunks and keeping the ids FTS5 finds in each chunk's id range.
- regex: applied in Python to the message, over candidates narrowed by the filter's other parts
  and by the words the pattern cannot match without (looked up in FTS5). Measured faster than a
  registered ``REGEXP`` function, and the sorted result makes every later window a slice.
- trace / span: the ``logs_by_span`` index, then as small results.

Every function takes a plain read-only ``sqlite3.Connection`` and runs on the caller's thread:
panes call them from thread workers.
"""

from __future__ import annotations

import re
import sqlite3
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import orjson

try:  # the regex parser moved in 3.11; the old name still works, with a warning
    from re import _parser as _regex_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse as _regex_parser  # type: ignore[no-redef]

from lumos_studio.store.schema import indexed_up_to

MATERIALIZE_LIMIT = 20_000  # results up to this size are sorted once in Python, then sliced
CHUNK = 2_000  # index entries read per step when paging a large free-text result

SEVERITY_LEVELS: tuple[tuple[str, int], ...] = (
    ("TRACE", 1), ("DEBUG", 5), ("INFO", 9), ("WARN", 13), ("ERROR", 17), ("FATAL", 21),
)


def severity_name(number: int, text: str = "") -> str:
    """``INFO``, ``ERROR``...: the OTel range a severity number falls in (its text if unset)."""
    if number <= 0:
        return text.upper()[:5] if text else ""
    name = "TRACE"
    for level, floor in SEVERITY_LEVELS:
        if number >= floor:
            name = level
    return name


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What a logs view shows. Empty fields filter nothing; all given parts must match."""

    min_severity: int = 0
    loggers: frozenset[str] = frozenset()  # scope names (the Python logger's name)
    services: frozenset[str] = frozenset()
    text: str = ""  # words, found by FTS5 in bodies, attributes and event names; the last is a prefix
    regex: str = ""  # searched in the message as shown; case-insensitive unless it has capitals
    trace_id: str | None = None
    span_id: str | None = None  # with trace_id: only that span's logs

    @property
    def empty(self) -> bool:
        return self == LogFilter()


@dataclass(frozen=True, slots=True)
class LogRow:
    """One log as a list shows it; ``message`` is the body as text."""

    id: int
    time_ns: int
    severity_number: int
    severity_text: str
    message: str
    scope_name: str
    service_name: str
    trace_id: str | None
    span_id: str | None
    event_name: str

    @property
    def level(self) -> str:
        return severity_name(self.severity_number, self.severity_text)


@dataclass(frozen=True, slots=True)
class Anchor:
    """A row whose position is known: windows next to it are fetched by key, not by offset."""

    position: int
    time_ns: int
    id: int


@dataclass(frozen=True, slots=True, eq=False)
class LogMatches:
    """A filter resolved against the store: ``count`` logs match among ids up to ``last_id``.

    ``times``/``ids`` hold every match in display order when the result was small or needed
    Python (regex); otherwise windows are read from SQLite.
    """

    filter: LogFilter
    count: int
    last_id: int
    times: array[int] | None = field(default=None, repr=False)
    ids: array[int] | None = field(default=None, repr=False)

    @property
    def materialized(self) -> bool:
        return self.ids is not None


StopCheck = Callable[[], bool]

_ROW_COLUMNS = (
    "id, time_ns, severity_number, severity_text, body, scope_name, service_name, trace_id, "
    "span_id, event_name"
)


class Cancelled(Exception):
    """The caller's ``should_stop`` said a newer request replaced this one."""


# --- turning a filter into SQL ---


def fts_query(text: str) -> str | None:
    """The FTS5 query for what a user typed: every word, the last one as a prefix (as you type).

    A one-letter last word stays exact: a one-letter prefix expands to most of the vocabulary.
    """
    words = [w for w in text.split() if any(c.isalnum() for c in w)]
    if not words:
        return None
    terms = ['"' + w.replace('"', '""') + '"' for w in words]
    if sum(c.isalnum() for c in words[-1]) > 1:
        terms[-1] += "*"
    return " ".join(terms)


def regex_terms(pattern: str) -> list[str]:
    """FTS5 terms any match of ``pattern`` must contain; [] when none can be proved.

    Only runs of printable ASCII literals count, and a word only when its start is certain
    (after a separator, ``\\b`` or ``^``): FTS5 finds tokens and their prefixes, not suffixes.
    """
    try:
        items = list(_regex_parser.parse(pattern))
    except (re.error, RecursionError, OverflowError):
        return []
    parser = _regex_parser
    starts = {parser.AT_BOUNDARY, parser.AT_BEGINNING, parser.AT_BEGINNING_STRING}
    ends = {parser.AT_BOUNDARY, parser.AT_END, parser.AT_END_STRING}
    terms: list[str] = []

    def close(run: str, left: bool, right: bool) -> None:
        pieces = re.split(r"[^A-Za-z0-9]+", run)
        for index, word in enumerate(pieces):
            if not word or not (left or index > 0):
                continue
            exact = right or index < len(pieces) - 1
            terms.append(f'"{word}"' if exact else f'"{word}"*')

    run, left = "", False
    for op, arg in items:
        if op is parser.LITERAL and 0x20 <= arg < 0x7F:
            run += chr(arg)
            continue
        if op is parser.LITERAL and arg < 0x20:
            run += " "  # a control character is a separator to the tokenizer
            continue
        close(run, left, op is parser.AT and arg in ends)
        run, left = "", op is parser.AT and arg in starts
    close(run, left, False)
    return terms


def _compile(pattern: str) -> re.Pattern[str]:
    flags = 0 if any(c.isupper() for c in pattern) else re.IGNORECASE
    return re.compile(pattern, flags)


def _like(word: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", word) + "%"


@dataclass(frozen=True, slots=True)
class _Plan:
    """The SQL parts of a filter: structural conditions, and the text match if any."""

    where: str
    params: tuple[object, ...]
    fts: str | None  # FTS5 query (text words and regex terms)
    fallback: str  # the text condition for rows FTS5 has not indexed yet ("" without text)
    fallback_params: tuple[object, ...]


def _plan(log_filter: LogFilter) -> _Plan:
    where, params = ["1"], []
    if log_filter.min_severity > 0:
        where.append("severity_number >= ?")
        params.append(log_filter.min_severity)
    for column, values in (("scope_name", log_filter.loggers), ("service_name", log_filter.services)):
        if values:
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(sorted(values))
    if log_filter.trace_id:
        where.append("trace_id = ?")
        params.append(log_filter.trace_id)
        if log_filter.span_id:
            where.append("span_id = ?")
            params.append(log_filter.span_id)
    parts, fallback, fallback_params = [], [], []
    text_query = fts_query(log_filter.text)
    if text_query:
        parts.append(f"({text_query})")
        for word in log_filter.text.split():
            like = _like(word)
            fallback.append(
                "(body LIKE ? ESCAPE '\\' OR attributes LIKE ? ESCAPE '\\' "
                "OR event_name LIKE ? ESCAPE '\\')"
            )
            fallback_params.extend((like, like, like))
    if log_filter.regex:
        terms = regex_terms(log_filter.regex)
        if terms:
            parts.append(f"body : ({' '.join(terms)})")
    return _Plan(
        " AND ".join(where),
        tuple(params),
        " AND ".join(parts) or None,
        " AND ".join(fallback) or "1",
        tuple(fallback_params),
    )


def _text_condition(plan: _Plan, watermark: int) -> tuple[str, tuple[object, ...]]:
    """``id`` is an FTS5 hit, or above the index's watermark and matching by LIKE."""
    if plan.fts is None:
        return "1", ()
    return (
        f"(id IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?) "
        f"OR (id > ? AND {plan.fallback}))",
        (plan.fts, watermark, *plan.fallback_params),
    )


# --- resolving a filter: count, and the sorted result when small ---


def match_logs(
    connection: sqlite3.Connection, log_filter: LogFilter, should_stop: StopCheck | None = None
) -> LogMatches:
    """Count the logs matching ``log_filter`` now; sort them in memory when that is cheap."""
    last_id = connection.execute("SELECT coalesce(max(id), 0) FROM logs").fetchone()[0]
    return _resolve(connection, log_filter, 0, last_id, should_stop)


def update_matches(
    connection: sqlite3.Connection, matches: LogMatches, should_stop: StopCheck | None = None
) -> LogMatches:
    """``matches`` plus the logs written since it was resolved (a live view's cheap refresh)."""
    last_id = connection.execute("SELECT coalesce(max(id), 0) FROM logs").fetchone()[0]
    if last_id <= matches.last_id:
        return matches
    added = _resolve(connection, matches.filter, matches.last_id, last_id, should_stop,
                     force_materialize=matches.materialized)
    if not matches.materialized:
        return replace(added, count=matches.count + added.count)
    assert matches.times is not None and matches.ids is not None
    assert added.times is not None and added.ids is not None
    keys = list(zip(matches.times, matches.ids, strict=True))
    if keys and added.count and (added.times[0], added.ids[0]) < keys[-1]:
        keys = sorted(keys + list(zip(added.times, added.ids, strict=True)))
        times, ids = array("q", (k[0] for k in keys)), array("q", (k[1] for k in keys))
    else:
        times, ids = matches.times + added.times, matches.ids + added.ids
    return LogMatches(matches.filter, len(ids), last_id, times, ids)


def _resolve(
    connection: sqlite3.Connection,
    log_filter: LogFilter,
    after_id: int,
    last_id: int,
    should_stop: StopCheck | None,
    *,
    force_materialize: bool = False,
) -> LogMatches:
    plan = _plan(log_filter)
    watermark = indexed_up_to(connection) if plan.fts else 0
    if log_filter.regex:
        return _materialize(connection, plan, log_filter, after_id, last_id, watermark,
                            should_stop)
    count = _count(connection, plan, after_id, last_id, watermark)
    small = count <= MATERIALIZE_LIMIT and (plan.fts is not None or log_filter.trace_id)
    if force_materialize or small:
        return _materialize(connection, plan, log_filter, after_id, last_id, watermark,
                            should_stop)
    return LogMatches(log_filter, count, last_id)


def _count(
    connection: sqlite3.Connection, plan: _Plan, after_id: int, last_id: int, watermark: int
) -> int:
    if plan.fts is not None and plan.where == "1":
        # Text alone: FTS5 counts its hits itself; only unindexed rows need a scan.
        indexed = connection.execute(
            "SELECT count(*) FROM logs_fts WHERE logs_fts MATCH ? AND rowid > ? AND rowid <= ?",
            (plan.fts, after_id, min(last_id, watermark)),
        ).fetchone()[0]
        if watermark >= last_id:
            return indexed
        rest = connection.execute(
            f"SELECT count(*) FROM logs WHERE id > ? AND id <= ? AND {plan.fallback}",
            (max(after_id, watermark), last_id, *plan.fallback_params),
        ).fetchone()[0]
        return indexed + rest
    text, text_params = _text_condition(plan, watermark)
    return connection.execute(
        f"SELECT count(*) FROM logs WHERE id > ? AND id <= ? AND {plan.where} AND {text}",
        (after_id, last_id, *plan.params, *text_params),
    ).fetchone()[0]


def _message(body: str | None) -> str:
    """The body as a person reads it: a string body unquoted, anything else as compact JSON."""
    if not body:
        return ""
    if body.startswith('"'):
        try:
            return str(orjson.loads(body))
        except orjson.JSONDecodeError:
            return body
    return body


def _materialize(
    connection: sqlite3.Connection,
    plan: _Plan,
    log_filter: LogFilter,
    after_id: int,
    last_id: int,
    watermark: int,
    should_stop: StopCheck | None,
) -> LogMatches:
    text, text_params = _text_condition(plan, watermark)
    pattern = _compile(log_filter.regex) if log_filter.regex else None
    columns = "time_ns, id, body" if pattern else "time_ns, id"
    cursor = connection.execute(
        f"SELECT {columns} FROM logs WHERE id > ? AND id <= ? AND {plan.where} AND {text}",
        (after_id, last_id, *plan.params, *text_params),
    )
    keys: list[tuple[int, int]] = []
    while batch := cursor.fetchmany(5_000):
        if should_stop is not None and should_stop():
            raise Cancelled
        if pattern is None:
            keys.extend(batch)
        else:
            search = pattern.search
            keys.extend((t, i) for t, i, body in batch if search(_message(body)))
    keys.sort()
    times = array("q", (k[0] for k in keys))
    ids = array("q", (k[1] for k in keys))
    return LogMatches(log_filter, len(keys), last_id, times, ids)


# --- windows by position ---


def fetch_window(
    connection: sqlite3.Connection,
    matches: LogMatches,
    offset: int,
    limit: int,
    anchors: Iterable[Anchor] = (),
    should_stop: StopCheck | None = None,
) -> list[LogRow]:
    """The matches at positions ``offset .. offset+limit-1`` (fewer at the end), in order.

    Starts from whichever is nearest: the first match, the last, or an anchor (a row of a window
    fetched before), so scrolling page by page costs a page wherever it is.
    """
    offset, end = max(0, offset), min(matches.count, offset + limit)
    if end <= offset:
        return []
    if matches.ids is not None:
        return _rows(connection, list(matches.ids[offset:end]))
    # Candidate starting points: (distance, key to start after/before or None, forward?).
    starts: list[tuple[int, tuple[int, int] | None, bool, int]] = [
        (offset, None, True, offset),
        (matches.count - end, None, False, matches.count - end),
    ]
    for anchor in anchors:
        if anchor.position < offset:
            skip = offset - anchor.position - 1
            starts.append((skip, (anchor.time_ns, anchor.id), True, skip))
        elif anchor.position >= end:
            skip = anchor.position - end
            starts.append((skip, (anchor.time_ns, anchor.id), False, skip))
    _, key, forward, skip = min(starts, key=lambda s: s[0])
    ids = _walk(connection, matches, key, forward, skip, end - offset, should_stop)
    if not forward:
        ids.reverse()
    return _rows(connection, ids)


def _walk(
    connection: sqlite3.Connection,
    matches: LogMatches,
    key: tuple[int, int] | None,
    forward: bool,
    skip: int,
    take: int,
    should_stop: StopCheck | None,
) -> list[int]:
    """Ids of ``take`` matches after skipping ``skip``, walking from ``key`` in one direction."""
    plan = _plan(matches.filter)
    order = "" if forward else " DESC"
    compare = ">" if forward else "<"
    bound, bound_params = ("(time_ns, id) " + compare + " (?, ?)", key) if key else ("1", ())
    if plan.fts is None:
        rows = connection.execute(
            f"SELECT id FROM logs WHERE id <= ? AND {plan.where} AND {bound} "
            f"ORDER BY time_ns{order}, id{order} LIMIT ? OFFSET ?",
            (matches.last_id, *plan.params, *bound_params, take, skip),
        ).fetchall()
        return [r[0] for r in rows]
    # Free text, large result: walk the time index in chunks; FTS5 answers for each chunk's ids.
    watermark = indexed_up_to(connection)
    found: list[int] = []
    while len(found) < skip + take:
        if should_stop is not None and should_stop():
            raise Cancelled
        chunk = connection.execute(
            f"SELECT time_ns, id FROM logs INDEXED BY logs_by_time "
            f"WHERE id <= ? AND {plan.where} AND {bound} "
            f"ORDER BY time_ns{order}, id{order} LIMIT ?",
            (matches.last_id, *plan.params, *bound_params, CHUNK),
        ).fetchall()
        if not chunk:
            break
        hits = _text_hits(connection, plan, [r[1] for r in chunk], watermark)
        found.extend(i for _, i in chunk if i in hits)
        bound = "(time_ns, id) " + compare + " (?, ?)"
        bound_params = chunk[-1]
    return found[skip : skip + take]


def _text_hits(
    connection: sqlite3.Connection, plan: _Plan, ids: Sequence[int], watermark: int
) -> set[int]:
    """Which of ``ids`` match the text: FTS5 over their id range, LIKE above the watermark."""
    low, high = min(ids), max(ids)
    hits = {
        r[0]
        for r in connection.execute(
            "SELECT rowid FROM logs_fts WHERE logs_fts MATCH ? AND rowid BETWEEN ? AND ?",
            (plan.fts, low, min(high, watermark)),
        )
    }
    if high > watermark:
        hits.update(
            r[0]
            for r in connection.execute(
                f"SELECT id FROM logs WHERE id > ? AND id BETWEEN ? AND ? AND {plan.fallback}",
                (watermark, low, high, *plan.fallback_params),
            )
        )
    return hits


def _rows(connection: sqlite3.Connection, ids: list[int]) -> list[LogRow]:
    if not ids:
        return []
    found = {
        r[0]: r
        for r in connection.execute(
            f"SELECT {_ROW_COLUMNS} FROM logs WHERE id IN ({', '.join('?' * len(ids))})", ids
        )
    }
    return [
        LogRow(r[0], r[1], r[2] or 0, r[3] or "", _message(r[4]), r[5] or "", r[6] or "", r[7],
               r[8], r[9] or "")
        for r in (found.get(i) for i in ids)
        if r is not None
    ]


# --- jumping ---


def position_at(
    connection: sqlite3.Connection, matches: LogMatches, time_ns: int, log_id: int = 0
) -> int:
    """How many matches come before (``time_ns``, ``log_id``): the position to jump to for that
    time (clamp to ``count - 1`` for "the log nearest to T"), or of that very log."""
    if matches.times is not None and matches.ids is not None:
        index = bisect_left(matches.times, time_ns)
        while (index < matches.count and matches.times[index] == time_ns
               and matches.ids[index] < log_id):
            index += 1
        return index
    plan = _plan(matches.filter)
    watermark = indexed_up_to(connection) if plan.fts else 0
    text, text_params = _text_condition(plan, watermark)
    return connection.execute(
        f"SELECT count(*) FROM logs INDEXED BY logs_by_time WHERE id <= ? AND {plan.where} "
        f"AND {text} AND (time_ns, id) < (?, ?)",
        (matches.last_id, *plan.params, *text_params, time_ns, log_id),
    ).fetchone()[0]


def log_names(connection: sqlite3.Connection) -> tuple[list[str], list[str]]:
    """The logger (scope) and service names in the store, for the filter's choices."""
    loggers = [r[0] for r in connection.execute(
        "SELECT DISTINCT scope_name FROM logs INDEXED BY logs_by_scope "
        "WHERE scope_name IS NOT NULL ORDER BY 1")]
    services = [r[0] for r in connection.execute(
        "SELECT DISTINCT service_name FROM logs INDEXED BY logs_by_service "
        "WHERE service_name IS NOT NULL ORDER BY 1")]
    return loggers, services
