"""A trigram index of log messages, so a regex reads only the logs that can match it.

``logs_trigram`` (schema 10) is a contentless FTS5 table with the ``trigram`` tokenizer and
``detail='none'``: for each 3-character piece of a stored body (case-folded), which logs hold it,
and nothing else (~80 bytes a log). ``trigram_query`` reads a regex with the standard library's
parser and writes what every match must contain (its literal runs, through groups, repeats and
alternatives) as an FTS5 query of trigrams; the logs it finds are candidates, which the regex
then checks (the index cannot tell order or adjacency). A regex without a literal run of three
characters gets no query: it reads every log, as before.

The writer fills the index in the same statement pair as the words' index (``log_index
.index_new_logs``), so both cover the same logs: ``log_index.indexed_up_to`` is the watermark
of both, and logs above it are checked by a scan.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

try:  # the regex parser moved in 3.11; the old name still works, with a warning
    from re import _parser as _regex_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse as _regex_parser

CREATE_TRIGRAM_TABLE = (
    "CREATE VIRTUAL TABLE logs_trigram USING fts5(message, content='', tokenize='trigram', "
    "detail='none', columnsize=0)"
)
# The trigram index sees the body as stored (JSON text): a regex's literal that JSON escapes
# (a quote, a backslash, a control character) is never looked for in it.
INDEX_TRIGRAMS_ABOVE = (
    "INSERT INTO logs_trigram(rowid, message) SELECT id, coalesce(body, '') FROM logs "
    "WHERE id > ?"
)
TRIGRAMS_PER_LITERAL = 3  # spread over the literal; more narrow little, each costs a doclist read
MAX_TRIGRAMS = 12
SAMPLE = 5_000  # the newest indexed logs on which a query's terms are weighed
CANDIDATE_COST = 25  # a candidate read and checked costs as much as this many doclist entries

_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')
# Python's case-blind "i" also matches "ı" and "İ", which FTS5 (and LIKE) do not fold to "i": in
# a case-blind pattern, a trigram with an "i" could miss a match, so none is used.
_UNFOLDED = frozenset("iI")
# LIKE folds ASCII only: besides "i", Python's case-blind "k" matches the Kelvin sign and "s" the
# long s, which the trigram tokenizer folds to them but LIKE does not (``log_filter``).
UNFOLDED_BY_LIKE = "iIkKsS"


def case_blind(pattern: str) -> bool:
    """Whether ``pattern`` may match case-blindly somewhere: as ``log_filter.compile_regex``
    compiles it (no capitals), or by an inline flag."""
    return not any(c.isupper() for c in pattern) or "(?" in pattern


@dataclass(frozen=True, slots=True)
class _Literal:
    text: str


@dataclass(frozen=True, slots=True)
class _All:
    parts: tuple[_Need, ...]


@dataclass(frozen=True, slots=True)
class _Any:
    choices: tuple[_Need, ...]


_Need = _Literal | _All | _Any


def trigram_query(pattern: str) -> str | None:
    """The FTS5 query over ``logs_trigram`` that every match of ``pattern`` satisfies, or None
    when nothing certain can be said (no literal run of three usable characters)."""
    return " AND ".join(trigram_terms(pattern)) or None


def trigram_terms(pattern: str) -> tuple[str, ...]:
    """``trigram_query``'s terms, all of which a match needs (a trigram, or a group of
    alternatives): any of them alone is a weaker but still certain query."""
    try:
        items = _regex_parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return ()
    try:
        need = _sequence(list(items))
    except RecursionError:
        return ()
    if need is None:
        return ()
    budget = [MAX_TRIGRAMS]
    unusable = _UNFOLDED if case_blind(pattern) else frozenset[str]()
    parts = need.parts if isinstance(need, _All) else (need,)
    terms: list[str] = []
    for part in parts:
        if isinstance(part, _Literal):
            terms.extend(_chosen_trigrams(part.text, budget, unusable))
        elif query := _query(part, budget, unusable):
            terms.append(query if isinstance(part, _Any) else f"({query})")
    return tuple(terms)


def narrowest_query(
    connection: sqlite3.Connection, terms: Sequence[str], watermark: int
) -> str | None:
    """Those of ``terms`` worth their doclist: FTS5 reads each term's whole doclist, and a
    trigram in most logs (" re", "too") narrows little for what it costs. Weighed on the newest
    ``SAMPLE`` indexed logs (a query each, ~0.8 ms), rarest first, a term joins if the
    candidates it removes (each a row read and checked, ~1 µs) outweigh its doclist (~40 ns a
    log holding it). Any subset of the terms is a certain query: the regex checks the rest.
    """
    if len(terms) <= 1:
        return terms[0] if terms else None
    low = max(0, watermark - SAMPLE)
    holding = {
        term: {r[0] for r in connection.execute(
            "SELECT rowid FROM logs_trigram WHERE logs_trigram MATCH ? AND rowid > ? "
            "AND rowid <= ?", (term, low, watermark))}
        for term in terms
    }
    ranked = sorted(terms, key=lambda term: len(holding[term]))
    chosen, left = [ranked[0]], holding[ranked[0]]
    for term in ranked[1:]:
        narrowed = left & holding[term]
        if (len(left) - len(narrowed)) * CANDIDATE_COST > len(holding[term]):
            chosen.append(term)
            left = narrowed
    return " AND ".join(chosen)


def _sequence(items: list[tuple[object, object]]) -> _Need | None:
    """What a sequence of regex items needs: its literal runs and its parts' needs, all."""
    parser = _regex_parser
    parts: list[_Need] = []
    run = ""

    def close() -> None:
        nonlocal run
        for piece in _JSON_ESCAPED.split(run):
            if len(piece) >= 3:
                parts.append(_Literal(piece))
        run = ""

    for op, arg in items:
        if op is parser.LITERAL and isinstance(arg, int) and arg < 0x7F:
            run += chr(arg)
            continue
        close()
        need: _Need | None = None
        if op is parser.SUBPATTERN and isinstance(arg, tuple):
            need = _sequence(list(arg[-1]))
        elif op is getattr(parser, "ATOMIC_GROUP", None) and isinstance(arg, list):
            need = _sequence(arg)
        elif op in _REPEATS and isinstance(arg, tuple) and arg[0] >= 1:
            need = _sequence(list(arg[2]))
        elif op is parser.BRANCH and isinstance(arg, tuple):
            choices = [_sequence(list(branch)) for branch in arg[1]]
            if all(choice is not None for choice in choices):
                need = _Any(tuple(c for c in choices if c is not None))
        if need is not None:
            parts.append(need)
    close()
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else _All(tuple(parts))


_REPEATS = frozenset(
    op for op in (_regex_parser.MAX_REPEAT, _regex_parser.MIN_REPEAT,
                  getattr(_regex_parser, "POSSESSIVE_REPEAT", None)) if op is not None
)


def _query(need: _Need, budget: list[int], unusable: frozenset[str]) -> str | None:
    match need:
        case _Literal(text):
            grams = _chosen_trigrams(text, budget, unusable)
            return " AND ".join(grams) if grams else None
        case _All(parts):
            found = [q for q in (_query(p, budget, unusable) for p in parts) if q]
            return " AND ".join(found) if found else None
        case _Any(choices):
            options = [_query(c, budget, unusable) for c in choices]
            if not all(options):
                return None
            return "(" + " OR ".join(f"({q})" for q in options) + ")"
    return None  # pragma: no cover


def _chosen_trigrams(text: str, budget: list[int], unusable: frozenset[str]) -> list[str]:
    """Up to ``TRIGRAMS_PER_LITERAL`` of the literal's trigrams, spread from its start to its
    end (neighbours overlap and narrow little), quoted for FTS5."""
    grams = list(dict.fromkeys(
        text[i : i + 3].lower() for i in range(len(text) - 2)
        if not unusable.intersection(text[i : i + 3])
    ))
    room = min(TRIGRAMS_PER_LITERAL, budget[0])
    if len(grams) > room:
        step = (len(grams) - 1) / max(1, room - 1)
        grams = list(dict.fromkeys(grams[round(i * step)] for i in range(room)))
    budget[0] -= len(grams)
    return ['"' + g.replace('"', '""') + '"' for g in grams]
