"""Paging and jumping through resolved log matches: the rows at positions, a time's position.

``fetch_window`` starts from whichever known row is nearest the window (the first match, the
last, an ``Anchor`` of a window read before), so scrolling costs a page wherever it is. Far from
all of them, a text filter alone or a level alone starts from a match whose exact position
``log_ranks`` counts (``_ranked_anchor``); a free-text window near a known row walks the time
index in chunks and lets FTS5 check each chunk's ids. ``position_at`` is the jump: how many
matches come before a time. ``log_queries`` resolves the filter first (``LogMatches``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from lumos_studio.store.log_filter import FilterPlan, plan_filter, text_condition, where_clause
from lumos_studio.store.log_index import indexed_up_to
from lumos_studio.store.log_matches import (
    Anchor,
    Cancelled,
    LogMatches,
    LogRow,
    StopCheck,
    bisect_key,
    message_text,
)
from lumos_studio.store.log_ranks import (
    HitCount,
    IndexHits,
    TextHits,
    every_log,
    position,
)

CHUNK = 2_000  # index entries read per step when walking a large free-text result
LONG_WALK = 40_000  # index entries beyond which a free-text window is found by one SQL walk
REFINE_WITHIN = 2_000  # a level's anchor this many matches from the window is walked from


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
    anchors = list(anchors)
    key, forward, skip = _nearest_start(matches, offset, end, anchors)
    if (skip + end - offset) * matches.last_id // max(1, matches.count) > LONG_WALK and (
        ranked := _ranked_anchor(connection, matches, offset)
    ):
        if offset <= ranked.position < end:  # the anchor is in the window: walk both ways
            key = (ranked.time_ns, ranked.id)
            before = _walk(connection, matches, key, False, 0, ranked.position - offset,
                           should_stop)
            before.reverse()
            after = _walk(connection, matches, key, True, 0, end - ranked.position - 1,
                          should_stop)
            return _rows(connection, [*before, ranked.id, *after])
        key, forward, skip = _nearest_start(matches, offset, end, [*anchors, ranked])
    ids = _walk(connection, matches, key, forward, skip, end - offset, should_stop)
    if not forward:
        ids.reverse()
    return _rows(connection, ids)


def _nearest_start(
    matches: LogMatches, offset: int, end: int, anchors: Iterable[Anchor]
) -> tuple[tuple[int, int] | None, bool, int]:
    """Where to walk from for positions offset..end-1: (key to start after/before, or None
    for an end of the matches; forward?; matches to skip), the fewest skipped."""
    starts: list[tuple[int, tuple[int, int] | None, bool]] = [
        (offset, None, True),
        (matches.count - end, None, False),
    ]
    for anchor in anchors:
        if anchor.position < offset:
            starts.append((offset - anchor.position - 1, (anchor.time_ns, anchor.id), True))
        elif anchor.position >= end:
            starts.append((anchor.position - end, (anchor.time_ns, anchor.id), False))
    skip, key, forward = min(starts, key=lambda s: s[0])
    return key, forward, skip


def _ranked_hits(connection: sqlite3.Connection, matches: LogMatches) -> HitCount | None:
    """How ``log_ranks`` counts the matches in id order: a text filter alone (FTS5), a level
    alone (its index), no filter in a store without gaps in its ids; over a snapshot whose
    logs are all indexed and marked. None for the rest (they walk)."""
    log_filter = matches.filter
    if log_filter.regex or log_filter.trace_id or indexed_up_to(connection) < matches.last_id:
        return None
    plan = plan_filter(log_filter, matches.fts)
    if plan.fts is not None:
        return TextHits(connection, plan.fts) if plan.where == "1" else None
    if plan.where == "1":
        return every_log(connection)
    if log_filter.loggers or log_filter.services:
        # Their own index holds only their logs, in time order: counting through it up to a
        # time reads no more than counting their hits below an id would (it reads them all).
        return None
    return IndexHits(connection, plan.where, plan.params, "logs_by_level")


def _ranked_anchor(
    connection: sqlite3.Connection, matches: LogMatches, offset: int
) -> Anchor | None:
    """A match near position ``offset - 1`` with its exact position: the hit of that rank in
    id order (ids follow time closely), or for a level the first hit after the id of that
    share of the store, guessed again once or twice from the position found.
    The window is then a short walk from it, not a long one."""
    hits = _ranked_hits(connection, matches)
    if hits is None or offset == 0:
        return None
    rank, low, high = offset - 1, (0, 0), (matches.last_id, matches.count)
    anchor: Anchor | None = None
    for _ in range(3):
        near = hits.near(rank, matches.last_id, matches.count, low, high)
        if near is None:
            return anchor
        log_id, exact = near  # exact: the hit of that rank in id order
        row = connection.execute("SELECT time_ns FROM logs WHERE id = ?", (log_id,)).fetchone()
        if row is None:
            return anchor
        found = position(connection, hits, matches.last_id, row[0], log_id,
                         (log_id, rank) if exact else None)
        if found is None:
            return anchor
        anchor = Anchor(found, row[0], log_id)
        if exact or abs(found - rank) <= REFINE_WITHIN:
            return anchor
        low, high = ((log_id, found), high) if found < rank else (low, (log_id, found))
    return anchor


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
    plan = plan_filter(matches.filter, matches.fts)
    order = "" if forward else " DESC"
    compare = ">" if forward else "<"
    bound, bound_params = (f"(time_ns, id) {compare} (?, ?)", key) if key else ("1", ())
    watermark = indexed_up_to(connection) if plan.fts else 0
    walk = (skip + take) * matches.last_id // max(1, matches.count)  # index entries to read
    if plan.fts is None or walk > LONG_WALK:
        text, text_params = text_condition(plan, watermark, matches.last_id)
        hint = "INDEXED BY logs_by_time" if plan.fts else ""
        rows = connection.execute(
            f"SELECT id FROM logs {hint} {where_clause('+id <= ?', plan.where, text, bound)} "
            f"ORDER BY time_ns{order}, id{order} LIMIT ? OFFSET ?",
            (matches.last_id, *plan.params, *text_params, *bound_params, take, skip),
        ).fetchall()
        return [r[0] for r in rows]
    # Free text, near a known row: walk the time index in chunks; FTS5 checks each chunk's ids.
    found: list[int] = []
    while len(found) < skip + take:
        if should_stop is not None and should_stop():
            raise Cancelled
        chunk = connection.execute(
            f"SELECT time_ns, id FROM logs INDEXED BY logs_by_time "
            f"{where_clause('+id <= ?', plan.where, bound)} "
            f"ORDER BY time_ns{order}, id{order} LIMIT ?",
            (matches.last_id, *plan.params, *bound_params, CHUNK),
        ).fetchall()
        if not chunk:
            break
        hits = text_hits(connection, plan, [r[1] for r in chunk], watermark)
        found.extend(i for _, i in chunk if i in hits)
        bound, bound_params = f"(time_ns, id) {compare} (?, ?)", chunk[-1]
    return found[skip : skip + take]


def text_hits(
    connection: sqlite3.Connection, plan: FilterPlan, ids: Sequence[int], watermark: int
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


_ROW_COLUMNS = (
    "id, time_ns, severity_number, severity_text, body, scope_name, service_name, trace_id, "
    "span_id, event_name"
)


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
        LogRow(r[0], r[1], r[2] or 0, r[3] or "", message_text(r[4]), r[5] or "", r[6] or "", r[7],
               r[8], r[9] or "")
        for r in (found.get(i) for i in ids)
        if r is not None
    ]


def position_at(
    connection: sqlite3.Connection, matches: LogMatches, time_ns: int, log_id: int = 0
) -> int:
    """How many matches come before (``time_ns``, ``log_id``): the position to jump to for that
    time (clamp to ``count - 1`` for "the log nearest to T"), or of that very log."""
    if matches.times is not None and matches.ids is not None:
        return bisect_key(matches.times, matches.ids, time_ns, log_id)
    hits = _ranked_hits(connection, matches)
    if hits is not None and (
        (found := position(connection, hits, matches.last_id, time_ns, log_id)) is not None
    ):
        return found
    plan = plan_filter(matches.filter, matches.fts)
    watermark = indexed_up_to(connection) if plan.fts else 0
    text, text_params = text_condition(plan, watermark, matches.last_id)
    # The logger's or service's index holds (time_ns, id, severity_number) too: counting
    # through it reads only their logs, and no row (at 1M logs, one logger: 75 → 4 ms).
    index = ("logs_by_scope" if matches.filter.loggers
             else "logs_by_service" if matches.filter.services else "logs_by_time")
    params = (*plan.params, *text_params)

    def count(source: str, *conditions_and_params: tuple[str, tuple[object, ...]]) -> int:
        conditions = [c for c, _ in conditions_and_params]
        extra = [p for _, ps in conditions_and_params for p in ps]
        found: int = connection.execute(
            f"SELECT count(*) FROM logs {source} "
            f"{where_clause(plan.where, text, *conditions)}", (*params, *extra)).fetchone()[0]
        return found

    # Earlier times, plain range (half the cost of a row value and an id bound per entry);
    # then the same time's lower ids; less the logs written after the snapshot (a rowid range).
    before = count(f"INDEXED BY {index}", ("time_ns < ?", (time_ns,)))
    before += count(f"INDEXED BY {index}", ("time_ns = ? AND id < ?", (time_ns, log_id)))
    before -= count("NOT INDEXED", ("id > ?", (matches.last_id,)),
                    ("(time_ns, id) < (?, ?)", (time_ns, log_id)))
    return before
