"""The tree's visible rows, flattened from a trace's children, held as columns.

A row was a named tuple of five fields (~100 bytes): 10 MB for a 100,000-span trace, held while it
is shown. ``Rows`` keeps a row as a reference to its span id, its depth, a code for its guide
strings (a trace has a few distinct ones) and a byte: ~17 bytes. A ``Row`` is made only when
asked for: the rows on screen, the one under the cursor.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple, overload

__all__ = ["Row", "Rows", "flatten", "label_cells", "subtree_end"]


class Row(NamedTuple):
    """One visible line of the tree: which span, how deep, and the guides drawn before it."""

    span_id: str
    depth: int
    guides: str  # ancestors' verticals and this row's connector: "│ ├─"
    child_guides: str  # what this row's children draw before their own connector
    has_children: bool


class Guides:
    """The distinct ``(guides, child_guides)`` pairs of one tree's rows, each with a code."""

    __slots__ = ("codes", "pairs")

    def __init__(self) -> None:
        self.pairs: list[tuple[str, str]] = []
        self.codes: dict[tuple[str, str], int] = {}

    def code(self, own: str, below: str) -> int:
        pair = (own, below)
        code = self.codes.get(pair)
        if code is None:
            code = self.codes[pair] = len(self.pairs)
            self.pairs.append(pair)
        return code


class Rows(Sequence[Row]):
    """Visible rows top to bottom, as columns; ``rows[i]`` makes the ``Row``."""

    __slots__ = ("depths", "guide_codes", "guides", "has_children", "span_ids")

    def __init__(self, guides: Guides | None = None) -> None:
        self.guides = Guides() if guides is None else guides  # shared by a tree's splices
        self.span_ids: list[str] = []
        self.depths = array("I")
        self.guide_codes = array("I")
        self.has_children = bytearray()

    def __len__(self) -> int:
        return len(self.span_ids)

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(len(self.span_ids)))]
        if index < 0:
            index += len(self.span_ids)
        if not 0 <= index < len(self.span_ids):
            raise IndexError("row index out of range")
        return self._row(index)

    def __iter__(self) -> Iterator[Row]:
        return map(self._row, range(len(self.span_ids)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"Rows({list(self)!r})"

    def _row(self, i: int) -> Row:
        own, below = self.guides.pairs[self.guide_codes[i]]
        return tuple.__new__(Row, (self.span_ids[i], self.depths[i], own, below,
                                   bool(self.has_children[i])))

    def index_of(self, span_id: str) -> int:
        """The row showing ``span_id``, or -1."""
        try:
            return self.span_ids.index(span_id)
        except ValueError:
            return -1

    def insert(self, at: int, rows: Rows) -> None:
        """Put ``rows`` (flattened with this tree's ``guides``) before row ``at``."""
        assert rows.guides is self.guides
        self.span_ids[at:at] = rows.span_ids
        self.depths[at:at] = rows.depths
        self.guide_codes[at:at] = rows.guide_codes
        self.has_children[at:at] = rows.has_children

    def delete(self, start: int, end: int) -> None:
        """Drop rows ``start`` up to ``end``."""
        del self.span_ids[start:end]
        del self.depths[start:end]
        del self.guide_codes[start:end]
        del self.has_children[start:end]

    def subtree_end(self, index: int) -> int:
        """The index just past the visible descendants of row ``index``."""
        depths, depth = self.depths, self.depths[index]
        end, count = index + 1, len(depths)
        while end < count and depths[end] > depth:
            end += 1
        return end


def flatten(
    children: dict[str | None, list[str]],
    collapsed: set[str],
    parent: str | None = None,
    depth: int = 0,
    guides: str = "",
    shared: Guides | None = None,
) -> Rows:
    """Visible rows under ``parent`` (default: the whole tree), skipping collapsed subtrees;
    ``shared``: the guide codes of the rows these are to be spliced into.

    Iterative, so a pathologically deep trace cannot hit the recursion limit; one stack entry per
    span, the cheapest shape measured. Roots draw no connector; each level below adds two cells.
    """
    rows = Rows(shared)
    ids, depths, codes, has_children = (
        rows.span_ids, rows.depths, rows.guide_codes, rows.has_children)
    code_of = rows.guides.code
    get = children.get
    roots = get(parent) or []
    count = len(roots)
    stack = [(roots[i], depth, guides, i == count - 1) for i in range(count - 1, -1, -1)]
    pop, push = stack.pop, stack.append
    # Rows at one depth share their few guide strings: made once, not once a row.
    made: tuple[dict[str, tuple[int, str]], dict[str, tuple[int, str]]] = ({}, {})
    root = code_of("", "")
    while stack:
        span_id, level, prefix, last = pop()
        if level == 0:
            code, below = root, ""
        else:
            pair = made[last].get(prefix)
            if pair is None:
                own, below = ((prefix + "└─", prefix + "  ") if last
                              else (prefix + "├─", prefix + "│ "))
                pair = made[last][prefix] = (code_of(own, below), below)
            code, below = pair
        kids = get(span_id)
        ids.append(span_id)
        depths.append(level)
        codes.append(code)
        has_children.append(1 if kids else 0)
        if kids and span_id not in collapsed:
            count = len(kids)
            level += 1
            for i in range(count - 1, -1, -1):
                push((kids[i], level, below, i == count - 1))
    return rows


def subtree_end(rows: Sequence[Row], index: int) -> int:
    """The index just past the visible descendants of ``rows[index]``."""
    if isinstance(rows, Rows):
        return rows.subtree_end(index)
    depth = rows[index].depth
    end = index + 1
    while end < len(rows) and rows[end].depth > depth:
        end += 1
    return end


def label_cells(rows: Sequence[Row], label: Callable[[str], str]) -> int:
    """Cells the widest row's guides, marker and label take (``len``: names are rarely wide);
    ``label`` gives a span's label by id."""
    if isinstance(rows, Rows):
        widths = [len(own) for own, _ in rows.guides.pairs]
        return max((widths[code] + 2 + len(label(span_id))
                    for span_id, code in zip(rows.span_ids, rows.guide_codes, strict=True)),
                   default=0)
    return max((len(row.guides) + 2 + len(label(row.span_id)) for row in rows), default=0)
