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
# A tsvector holds at most 1 MB; a span's new message text is far below, a runaway one is cut.
MAX_TEXT_CHARS = 200_000
# Longer tokens are dropped by PostgreSQL's parser anyway (2,047 bytes), with a notice each.
_MAX_TOKEN_CHARS = 500


def searchable(text: str) -> str:
    """``text`` as words between single spaces, for ``to_tsvector('simple', …)``."""
    return " ".join(t for t in _TOKEN.findall(text[:MAX_TEXT_CHARS]) if len(t) <= _MAX_TOKEN_CHARS)


def tsquery(word: str) -> str | None:
    """``gpt-4o`` → ``'gpt' <-> '4o':*`` for ``to_tsquery('simple', …)``; None if no word."""
    tokens = _TOKEN.findall(word.lower())
    if not tokens:
        return None
    star = ":*" if len(word) >= PREFIX_MIN_CHARS else ""
    return " <-> ".join(f"'{token}'" for token in tokens) + star
