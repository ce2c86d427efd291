"""The ids of indexed message texts: a text's id tells its trace.

A trace's ``text_seq`` sits in the high bits of each of its texts' ids, its own number in the
trace below. A search then finds the traces from the full-text index alone (``rowid >>
TEXT_ID_BITS``); looking each matching text up in ``trace_texts`` cost ~50 ms per 140,000
matches, and a prefix such as "w12" matched 350,000 in a store of a million spans.

The writer gives ids inside its transactions, beside the agent's thread: sqlite3 gives up the
GIL around every step of a statement, and each time the writer may wait for the agent's thread
to give it back. So what it reads here comes in one statement for the batch's traces, as
one row (JSON made by SQLite), not in a statement a trace.
"""

from __future__ import annotations

import functools
import sqlite3

import orjson

from lumos_studio.store.sql_batches import fixed_chunks
from lumos_studio.store.write_statements import statement_chunks

__all__ = ["TEXT_ID_BITS", "text_ids"]

TEXT_ID_BITS = 20  # texts of one trace: at most 2**20 - 1 (more are not indexed)
_TEXT_NUMBERS = (1 << TEXT_ID_BITS) - 1


def text_ids(connection: sqlite3.Connection, trace_ids: list[str]) -> list[int | None]:
    """An id for each text, given its trace's id (None: the trace is gone, or has too many
    texts); a trace seen for the first time gets its ``text_seq``, the next after the highest."""
    traces = list(dict.fromkeys(trace_ids))
    seqs = _text_seqs(connection, traces)
    last_ids = _last_text_ids(connection, [(t, s) for t, s in seqs.items() if s is not None])
    next_number: dict[str, int | None] = {}  # trace → base + the next text number
    new_seqs: list[tuple[int, str]] = []
    top = None
    for trace_id in traces:
        if trace_id not in seqs:
            next_number[trace_id] = None
            continue
        seq = seqs[trace_id]
        if seq is None:  # its first text: nothing of it in the index
            if top is None:  # past every id in the index too: words may outlive their trace
                top = connection.execute(
                    "SELECT max((SELECT coalesce(max(text_seq), 0) FROM traces), "
                    f"(SELECT coalesce(max(id), 0) >> {TEXT_ID_BITS} FROM trace_texts_fts_docsize))"
                ).fetchone()[0]
            top += 1
            new_seqs.append((top, trace_id))
            next_number[trace_id] = (top << TEXT_ID_BITS) + 1
            continue
        next_number[trace_id] = (last_ids.get(trace_id) or seq << TEXT_ID_BITS) + 1
    for seqs_chunk in fixed_chunks(new_seqs):
        connection.execute(_set_text_seqs(len(seqs_chunk)),
                           [v for pair in seqs_chunk for v in pair])
    ids: list[int | None] = []
    for trace_id in trace_ids:
        text_id = next_number[trace_id]
        if text_id is not None and text_id & _TEXT_NUMBERS == 0:  # the trace's range is full
            text_id = None
        ids.append(text_id)
        if text_id is not None:
            next_number[trace_id] = text_id + 1
    return ids


def _text_seqs(connection: sqlite3.Connection, traces: list[str]) -> dict[str, int | None]:
    """Each stored trace's ``text_seq`` (None: no text yet); a trace not stored is left out."""
    seqs: dict[str, int | None] = {}
    for chunk in statement_chunks(traces):
        found = connection.execute(_read_text_seqs(len(chunk)), chunk).fetchone()[0]
        seqs.update(orjson.loads(found))
    return seqs


def _last_text_ids(
    connection: sqlite3.Connection, seqs: list[tuple[str, int]]
) -> dict[str, int | None]:
    """The highest id each trace's texts have in the index (None: none left)."""
    last: dict[str, int | None] = {}
    for chunk in statement_chunks(seqs):
        values: list[str | int] = []
        for trace_id, seq in chunk:
            values += (trace_id, seq << TEXT_ID_BITS, (seq << TEXT_ID_BITS) + _TEXT_NUMBERS)
        found = connection.execute(_read_last_text_ids(len(chunk)), values).fetchone()[0]
        last.update(orjson.loads(found))
    return last


def _read_text_seqs(count: int) -> str:
    return (
        "SELECT coalesce(json_group_object(trace_id, text_seq), '{}') FROM traces "
        f"WHERE trace_id IN ({', '.join('?' * count)})"
    )


def _read_last_text_ids(count: int) -> str:
    return (
        "SELECT coalesce(json_group_object(batch.column1, (SELECT max(id) FROM "
        "trace_texts_fts_docsize WHERE id BETWEEN batch.column2 AND batch.column3)), '{}') "
        f"FROM (VALUES {', '.join(['(?, ?, ?)'] * count)}) AS batch"
    )


@functools.cache
def _set_text_seqs(count: int) -> str:
    return (
        "UPDATE traces SET text_seq = batch.column1 FROM (VALUES "
        + ", ".join(["(?, ?)"] * count)
        + ") AS batch WHERE traces.trace_id = batch.column2"
    )
