"""What a logs filter means in SQL: the parts of a ``LogFilter``, its FTS5 query, its regex's
required words and literals, and the plan ``log_queries`` runs.

Pure functions of the filter (and, for a typed prefix, of the index's vocabulary); no paging.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lumos_studio.store.log_trigrams import UNFOLDED_BY_LIKE, case_blind, trigram_terms
from lumos_studio.store.trace_search import like_pattern

try:  # the regex parser moved in 3.11; the old name still works, with a warning
    from re import _parser as _regex_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse as _regex_parser

PREFIX_WORDS = 32  # a typed prefix standing for more words than this stays a prefix query

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
    text: str = ""  # words FTS5 finds in body, attributes or event name; the last is a prefix
    regex: str = ""  # searched in the message as shown; case-insensitive unless it has capitals
    trace_id: str | None = None
    span_id: str | None = None  # with trace_id: only that span's logs

    @property
    def empty(self) -> bool:
        return self == LogFilter()


# --- turning a filter into SQL ---


def _words(text: str) -> list[str]:
    return [w for w in text.split() if any(c.isalnum() for c in w)]


def fts_query(text: str) -> str | None:
    """The FTS5 query for what a user typed: every word, the last one as a prefix (as you type).

    A one-letter last word stays exact: a one-letter prefix expands to most of the vocabulary.
    """
    words = _words(text)
    if not words:
        return None
    terms = ['"' + w.replace('"', '""') + '"' for w in words]
    if sum(c.isalnum() for c in words[-1]) > 1:
        terms[-1] += "*"
    return " AND ".join(terms)


def regex_prefilter(pattern: str) -> tuple[list[str], list[str]]:
    """What any match of ``pattern`` must contain: FTS5 terms, and substrings for LIKE.

    Only runs of printable ASCII literals count. A word becomes a term only when its start is
    certain (after a separator, ``\\b`` or ``^``): FTS5 finds tokens and prefixes, not suffixes.
    A substring is any such run of 3+ characters that JSON text holds verbatim (no ``"`` or
    ``\\``); LIKE, in C and ASCII-case-blind, then spares Python most non-matching rows.
    """
    try:
        items = list(_regex_parser.parse(pattern))
    except (re.error, RecursionError, OverflowError):
        return [], []
    parser = _regex_parser
    starts = {parser.AT_BOUNDARY, parser.AT_BEGINNING, parser.AT_BEGINNING_STRING}
    ends = {parser.AT_BOUNDARY, parser.AT_END, parser.AT_END_STRING}
    terms: list[str] = []
    literals: list[str] = []
    # LIKE is ASCII-case-blind, but Python's case-blind "i" also matches "ı" and "İ", "k" the
    # Kelvin sign and "s" the long s (``log_trigrams.UNFOLDED_BY_LIKE``): literals are cut there.
    cuts = '["\\\\\\x00-\\x1f' + (UNFOLDED_BY_LIKE if case_blind(pattern) else "") + "]"

    def close(run: str, left: bool, right: bool) -> None:
        pieces = re.split(r"[^A-Za-z0-9]+", run)
        for index, word in enumerate(pieces):
            if not word or not (left or index > 0):
                continue
            exact = right or index < len(pieces) - 1
            terms.append(f'"{word}"' if exact else f'"{word}"*')
        literals.extend(part for part in re.split(cuts, run) if len(part) >= 3)

    run, left = "", False
    for op, arg in items:
        if op is parser.LITERAL and arg < 0x7F:
            run += chr(arg)  # a control character splits words and substrings alike
            continue
        close(run, left, op is parser.AT and arg in ends)
        run, left = "", op is parser.AT and arg in starts
    close(run, left, False)
    return terms, literals


def compile_regex(pattern: str) -> re.Pattern[str]:
    flags = 0 if any(c.isupper() for c in pattern) else re.IGNORECASE
    return re.compile(pattern, flags)


@dataclass(frozen=True, slots=True)
class FilterPlan:
    """The SQL parts of a filter: structural conditions, and the text match if any."""

    where: str
    params: tuple[object, ...]
    fts: str | None  # FTS5 query (text words and regex terms)
    fallback: str  # the text condition for rows FTS5 has not indexed yet ("1" without text)
    fallback_params: tuple[object, ...]
    regex: str
    trigram: str | None = None  # what the regex's matches must contain (``log_trigrams``)
    trigram_terms: tuple[str, ...] = ()  # its terms, each required


def field_conditions(
    log_filter: LogFilter, any_of: Callable[[str, list[str]], tuple[str, Sequence[object]]]
) -> tuple[list[str], list[object]]:
    """The conditions of the filter's level, loggers, services, trace and span, and their
    parameters: the same on both engines but for how a column is matched against a list of
    values (``any_of``: the condition and its parameters)."""
    where: list[str] = []
    params: list[object] = []
    if log_filter.min_severity > 0:
        where.append("severity_number >= ?")
        params.append(log_filter.min_severity)
    for column, values in (("scope_name", log_filter.loggers),
                           ("service_name", log_filter.services)):
        if values:
            condition, values_params = any_of(column, sorted(values))
            where.append(condition)
            params.extend(values_params)
    if log_filter.trace_id:
        where.append("trace_id = ?")
        params.append(log_filter.trace_id)
        if log_filter.span_id:
            where.append("span_id = ?")
            params.append(log_filter.span_id)
    return where, params


def plan_filter(
    log_filter: LogFilter, text_query: str | None = None, *, regex_words: bool = True
) -> FilterPlan:
    """The SQL of ``log_filter``; ``text_query`` replaces the FTS5 query of its words.

    ``regex_words=False`` leaves the regex's words out of FTS5: when asking chunk by chunk, a
    prefix word would make FTS5 read its whole doclist each time; LIKE and Python still apply.
    """
    where, params = field_conditions(
        log_filter, lambda column, values: (f"{column} IN ({', '.join('?' * len(values))})",
                                            values))
    where.insert(0, "1")
    parts: list[str] = []
    fallback: list[str] = []
    fallback_params: list[str] = []
    text_query = text_query or fts_query(log_filter.text)
    if text_query:
        parts.append(f"({text_query})")
        for word in _words(log_filter.text):
            like = like_pattern(word)
            fallback.append(
                "(body LIKE ? ESCAPE '\\' OR attributes LIKE ? ESCAPE '\\' "
                "OR event_name LIKE ? ESCAPE '\\')"
            )
            fallback_params.extend((like, like, like))
    trigrams: str | None = None
    trigram_parts: tuple[str, ...] = ()
    if log_filter.regex:
        terms, literals = regex_prefilter(log_filter.regex)
        trigram_parts = trigram_terms(log_filter.regex)
        trigrams = " AND ".join(trigram_parts) or None
        if terms and regex_words and trigrams is None:
            parts.append(f"body : ({' AND '.join(terms)})")
        if literals:
            # One pattern, the literals in the regex's order: every match holds them so (they
            # are its top-level runs), and at 1M logs it leaves half the candidates two LIKEs do.
            where.append("body LIKE ? ESCAPE '\\'")
            params.append("%" + "%".join(like_pattern(literal)[1:-1] for literal in literals) + "%")
    return FilterPlan(
        " AND ".join(where),
        tuple(params),
        " AND ".join(parts) or None,
        " AND ".join(fallback) or "1",
        tuple(fallback_params),
        log_filter.regex,
        trigrams,
        trigram_parts,
    )


def text_condition(
    plan: FilterPlan, watermark: int, last_id: int
) -> tuple[str, tuple[object, ...]]:
    """``id`` is an FTS5 hit, or above the index's watermark and matching by LIKE."""
    if plan.fts is None:
        return "1", ()
    if watermark >= last_id:
        return "id IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?)", (plan.fts,)
    return (
        f"(id IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?) "
        f"OR (id > ? AND {plan.fallback}))",
        (plan.fts, watermark, *plan.fallback_params),
    )


def expanded_query(connection: sqlite3.Connection, text: str) -> str | None:
    """``fts_query(text)`` with a prefix last word replaced by the indexed words it stands for.

    FTS5 answers a prefix by merging the whole doclist of every word it covers, ignoring rowid
    ranges; paging asks it once per chunk, so a handful of exact words is far cheaper.
    """
    return _expanded(connection, text, count_alone=False)[0]


def expanded_query_and_hits(
    connection: sqlite3.Connection, text: str
) -> tuple[str | None, int | None]:
    """``expanded_query``, and how many logs it matches when the vocabulary says so for free:
    one word typed, standing for one indexed word (the vocabulary counts its logs as it lists
    it, as long as FTS5 takes to count them: asking again would read the doclist twice)."""
    return _expanded(connection, text, count_alone=True)


def _expanded(
    connection: sqlite3.Connection, text: str, count_alone: bool
) -> tuple[str | None, int | None]:
    """The expanded query, and a single word's count when ``count_alone`` asks for it.

    The vocabulary reads the whole doclist of every word it lists (to count it): the word as
    typed is listed only when its count is wanted (one word alone); otherwise it joins the
    query unasked (a word not indexed matches nothing) and only the longer words are listed,
    so "connection refused" reads "refused"'s doclist once, in the count, not twice.
    """
    query = fts_query(text)
    last = _words(text)[-1] if query else ""
    if not query or not query.endswith("*") or not (last.isascii() and last.isalnum()):
        return query, None
    prefix = last.lower()
    head = query.rpartition(" AND ")[0]
    alone = count_alone and not head
    try:
        words = connection.execute(
            "SELECT term, doc FROM logs_fts_vocab WHERE term >= ? AND term < ? LIMIT ?",
            # No term holds a NUL: from prefix + NUL on, the words longer than the prefix.
            (prefix if alone else prefix + "\0", prefix[:-1] + chr(ord(prefix[-1]) + 1),
             PREFIX_WORDS + 1),
        ).fetchall()
    except sqlite3.OperationalError:  # a store from before the vocabulary table
        return query, None
    if not alone:
        words = [(prefix, None), *words]
    if len(words) > PREFIX_WORDS:
        return query, None
    tail = "(" + (" OR ".join(f'"{w}"' for w, _ in words) or f'"{prefix}"') + ")"
    if head:
        return f"{head} AND {tail}", None
    if not alone:
        return tail, None
    return tail, (words[0][1] if len(words) == 1 else None) if words else 0


def id_range(after_id: int, last_id: int | None) -> tuple[str, tuple[int, ...]]:
    """Ids in (after_id, last_id]; no bound inside a snapshot of the whole store (None), and
    ``+id`` so that a bound covering nearly everything never steers SQLite to a table scan."""
    if after_id:
        return "id > ? AND id <= ?", (after_id, last_id or after_id)
    return ("1", ()) if last_id is None else ("+id <= ?", (last_id,))


def where_clause(*conditions: str) -> str:
    """A WHERE clause of the real conditions; none at all lets SQLite count a b-tree at once."""
    real = [c for c in conditions if c != "1"]
    return f"WHERE {' AND '.join(real)}" if real else ""
