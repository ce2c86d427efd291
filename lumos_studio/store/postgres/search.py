"""Message-text search on PostgreSQL: the same words FTS5 finds in SQLite.

SQLite's ``unicode61`` tokenizer makes words of runs of letters and digits; PostgreSQL's parser
knows e-mail addresses, URLs, hyphenated words and file paths. So both sides are cut here the
``unicode61`` way first, and PostgreSQL sees only words between spaces (config ``simple``:
lower-cased, no stemming, no stop words). A searched word becomes the same phrase
``trace_filter.fts_phrase`` makes: its tokens adjacent, the last a prefix from
``PREFIX_MIN_CHARS`` characters on.
"""

from __future__ import annotations

import re

from lumos_studio.store.trace_filter import PREFIX_MIN_CHARS

_TOKEN = re.compile(r"[^\W_]+")
_SEPARATORS = re.compile(r"[\W_]+")
# A tsvector holds at most 1 MB; a span's new message text is far below, a runaway one is cut.
MAX_TEXT_CHARS = 200_000


def searchable(text: str) -> str:
    """``text`` as words between single spaces, for ``to_tsvector('simple', …)`` (one pass in
    C: a chat span's messages are hundreds of words). A word past 2,047 bytes is left out by
    PostgreSQL's parser."""
    return _SEPARATORS.sub(" ", text[:MAX_TEXT_CHARS]).strip()


def tsquery(word: str) -> str | None:
    """``gpt-4o`` → ``'gpt' <-> '4o':*`` for ``to_tsquery('simple', …)``; None if no word."""
    tokens = _TOKEN.findall(word.lower())
    if not tokens:
        return None
    star = ":*" if len(word) >= PREFIX_MIN_CHARS else ""
    return " <-> ".join(f"'{token}'" for token in tokens) + star
