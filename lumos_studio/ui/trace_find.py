"""Finding spans in the shown trace: by the name its row shows, its span id, the words of its
messages, and what it does.

A find matches what the row says (the name as shown, ``SpanIndex.label``), case folded; a span
id (a log line's, a teammate's message) finds its span from ``MIN_ID_DIGITS`` hex digits on; and
the spans whose messages hold its words count too, once the store has said which (the full-text
index: ``StoreReader.spans_with_words``, asked in a worker). ``is:model``, ``is:tool`` … keep the
spans that do that, in whatever dialect they came (the bar colour families the semantics layer
gives, ``waterfall_layout.KINDS``), and ``is:error`` those that failed; alone, they find every
such span. Matches run in tree order, folded spans included: the tree unfolds a match's
ancestors when the cursor goes to it. Kept free of Textual, like ``waterfall_layout``.
"""

from __future__ import annotations

import bisect
import itertools
import string
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["IS_VALUES", "MIN_ID_DIGITS", "Found", "SpanFinder", "TraceMatches"]

MIN_ID_DIGITS = 8  # fewer hex digits match names and ids alike by chance ("add", "cafe")
_HEX = frozenset(string.hexdigits.lower())
_KINDS = ("agent", "model", "tool", "retrieval", "workflow")  # ``is:`` what a span does
IS_VALUES = (*_KINDS, "error")


class SpanFinder:
    """What one find looks for: a part of a name, an id's first digits when it can be one, the
    spans whose messages hold its words once the store has said which (``with_spans``), and
    what the spans do (``is:``)."""

    __slots__ = ("errors", "id_prefix", "kinds", "needle", "problem", "spans", "text", "words")

    def __init__(self, text: str, spans: frozenset[str] = frozenset()) -> None:
        self.text = text
        self.spans = spans
        kinds: set[str] = set()
        errors = False
        rest: list[str] = []
        problem = None
        for word in text.split():
            folded = word.casefold()
            if not folded.startswith("is:"):
                rest.append(word)
            elif folded[3:] == "error":
                errors = True
            elif folded[3:] in _KINDS:
                kinds.add(folded[3:])
            else:
                problem = f"{word}? is: takes {', '.join(IS_VALUES)}"
        self.kinds, self.errors, self.problem = frozenset(kinds), errors, problem
        self.words = " ".join(rest)  # what the messages are searched for
        self.needle = needle = self.words.casefold()
        self.id_prefix = needle if len(needle) >= MIN_ID_DIGITS and set(needle) <= _HEX else None

    def __bool__(self) -> bool:
        """Something to look for: blanks alone find nothing."""
        return bool(self.needle or self.kinds or self.errors)

    @property
    def by_kind(self) -> bool:
        """Whether what a span does decides too (``is:``)."""
        return bool(self.kinds or self.errors)

    def with_spans(self, spans: frozenset[str]) -> SpanFinder:
        """The same find, with the spans whose messages hold its words."""
        return SpanFinder(self.text, spans)

    def finds_label(self, label: str) -> bool:
        return bool(self.needle) and self.needle in label.casefold()

    def finds_id(self, span_id: str) -> bool:
        """By its id: the digits typed, or its messages' words."""
        if span_id in self.spans:
            return True
        prefix = self.id_prefix
        return prefix is not None and span_id.casefold().startswith(prefix)

    def finds_kind(self, kind: str, failed: bool) -> bool:
        """What the span does and whether it failed pass the ``is:`` filters."""
        return (not self.kinds or kind in self.kinds) and (not self.errors or failed)

    def finds(self, span_id: str, label: str, kind: str, failed: bool) -> bool:
        """One span, whole: what a row is marked by."""
        if not self or not self.finds_kind(kind, failed):
            return False
        return not self.needle or self.finds_label(label) or self.finds_id(span_id)


@dataclass(frozen=True, slots=True)
class Found:
    """Where a find stands: the span to go to (None: no match), its number among ``total``
    (1-based; 0 when the span under the cursor is not a match)."""

    span_id: str | None
    number: int
    total: int


class TraceMatches:
    """One find's matches among a trace's spans in tree order (``SpanIndex.depth_first``), with
    the label each row shows (``labels``, in the same order), and for ``is:``, what each span
    does and whether it failed (``kinds``, ``failed``, in the same order too).

    A name is judged once however many spans bear it (a 100,000-span trace has a few dozen), so
    a find typed on a big trace costs a pass over its labels, not a string search a span.
    """

    __slots__ = ("_order", "_positions")

    def __init__(self, order: Sequence[str], labels: Sequence[str], finder: SpanFinder,
                 kinds: Sequence[str] = (), failed: Sequence[bool] = ()) -> None:
        self._order = order
        positions: list[int]
        if not finder:
            positions = []
        elif not finder.needle:
            positions = list(range(len(order)))
        else:
            found = {label for label in set(labels) if finder.finds_label(label)}
            positions = list(itertools.compress(range(len(order)),
                                                map(found.__contains__, labels)))
            if finder.id_prefix is not None or finder.spans:
                by_id = [i for i, span_id in enumerate(order) if finder.finds_id(span_id)]
                positions = sorted({*positions, *by_id})
        if finder.by_kind:
            positions = [i for i in positions if finder.finds_kind(kinds[i], failed[i])]
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    def span_ids(self) -> list[str]:
        """The matches, in tree order."""
        order = self._order
        return [order[i] for i in self._positions]

    def _position(self, span_id: str | None) -> int:
        """The span's place in tree order; -1 before the first (no cursor, a span gone)."""
        if span_id is None:
            return -1
        try:
            return self._order.index(span_id)
        except ValueError:
            return -1

    def at(self, cursor: str | None) -> Found:
        """The find as it stands with the cursor on ``cursor``, moving nowhere."""
        here = self._position(cursor)
        index = bisect.bisect_left(self._positions, here)
        number = index + 1 if index < len(self._positions) and self._positions[index] == here \
            else 0
        return Found(cursor if number else None, number, len(self._positions))

    def step(self, cursor: str | None, direction: int, *, here_counts: bool = False) -> Found:
        """The next match after ``cursor`` (``direction`` 1) or the one before it (-1), going
        round at either end; ``here_counts``: the cursor's own span is a match to stay on (a
        find typed on: the match under the cursor holds while it still matches)."""
        positions = self._positions
        if not positions:
            return Found(None, 0, 0)
        here = self._position(cursor)
        if direction > 0:
            index = (bisect.bisect_left if here_counts else bisect.bisect_right)(positions, here)
            index %= len(positions)
        else:
            index = (bisect.bisect_right if here_counts else bisect.bisect_left)(positions, here)
            index = (index - 1) % len(positions)
        return Found(self._order[positions[index]], index + 1, len(positions))
