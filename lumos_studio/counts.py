"""How many of a thing, in words: ``1 span``, ``2 spans``, ``1,000 requests``."""

from __future__ import annotations


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless one (nouns that take an ``s``)."""
    return f"{count:,} {noun}{'s' * (count != 1)}"
