"""A searched word's prefix as the indexed words it stands for.

FTS5 answers a prefix (``"w123"*``) by merging the matches of every word it covers across the
whole index before a rowid range applies, so each of the trace list's range reads of a word in
most runs (``trace_search.walk``) paid for the whole index: at 10M spans 'w123' (eleven words,
~300,000 runs) took 25–38 ms a read and 108 ms a page. The words are listed once instead, from
the index's vocabulary (~19 ms: listing a word reads its matches to count them), and asked as
an OR of whole words, which FTS5 seeks to a range: ~1 ms a read. The logs' text filter does the
same (``log_filter.expanded_query``).
"""

from __future__ import annotations

import sqlite3

from lumos_studio.store.trace_filter import fts_phrase

__all__ = ["PREFIX_WORDS", "text_query"]

PREFIX_WORDS = 32  # a prefix standing for more indexed words than this stays a prefix query
# The vocabulary of the message text's index, in the connection's own temporary schema: a
# reader's connection is read-only, and a store of any schema has the index.
_VOCABULARY = "temp.trace_text_words"


def text_query(connection: sqlite3.Connection, word: str) -> str | None:
    """``fts_phrase(word)``, its prefix replaced by the words it stands for when they are few
    (``("w123" OR "w1230" OR ...)``); None if the word has no letter or digit."""
    phrase = fts_phrase(word)
    if phrase is None or not phrase.endswith("*") or not (word.isascii() and word.isalnum()):
        return phrase  # a whole word, or one the tokenizer cuts or folds: as FTS5 reads it
    prefix = word.lower()
    try:
        connection.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {_VOCABULARY} "
                           "USING fts5vocab(main, trace_texts_fts, row)")
        words = connection.execute(
            f"SELECT term FROM {_VOCABULARY} WHERE term >= ? AND term < ? LIMIT ?",
            (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1), PREFIX_WORDS + 1),
        ).fetchall()
    except sqlite3.Error:  # no index to list (a store being made): the prefix as it is
        return phrase
    if not words or len(words) > PREFIX_WORDS:
        return phrase
    quoted = ('"' + str(term).replace('"', '""') + '"' for (term,) in words)  # an untrusted store
    return "(" + " OR ".join(quoted) + ")"
