"""Splitting documents into chunks small enough to retrieve and to show a model.

``split_text`` is recursive: it cuts at paragraph breaks first, then lines, sentences, words and
finally characters, so chunks end at natural boundaries, and consecutive chunks overlap so a fact
on a boundary is whole in at least one. ``split_markdown`` first cuts at headings and keeps each
chunk's heading path ("Guide › Install › Linux"), which both the index and the model see.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

DEFAULT_SEPARATORS: Final = ("\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", "")
HEADING_SEPARATOR: Final = " › "

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable piece of a document, with where it came from."""

    id: str
    document_id: str
    text: str
    heading_path: tuple[str, ...] = ()
    position: int = 0
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def heading(self) -> str:
        """The heading path as one line, ``"Guide › Install"`` (empty outside any heading)."""
        return HEADING_SEPARATOR.join(self.heading_path)

    @property
    def indexed_text(self) -> str:
        """What search sees: the heading path (context the text itself may lack) and the text."""
        return f"{self.heading}\n{self.text}" if self.heading_path else self.text


def split_text(
    text: str,
    chunk_size: int = 800,
    chunk_overlap: int = 100,
    separators: Sequence[str] = DEFAULT_SEPARATORS,
) -> list[str]:
    """``text`` in pieces of at most ``chunk_size`` characters, neighbours sharing up to
    ``chunk_overlap`` characters, cut at the first separator that makes pieces small enough."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if not 0 <= chunk_overlap < chunk_size:
        raise ValueError("chunk_overlap must be at least 0 and smaller than chunk_size")
    atoms = _atoms(text, list(separators), chunk_size)
    return _merge(atoms, chunk_size, chunk_overlap)


def split_markdown(
    text: str, chunk_size: int = 800, chunk_overlap: int = 100
) -> list[tuple[tuple[str, ...], str]]:
    """``(heading path, piece)`` pairs: sections cut at headings (not inside code fences), each
    section then split by size."""
    pieces: list[tuple[tuple[str, ...], str]] = []
    for path, body in _sections(text):
        pieces.extend((path, piece) for piece in split_text(body, chunk_size, chunk_overlap))
    return pieces


def chunk_document(
    text: str,
    document_id: str,
    *,
    source: str = "",
    markdown: bool | None = None,
    chunk_size: int = 800,
    chunk_overlap: int = 100,
    metadata: dict[str, Any] | None = None,
) -> list[Chunk]:
    """Chunks of one document; ``markdown=None`` guesses from headings in the text."""
    if markdown is None:
        markdown = source.endswith((".md", ".markdown")) or bool(
            re.search(r"^#{1,6} ", text, re.MULTILINE)
        )
    if markdown:
        pieces = split_markdown(text, chunk_size, chunk_overlap)
    else:
        pieces = [((), piece) for piece in split_text(text, chunk_size, chunk_overlap)]
    return [
        Chunk(f"{document_id}#{i}", document_id, piece, path, i, source, dict(metadata or {}))
        for i, (path, piece) in enumerate(pieces)
    ]


def _atoms(text: str, separators: list[str], size: int) -> list[str]:
    """Pieces no longer than ``size``, each keeping the separator that ended it."""
    if len(text) <= size:
        return [text]
    for index, separator in enumerate(separators):
        if separator == "":
            return [text[i : i + size] for i in range(0, len(text), size)]
        if separator in text:
            parts = text.split(separator)
            pieces = [p + separator for p in parts[:-1]] + [parts[-1]]
            atoms: list[str] = []
            for piece in pieces:
                if not piece:
                    continue
                if len(piece) <= size:
                    atoms.append(piece)
                else:
                    atoms.extend(_atoms(piece, separators[index + 1 :], size))
            return atoms
    return [text[i : i + size] for i in range(0, len(text), size)]


def _merge(atoms: list[str], size: int, overlap: int) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    for atom in atoms:
        if current and length + len(atom) > size:
            chunks.append("".join(current))
            # Keep a tail of the chunk just closed (at most ``overlap`` long) to start the next.
            while current and (length > overlap or length + len(atom) > size):
                length -= len(current.pop(0))
        current.append(atom)
        length += len(atom)
    if current:
        chunks.append("".join(current))
    return [c.strip() for c in chunks if c.strip()]


def _sections(text: str) -> list[tuple[tuple[str, ...], str]]:
    sections: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False

    def close() -> None:
        content = "\n".join(body).strip()
        if content:
            sections.append((tuple(title for _, title in stack), content))
        body.clear()

    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            close()
            level = len(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, match.group(2).strip()))
        else:
            body.append(line)
    close()
    return sections
