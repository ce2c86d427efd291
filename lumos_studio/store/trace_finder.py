"""The trace list's page (``find_traces``) and its total (``count_matches``), read in one
snapshot: the pinned runs first, a word in most message texts walked in the list's order, runs
grouped by conversation; and the marks of a page's runs (failed at the root, suspended). Apart
from ``StoreReader``'s other reads (``store.queries``), which are each a statement or two.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING

from lumos_core.telemetry.semconv import LUMOS_WORKFLOW_STATUS, OP_INVOKE_WORKFLOW
from lumos_studio.span_compression import unpack
from lumos_studio.store import trace_index, trace_search
from lumos_studio.store.text_prefixes import text_query
from lumos_studio.store.trace_filter import (
    ROOT_FAILED_SQL,
    TEXT_MATCH_SQL,
    filter_sql,
    names_sql,
)
from lumos_studio.store.trace_page import (
    SORTS,
    WALKED_SORTS,
    TracePage,
    TraceQuery,
    TraceSummary,
    failed_by_filter,
)

__all__ = ["TraceFinder", "span_suspended"]

_GROUP_CHUNK = 200  # runs read at a time while finding the page's conversations
_SUSPENDED = "suspended"
_SUSPENDED_BYTES = _SUSPENDED.encode()
_STATUS_ONLY = frozenset({LUMOS_WORKFLOW_STATUS})


def span_suspended(stored: bytes | None) -> bool:
    """A stored ``invoke_workflow`` span (its ``span`` column) says its workflow suspended.

    Only spans whose bytes hold the word are decoded: protobuf keeps a string value's UTF-8
    bytes as they are, so a span whose bytes lack it cannot hold it as a value."""
    from lumos_studio.otlp.proto_span import decode_span_attributes  # protobuf: when asked

    if not stored:
        return False
    otlp = unpack(stored)
    if _SUSPENDED_BYTES not in otlp:
        return False
    return decode_span_attributes(otlp, _STATUS_ONLY).get(LUMOS_WORKFLOW_STATUS) == _SUSPENDED


class TraceFinder:
    """The trace list's queries of ``StoreReader``; the PostgreSQL reader overrides
    ``find_traces`` and ``count_matches`` and keeps the marks."""

    if TYPE_CHECKING:
        @property
        def _db(self) -> sqlite3.Connection: ...  # ``StoreReader``'s: this thread's connection

    def _mark_suspended(self, summaries: list[TraceSummary]) -> list[TraceSummary]:
        """Mark the traces where a workflow suspended (its ``invoke_workflow`` span says
        ``lumos.workflow.status = suspended``). Read per page, not stored: the attribute may
        sit in a span's OTLP bytes, which SQL cannot look into, and only workflow spans of
        finished traces are read. Only those whose bytes hold the word are decoded: a run of
        5,000 workflows took ~240 ms to decode, on every page that showed it."""
        summaries = self._mark_failed(summaries)
        done = [t.trace_id for t in summaries if not t.running and not t.failed]
        if not done:
            return summaries
        suspended: set[str] = set()
        for start in range(0, len(done), 500):
            chunk = done[start : start + 500]
            rows = self._db.execute(  # the operation as written in the index ``spans_workflows``
                f"SELECT trace_id, span FROM spans WHERE trace_id IN "
                f"({', '.join('?' * len(chunk))}) AND operation = '{OP_INVOKE_WORKFLOW}'", chunk)
            suspended.update(trace_id for trace_id, stored in rows if span_suspended(stored))
        if not suspended:
            return summaries
        return [replace(t, suspended=True) if t.trace_id in suspended else t for t in summaries]

    def _mark_failed(self, summaries: list[TraceSummary]) -> list[TraceSummary]:
        """Say which traces with an error failed at their root (``trace_filter.ROOT_FAILED_SQL``,
        the same rule the ``status:`` filter uses), unless already said."""
        erred = [t.trace_id for t in summaries if t.error_count and t.root_failed is None]
        if not erred:
            return summaries
        failed: dict[str, bool] = {}
        for start in range(0, len(erred), 500):
            chunk = erred[start : start + 500]
            failed.update(self._db.execute(
                f"SELECT t.trace_id, {ROOT_FAILED_SQL} FROM traces t "
                f"WHERE t.trace_id IN ({', '.join('?' * len(chunk))})", chunk).fetchall())
        return [replace(t, root_failed=bool(failed[t.trace_id])) if t.trace_id in failed else t
                for t in summaries]

    def find_traces(self, query: TraceQuery) -> TracePage:
        """The trace list: matches of ``query.filter``, pinned ones on top.

        Pinned traces come first (they are few: read in full); the rest is one ordered, limited
        read, which the ``traces_by_start`` index serves for the default order. Grouped, the
        conversations are ordered by their newest run and each one keeps the chosen sort.
        """
        return self._in_snapshot(query, walk=True)

    def count_matches(self, query: TraceQuery) -> int:
        """How many traces match ``query``: the total a page came without (``counted`` False:
        a word in most message texts, or a count that reads every run), every word's matches
        read in full."""
        return self._in_snapshot(query, walk=False).total

    def _in_snapshot(self, query: TraceQuery, *, walk: bool) -> TracePage:
        db = self._db
        if db.in_transaction:
            return self._find_traces(query, walk)
        db.execute("BEGIN")  # one snapshot for the text matches, the page and the count
        try:
            return self._find_traces(query, walk)
        finally:
            db.execute("ROLLBACK")  # nothing to keep: the matches' tables are scratch

    def _find_traces(self, query: TraceQuery, walk: bool) -> TracePage:
        db = self._db
        names = {word: matched for word in query.filter.words
                 if (matched := trace_search.names_matching(db, word)) is not None}
        phrases = {word: phrase for word in dict.fromkeys(query.filter.words)
                   if (phrase := text_query(db, word)) is not None}
        dense = {word: phrase for word, phrase in phrases.items()
                 if walk and not query.grouped and query.sort in WALKED_SORTS
                 and trace_search.is_dense(db, phrase)}
        # A thread: value's conversations, unless a word's few text matches lead the search
        # (reading them costs more than the LIKE on their runs: 26 → 40 ms at 3M spans).
        threads = {value: ids for value in query.filter.threads
                   if (dense or not query.filter.words)
                   and (ids := trace_search.threads_matching(db, value)) is not None}
        walked = self._walked_page(query, dense, phrases, names, threads) if dense else None
        if walked is not None:
            return walked
        texts = self._match_texts(phrases)
        where, params = filter_sql(query.filter, texts, names, threads)
        order = SORTS[query.sort]
        # Words found only in message text: their runs, by id, when they are few.
        hits, found = None, 0
        if texts and len(texts) == len(query.filter.words) and not any(
                any(values.values()) for values in names.values()) and len(names) == len(texts):
            hits, found = trace_search.text_hits(db, list(texts.values()))
        pinned = [TraceSummary(**dict(row)) for row in db.execute(  # the few pinned first, by
            "WITH p AS MATERIALIZED (SELECT * FROM traces WHERE pinned_ns IS NOT NULL) "  # their
            f"SELECT t.* FROM p t WHERE {where} "  # index, not by walking every run in order
            f"ORDER BY {order} LIMIT ?", (*params, query.limit))]
        rest = f"t.pinned_ns IS NULL AND {where}"
        room = query.limit - len(pinned)
        sizes: dict[str | None, int] = {}
        if query.grouped:
            others = self._grouped(rest, params, order, room, sizes)
        elif hits is not None and found <= trace_search.SPARSE_HITS:
            others = [TraceSummary(**dict(row)) for row in db.execute(
                f"SELECT t.* FROM {hits} h CROSS JOIN traces t ON t.text_seq = h.text_seq "
                f"WHERE {rest} ORDER BY {order} LIMIT ?", (*params, room))]
        else:
            others = [TraceSummary(**dict(row)) for row in db.execute(
                f"SELECT t.* FROM traces t WHERE {rest} ORDER BY {order} LIMIT ?",
                (*params, room))]
        counted = True
        if len(pinned) + len(others) < query.limit:
            total = len(pinned) + len(others)
        elif walk and not query.grouped and not query.filter.empty and (
                hits is None or found > trace_search.SPARSE_HITS):
            # Counting reads every run ("status:error", "tool:x": a third of their time at 3M
            # spans, linear in the store): the page first, its total later (``count_matches``).
            total, counted = len(pinned) + len(others), False
        elif hits is not None and found <= trace_search.SPARSE_HITS:  # their runs, not all
            total = db.execute(
                f"SELECT count(*) FROM {hits} h CROSS JOIN traces t ON t.text_seq = h.text_seq "
                f"WHERE {where}", params).fetchone()[0]
        else:
            total = db.execute(f"SELECT count(*) FROM traces t WHERE {where}", params).fetchone()[0]
        unindexed = trace_index.pending_count(db) if query.filter.words else 0
        summaries = self._mark_suspended(failed_by_filter(query.filter, pinned + others))
        return TracePage(query, summaries, total, sizes, len(pinned), unindexed, counted)

    def _walked_page(self, query: TraceQuery, dense: dict[str, str], phrases: dict[str, str],
                     names: dict[str, dict[str, list[str]]], threads: dict[str, list[str]]
                     ) -> TracePage | None:
        """The page of a search for words in most message texts (``dense``: word → phrase):
        the runs in the list's order, each chunk's texts looked up (``trace_search.walk``),
        until the page is full; the total is counted later (``count_matches``). None when the
        runs read did not fill it (the words are rarer than their texts said)."""
        db = self._db
        rest = replace(query.filter, words=tuple(w for w in query.filter.words if w not in dense))
        texts = self._match_texts({w: p for w, p in phrases.items() if w not in dense})
        where, params = filter_sql(rest, texts, names, threads)
        flags, flag_params = [], []
        for word in dense:
            sql, sql_params = names_sql(word, names.get(word))
            flags.append(sql)
            flag_params.extend(sql_params)
        head = f"SELECT t.trace_id, t.text_seq, {', '.join(flags)} FROM"
        order, walked = SORTS[query.sort], list(dense.values())
        pinned = trace_search.walk(
            db, f"WITH p AS MATERIALIZED (SELECT * FROM traces WHERE pinned_ns IS NOT NULL) "
            f"{head} p t WHERE {where} ORDER BY {order}", [*flag_params, *params], walked,
            query.limit)
        others = pinned and trace_search.walk(
            db, f"{head} traces t WHERE t.pinned_ns IS NULL AND {where} ORDER BY {order}",
            [*flag_params, *params], walked, query.limit - len(pinned[0]))
        if not pinned or not others:
            return None
        (pinned_ids, all_pinned), (other_ids, all_others) = pinned, others
        ids = pinned_ids + other_ids
        rows: dict[str, TraceSummary] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows.update((row["trace_id"], TraceSummary(**dict(row))) for row in db.execute(
                f"SELECT * FROM traces WHERE trace_id IN ({', '.join('?' * len(chunk))})",
                chunk))
        summaries = self._mark_suspended(failed_by_filter(query.filter, [rows[i] for i in ids]))
        counted = all_pinned and all_others
        return TracePage(query, summaries, len(summaries), {}, len(pinned_ids),
                         trace_index.pending_count(db), counted)

    def _match_texts(self, phrases: dict[str, str]) -> dict[str, str]:
        """Each searched word's message-text matches (``phrases``: word → its full-text query),
        as a temporary table of their traces' ``text_seq``: a statement with the match inside
        ran it again for each of the page, the count and the groups."""
        db = self._db
        tables: dict[str, str] = {}
        for word, phrase in phrases.items():
            table = f"temp.text_match_{len(tables)}"
            db.execute(f"CREATE TABLE IF NOT EXISTS {table} (text_seq INTEGER PRIMARY KEY)")
            db.execute(f"DELETE FROM {table}")
            db.execute(f"INSERT OR IGNORE INTO {table} {TEXT_MATCH_SQL}", (phrase,))
            tables[word] = table
        return tables

    def _grouped(self, where: str, params: list[object], order: str, room: int,
                 sizes: dict[str | None, int]) -> list[TraceSummary]:
        """Conversations by their newest run, each in ``order``: the runs newest first (the
        start index, read in chunks) name the groups in their order until the groups found fill
        ``room``; then the runs of just those groups. What is read grows with the page, not
        with the store (grouping every conversation took 109 ms at 3M spans)."""
        chosen: dict[str | None, int] = {}  # conversation → its place
        taken, bound, bound_params = 0, "1", ()
        while taken < room:
            chunk = self._db.execute(
                f"SELECT t.conversation_id, t.start_ns, t.trace_id FROM traces t "
                f"WHERE {where} AND {bound} ORDER BY t.start_ns DESC, t.trace_id DESC LIMIT ?",
                (*params, *bound_params, _GROUP_CHUNK)).fetchall()
            for conversation, _, _ in chunk:
                if conversation in chosen or taken >= room:
                    continue
                chosen[conversation] = len(chosen)
                sizes[conversation] = size = self._group_size(where, params, conversation)
                taken += size
            if len(chunk) < _GROUP_CHUNK:
                break
            bound = "(t.start_ns, t.trace_id) < (?, ?)"
            bound_params = tuple(chunk[-1][1:])
        named = [c for c in chosen if c is not None]
        among = " OR ".join(
            ([f"t.conversation_id IN ({', '.join('?' * len(named))})"] if named else [])
            + (["t.conversation_id IS NULL"] if None in chosen else [])) or "0"
        rows = [TraceSummary(**dict(row)) for row in self._db.execute(
            f"SELECT t.* FROM traces t WHERE {where} AND ({among}) ORDER BY {order}",
            (*params, *named))]
        rows.sort(key=lambda t: chosen[t.conversation_id])  # stable: keeps ``order`` inside
        return rows[:room]

    def _group_size(self, where: str, params: list[object], conversation: str | None) -> int:
        """How many runs of a conversation match (its index, then the filter on each)."""
        same = "t.conversation_id IS NULL" if conversation is None else "t.conversation_id = ?"
        size: int = self._db.execute(
            f"SELECT count(*) FROM traces t WHERE {same} AND {where}",
            (*([] if conversation is None else [conversation]), *params)).fetchone()[0]
        return size
