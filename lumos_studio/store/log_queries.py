"""Filtering and paging log records for a virtualised list: a count, then windows by position.

A view shows logs ordered by (time_ns, id) and asks only for the rows on screen. ``match_logs``
resolves a ``LogFilter`` once (how many logs match, up to which id); ``log_windows.fetch_window``
returns the rows at positions ``offset .. offset+limit``; ``update_matches`` adds the logs written
since. The shapes they share are in ``log_matches``.

How each filter stays fast at a million rows (figures: ``python -m bench logs_filter``):

- level, logger, service: SQL over indexes that end with (time_ns, id, severity_number), so
  counting and paging a level filter reads one index, never the rows. Windows near either end,
  or next to a known row (an ``Anchor``), cost a page. Far from them, a level alone starts
  from a match near the id of that share of the store, its exact position counted by
  ``log_ranks`` (the level index's hits below its id, and the few logs that came late), and
  so are its jumps; no filter in a store without gaps in its ids counts by subtraction. A
  logger or service walks its own index, which holds only its logs.
- free text: FTS5 (``logs_fts``) counts at once (one word typed: the vocabulary counts it as
  it expands the prefix; several: the vocabulary lists only the longer words of the last one,
  so each doclist is read once, by the count). Its hits come in id order, not time order, so
  small results (``MATERIALIZE_LIMIT``) are sorted in Python once and sliced; large ones are paged
  by walking the time index in chunks and keeping the ids FTS5 finds in each chunk's id range
  (a typed prefix is first expanded to its words: FTS5 reads a prefix's whole doclist per query).
  Far from both ends and from known rows, a text filter alone starts from the hit of the same
  rank in id order, its exact position counted by ``log_ranks`` (FTS5 counts, and the few logs
  the writer marked as late); its jumps are counted the same way. With other parts, or logs
  not indexed yet, one SQL walk checks each index entry against the hits.
- regex: Python's ``re`` on the message, over candidates narrowed by the filter's other parts,
  by the trigram index (``log_trigrams``: only the terms worth their doclist on the newest logs)
  and the pattern's literal substrings in their order (one LIKE, in C). It
  runs as a function registered on the connection, inside the rows' query, so only matches cross
  into Python (a fifth of a million logs' count: the rest is reading candidates and the regex);
  a newer filter stops it between rows, and the sorted result makes every later window a slice.
  A pattern without a literal run of three characters still reads every row.
- trace / span: the ``logs_by_span`` index, then as small results.

Every function takes a plain read-only ``sqlite3.Connection`` and runs on the caller's thread:
panes call them from thread workers. What a filter means in SQL is ``log_filter``'s job.
"""

from __future__ import annotations

import re
import sqlite3
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from lumos_studio.store.log_filter import (
    FilterPlan,
    LogFilter,
    compile_regex,
    expanded_query,
    expanded_query_and_hits,
    id_range,
    plan_filter,
    text_condition,
    where_clause,
)
from lumos_studio.store.log_index import indexed_up_to
from lumos_studio.store.log_matches import (
    Cancelled,
    LogMatches,
    Progress,
    StopCheck,
    bisect_key,
    message_text,
    read_share,
    snapshot,
)
from lumos_studio.store.log_trigrams import narrowest_query
from lumos_studio.store.log_windows import text_hits

MATERIALIZE_LIMIT = 20_000  # results up to this size are sorted once in Python, then sliced
CHUNK = 2_000  # rows read per step for a first screen (``newest_matches``)

# --- resolving a filter: count, and the sorted result when small ---


def match_logs(
    connection: sqlite3.Connection, log_filter: LogFilter, should_stop: StopCheck | None = None,
    progress: Progress | None = None,
) -> LogMatches:
    """Count the logs matching ``log_filter`` now; sort them in memory when that is cheap.
    A regex's count tells ``progress`` the share of the logs it has read as it goes."""
    with snapshot(connection):
        last_id = connection.execute("SELECT coalesce(max(id), 0) FROM logs").fetchone()[0]
        fts, hits = expanded_query_and_hits(connection, log_filter.text)
        plan = plan_filter(log_filter, fts)
        watermark = indexed_up_to(connection) if plan.fts or plan.trigram else 0
        if not log_filter.regex:
            if hits is not None and plan.where == "1" and watermark >= last_id:
                count = hits  # one word alone: the vocabulary counted its logs
            else:
                count = _count(connection, plan, 0, None, watermark, last_id)
            # Level, logger and service page well from their indexes: only text and trace
            # results, which SQLite cannot read in display order, are sorted here.
            if count > MATERIALIZE_LIMIT or not (plan.fts or log_filter.trace_id):
                return LogMatches(log_filter, count, last_id, fts=fts)
        found = _materialize(connection, plan, 0, None, watermark, last_id, should_stop,
                             progress)
    return LogMatches(log_filter, len(found[0]), last_id, *found, fts=fts)


def update_matches(
    connection: sqlite3.Connection, matches: LogMatches, should_stop: StopCheck | None = None
) -> LogMatches:
    """``matches`` plus the logs written since it was resolved (a live view's cheap refresh).

    Deleted logs are not noticed: resolve again with ``match_logs`` after a delete.
    """
    log_filter, after_id = matches.filter, matches.last_id
    with snapshot(connection):
        last_id = connection.execute("SELECT coalesce(max(id), 0) FROM logs").fetchone()[0]
        if last_id <= after_id:
            return matches
        plan = plan_filter(log_filter, matches.fts)
        watermark = indexed_up_to(connection) if plan.fts or plan.trigram else 0
        if matches.times is None or matches.ids is None:
            added = _count(connection, plan, after_id, last_id, watermark, last_id)
            return replace(matches, count=matches.count + added, last_id=last_id)
        new_times, new_ids = _materialize(
            connection, plan, after_id, last_id, watermark, last_id, should_stop
        )
    times, ids = array("q", matches.times), array("q", matches.ids)
    for time_ns, log_id in zip(new_times, new_ids, strict=True):
        if not ids or (time_ns, log_id) > (times[-1], ids[-1]):
            times.append(time_ns)
            ids.append(log_id)
        else:  # a late log (an earlier time arriving after later ones): insert it in place
            index = bisect_key(times, ids, time_ns, log_id)
            times.insert(index, time_ns)
            ids.insert(index, log_id)
    if len(ids) > 4 * MATERIALIZE_LIMIT and not log_filter.regex:
        return replace(matches, count=len(ids), last_id=last_id, times=None, ids=None)
    return replace(matches, count=len(ids), last_id=last_id, times=times, ids=ids)


def _count(
    connection: sqlite3.Connection,
    plan: FilterPlan,
    after_id: int,
    last_id: int | None,
    watermark: int,
    max_id: int,
) -> int:
    """Matches among ids in (after_id, last_id]; ``max_id`` is the store's highest id."""
    if plan.fts is not None and plan.where == "1":
        # Text alone: FTS5 counts its hits itself; only unindexed rows need a scan. Bounds
        # that hold every indexed id are left out (FTS5 would test each hit against them).
        upto = min(last_id or max_id, watermark)
        bound_params: tuple[int, ...]
        if after_id or upto < watermark:
            bounds, bound_params = " AND rowid > ? AND rowid <= ?", (after_id, upto)
        else:
            bounds, bound_params = "", ()
        indexed: int = connection.execute(
            f"SELECT count(*) FROM logs_fts WHERE logs_fts MATCH ?{bounds}",
            (plan.fts, *bound_params),
        ).fetchone()[0]
        if watermark >= max_id:
            return indexed
        rest: int = connection.execute(
            f"SELECT count(*) FROM logs WHERE id > ? AND id <= ? AND {plan.fallback}",
            (max(after_id, watermark), max_id, *plan.fallback_params),
        ).fetchone()[0]
        return indexed + rest
    text, text_params = text_condition(plan, watermark, max_id)
    ids, id_params = id_range(after_id, last_id)
    count: int = connection.execute(
        f"SELECT count(*) FROM logs {where_clause(ids, plan.where, text)}",
        (*id_params, *plan.params, *text_params),
    ).fetchone()[0]
    return count


def _materialize(
    connection: sqlite3.Connection,
    plan: FilterPlan,
    after_id: int,
    last_id: int | None,
    watermark: int,
    max_id: int,
    should_stop: StopCheck | None,
    progress: Progress | None = None,
) -> tuple[array[int], array[int]]:
    """Every match's (times, ids) in display order; the regex runs here, over the candidates
    (those the trigram index finds, and a scan of the logs it holds not yet)."""
    text, text_params = text_condition(plan, watermark, max_id)
    ids, id_params = id_range(after_id, last_id)
    pattern = compile_regex(plan.regex) if plan.regex else None
    if pattern is not None:
        read = _ReadShare(progress, after_id, last_id or max_id)
        with _regex_function(connection, pattern, should_stop, read) as call:
            return _materialize_where(connection, plan, call, text, text_params, ids,
                                      id_params, watermark, should_stop)
    return _materialize_where(connection, plan, "1", text, text_params, ids, id_params,
                              watermark, should_stop)


class _ReadShare:
    """Tells ``progress`` how far a count through ids ``after_id`` .. ``last_id`` has read
    (its candidates come in id order: the trigram index's, then the logs it holds not yet)."""

    def __init__(self, progress: Progress | None, after_id: int, last_id: int) -> None:
        self._progress = progress
        self._first, self._last = after_id, last_id

    def at(self, log_id: int) -> None:
        if self._progress is not None:
            self._progress(read_share(log_id, self._first, self._last))


@contextmanager
def _regex_function(
    connection: sqlite3.Connection, pattern: re.Pattern[str], should_stop: StopCheck | None,
    read: _ReadShare,
) -> Iterator[str]:
    """``pattern`` as an SQL function of a log's id and body, for the rows' own query: the
    rows that fail it never cross into Python (at a million logs, ~20 ms of ~110 for a regex's
    count). Every 4,096 rows, a newer request stops the query (``Cancelled``) and the count
    tells how far it has read."""
    search = pattern.search
    calls = [0]
    stopped = [False]

    def matches(log_id: int, body: str | None) -> bool:
        calls[0] += 1
        if not calls[0] % 4096:
            if should_stop is not None and should_stop():
                stopped[0] = True
                raise Cancelled
            read.at(log_id)
        return body is not None and search(message_text(body)) is not None

    connection.create_function(_REGEX_FUNCTION, 2, matches)
    try:
        yield f"{_REGEX_FUNCTION}(id, body)"
    except sqlite3.OperationalError:
        if stopped[0]:
            raise Cancelled from None
        raise
    finally:
        connection.create_function(_REGEX_FUNCTION, 2, None)


_REGEX_FUNCTION = "lumos_regex_matches"


def _materialize_where(
    connection: sqlite3.Connection,
    plan: FilterPlan,
    matching: str,
    text: str,
    text_params: tuple[object, ...],
    ids: str,
    id_params: tuple[object, ...],
    watermark: int,
    should_stop: StopCheck | None,
) -> tuple[array[int], array[int]]:
    """The (times, ids) of the rows that pass the plan and ``matching`` (an SQL condition)."""
    columns = "time_ns, id"
    params = (*id_params, *plan.params, *text_params)
    if plan.trigram:
        candidates = "logs_trigram MATCH ? AND logs_trigram.rowid <= ?"
        query = narrowest_query(connection, plan.trigram_terms, watermark) or plan.trigram
        cursors = [
            connection.execute(
                f"SELECT {columns} FROM logs_trigram CROSS JOIN logs ON id = logs_trigram.rowid "
                f"{where_clause(candidates, ids, plan.where, text, matching)}",
                (query, watermark, *params),
            ),
            connection.execute(
                f"SELECT {columns} FROM logs "
                f"{where_clause('id > ?', ids, plan.where, text, matching)}",
                (watermark, *params),
            ),
        ]
    else:
        cursors = [connection.execute(
            f"SELECT {columns} FROM logs {where_clause(ids, plan.where, text, matching)}",
            params)]
    keys: list[tuple[int, int]] = []
    for cursor in cursors:
        while batch := cursor.fetchmany(5_000):
            if should_stop is not None and should_stop():
                raise Cancelled
            keys.extend(batch)
    keys.sort()
    return array("q", (k[0] for k in keys)), array("q", (k[1] for k in keys))


def newest_matches(
    connection: sqlite3.Connection,
    log_filter: LogFilter,
    limit: int,
    should_stop: StopCheck | None = None,
    max_rows: int = 200_000,
) -> LogMatches:
    """The newest ``limit`` matches (or those within the newest ``max_rows`` logs or trigram
    candidates), counted no further: a first screen to show while ``match_logs`` reads every
    candidate of a regex."""
    with snapshot(connection):
        last_id = connection.execute("SELECT coalesce(max(id), 0) FROM logs").fetchone()[0]
        text = expanded_query(connection, log_filter.text)
        plan = plan_filter(log_filter, text, regex_words=False)
        watermark = indexed_up_to(connection) if plan.fts or plan.trigram else 0
        pattern = compile_regex(plan.regex) if plan.regex else None
        keys: list[tuple[int, int]] = []
        for chunk in _newest_candidates(connection, plan, watermark, max_rows):
            if should_stop is not None and should_stop():
                raise Cancelled
            ids = [r[1] for r in chunk]
            hits = text_hits(connection, plan, ids, watermark) if plan.fts else None
            search = pattern.search if pattern else None
            keys.extend(
                (t, i) for t, i, body in chunk
                if (hits is None or i in hits) and (search is None or search(message_text(body)))
            )
            if len(keys) >= limit:
                break
    newest = sorted(keys, reverse=True)[:limit]
    newest.reverse()
    times = array("q", (k[0] for k in newest))
    return LogMatches(log_filter, len(newest), last_id, times, array("q", (k[1] for k in newest)))


def _newest_candidates(
    connection: sqlite3.Connection, plan: FilterPlan, watermark: int, max_rows: int
) -> Iterator[list[tuple[int, int, str]]]:
    """Chunks of (time_ns, id, body), newest first: the time index's entries, or with a
    trigram query the logs not indexed yet, then the index's candidates by descending id
    (ids follow arrival, close to time order: this is a first screen, not the result)."""
    read = 0
    bound: str
    bound_params: tuple[object, ...]
    if plan.trigram:
        steps = [
            ("FROM logs", "id > ?", (watermark,), "id"),
            ("FROM logs_trigram CROSS JOIN logs ON id = logs_trigram.rowid",
             "logs_trigram MATCH ? AND logs_trigram.rowid <= ?", (plan.trigram, watermark),
             "logs_trigram.rowid"),
        ]
        for source, condition, params, key in steps:
            bound, bound_params = "1", ()
            while read < max_rows:
                chunk = connection.execute(
                    f"SELECT time_ns, id, body {source} "
                    f"{where_clause(condition, plan.where, bound)} ORDER BY {key} DESC LIMIT ?",
                    (*params, *plan.params, *bound_params, CHUNK),
                ).fetchall()
                if not chunk:
                    break
                read += len(chunk)
                yield chunk
                bound, bound_params = f"{key} < ?", (chunk[-1][1],)
        return
    bound, bound_params = "1", ()
    while read < max_rows:
        chunk = connection.execute(
            f"SELECT time_ns, id, body FROM logs INDEXED BY logs_by_time "
            f"{where_clause(plan.where, bound)} ORDER BY time_ns DESC, id DESC LIMIT ?",
            (*plan.params, *bound_params, CHUNK),
        ).fetchall()
        if not chunk:
            break
        read += CHUNK
        yield chunk
        bound, bound_params = "(time_ns, id) < (?, ?)", chunk[-1][:2]
