"""Figures far out of line with what other articles state for the same thing.

A planted or mistyped figure ("medical coders earn $500,000 a year") is flagged
when indexing: an amount more than three times, or less than a third of, what
every other article states for the same occupation, statistic and unit. The
maintainer sees the flag in `advisor index`; the guard never lets such a figure
support an answer. Disagreeing sources within that range are shown side by
side, as always.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from advisor.chunking import Chunk
from advisor.figures import extract_figures
from advisor.knowledge.facts import MEASURES, PassageReader
from advisor.knowledge.lexicon import Lexicon
from advisor.text import split_sentences

FACTOR = 3.0


@dataclass(frozen=True)
class Outlier:
    doc_id: str
    figure: str
    value: float
    subject: str
    others: float  # the median of what the other articles state

    @property
    def key(self) -> str:
        return outlier_key(self.doc_id, self.value)

    def describe(self) -> str:
        ratio = self.value / self.others if self.others else 0.0
        return (
            f"{self.figure} for {self.subject} is {ratio:.1f}× the median the other articles "
            f"state ({self.others:,.0f}); it will not be used in answers"
        )


def outlier_key(doc_id: str, value: float) -> str:
    return f"{doc_id}|{value:g}"


# One money figure as outliers need it: (subjects, measure, pay unit, value, text as written).
# Plain data, so each article's are cached with the index (advisor.knowledge.cache).
PayFact = tuple[list[str], str, str, float, str]


def pay_facts(chunks: Iterable[Chunk], reader: PassageReader) -> list[PayFact]:
    """The pay figures of one article's passages, each with whom and what it states."""
    found: list[PayFact] = []
    for chunk in chunks:
        if not _states_pay(chunk):
            continue
        for fact in reader.facts(chunk):
            unit = fact.figure.pay_unit
            if fact.figure.kind != "money" or unit is None:
                continue
            measure = next(iter(sorted(fact.stats & MEASURES)), "any")
            subjects = sorted(k for k in fact.subject_keys if not k.startswith("unlisted"))
            found.append((subjects, measure, unit, fact.figure.value, fact.figure.text))
    return found


def find_outliers(chunks: Iterable[Chunk], lexicon: Lexicon) -> list[Outlier]:
    """Money figures ≥ 3× or ≤ 1/3 of the median of the other articles' for the same thing."""
    reader = PassageReader(lexicon)
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    return outliers_among({doc: pay_facts(parts, reader) for doc, parts in by_doc.items()})


def outliers_among(facts: dict[str, list[PayFact]]) -> list[Outlier]:
    """Outliers among every article's pay facts.

    Each article's "median of the others" is found by rank in the group's sorted
    figures, so a group of thousands of articles costs n log n, not n².
    """
    groups: dict[tuple[str, str, str], list[tuple[str, float, str]]] = {}
    for doc_id, stated in facts.items():
        for subjects, measure, unit, value, text in stated:
            for subject in subjects:
                groups.setdefault((subject, measure, unit), []).append((doc_id, value, text))
    found: dict[str, Outlier] = {}
    for (subject, _, _), members in groups.items():
        values = sorted(value for _, value, _ in members)
        own: dict[str, list[float]] = {}
        for doc_id, value, _ in members:
            own.setdefault(doc_id, []).append(value)
        medians = {doc_id: _median_without(values, sorted(v)) for doc_id, v in own.items()}
        for doc_id, value, text in members:
            typical = medians[doc_id]
            if typical is None:  # no other article states it
                continue
            if typical and (value > FACTOR * typical or value < typical / FACTOR):
                item = Outlier(doc_id, text, value, subject, typical)
                found.setdefault(item.key, item)
    return list(found.values())


# What every amount of money in advisor.figures contains ("$", "USD", "dollars", "43k"):
# a passage without one states no pay, and is not read in context.
_MONEY_MARK = re.compile(r"\$|usd|dollars|\dk", re.IGNORECASE)


def _states_pay(chunk: Chunk) -> bool:
    """Does any sentence of the passage state an amount of pay (what outliers are about)?"""
    if not _MONEY_MARK.search(chunk.text) and not _MONEY_MARK.search(chunk.published or ""):
        return False
    texts = [chunk.text[a:b] for a, b in split_sentences(chunk.text)] + [chunk.published or ""]
    return any(
        f.kind == "money" and f.pay_unit is not None for t in texts for f in extract_figures(t)
    )


def _median_without(values: list[float], own: list[float]) -> float | None:
    """statistics.median of sorted `values` less the sorted sub-multiset `own`, by rank."""
    size = len(values) - len(own)
    if size <= 0:
        return None

    def nth(rank: int) -> float:  # the rank-th smallest (from 0) of what remains
        lo, hi = 0, len(values) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            v = values[mid]
            if bisect_right(values, v) - bisect_right(own, v) > rank:
                hi = mid
            else:
                lo = mid + 1
        return values[lo]

    if size % 2:
        return nth(size // 2)
    return (nth(size // 2 - 1) + nth(size // 2)) / 2
