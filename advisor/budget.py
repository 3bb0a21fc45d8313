"""An answer's word budget: what counts as a word, and cutting whole points to fit.

Shared by the extractive composer (one answer) and the multi-part reply (each
part's share), so both count and cut the same way.
"""

from __future__ import annotations

import re


def words(text: str) -> int:
    """Words a reader reads: not the [n] markers nor the bullet dashes."""
    return sum(1 for w in _NOT_WORDS.sub(" ", text).split() if any(ch.isalnum() for ch in w))


_NOT_WORDS = re.compile(r"\[\d+\]|^- |\*\*")


def within(lines: list[str], max_words: int) -> list[str]:
    """The answer cut to about `max_words`: whole points dropped from the end, never the
    lead, never a heading left without its points."""
    kept = list(lines)
    while sum(map(words, kept)) > max_words:
        points = [i for i, line in enumerate(kept) if line.startswith("- ")]
        if len(points) <= 1:
            break
        del kept[points[-1]]
        while kept and (not kept[-1].strip() or HEADING.match(kept[-1])):
            kept.pop()  # a heading or gap left with nothing under it
    if _headings(lines) >= 2 > _headings(kept):  # one side's block alone: no blocks at all
        kept = [line for line in kept if not HEADING.match(line)]
        kept = [line for i, line in enumerate(kept) if line or (i > 0 and kept[i - 1])]
    return kept


def _headings(lines: list[str]) -> int:
    return sum(1 for line in lines if HEADING.match(line))


HEADING = re.compile(r"^\*\*[^*]+\*\*$")
