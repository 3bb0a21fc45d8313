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
from advisor.knowledge.facts import MEASURES, FigureFact, PassageReader
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


def _groups(facts: Iterable[tuple[str, FigureFact]]) -> dict[tuple[str, str, str], list]:
    groups: dict[tuple[str, str, str], list[tuple[str, FigureFact]]] = {}
    for doc_id, fact in facts:
        unit = fact.figure.pay_unit
        if fact.figure.kind != "money" or unit is None:
            continue
        measure = next(iter(sorted(fact.stats & MEASURES)), "any")
        for subject in fact.subject_keys:
            if not subject.startswith("unlisted"):
                groups.setdefault((subject, measure, unit), []).append((doc_id, fact))
    return groups


def find_outliers(chunks: Iterable[Chunk], lexicon: Lexicon) -> list[Outlier]:
    """Money figures ≥ 3× or ≤ 1/3 of the median of the other articles' for the same thing.

    Only passages stating a pay figure are read in context (reading is the slow part),
    and each article's "median of the others" is found by rank in the group's sorted
    figures, so a group of thousands of articles costs n log n, not n².
    """
    reader = PassageReader(lexicon)
    facts = [(c.doc_id, f) for c in chunks if _states_pay(c) for f in reader.facts(c)]
    found: dict[str, Outlier] = {}
    for (subject, _, _), members in _groups(facts).items():
        values = sorted(f.figure.value for _, f in members)
        by_doc: dict[str, list[float]] = {}
        for doc_id, fact in members:
            by_doc.setdefault(doc_id, []).append(fact.figure.value)
        medians = {doc_id: _median_without(values, sorted(own)) for doc_id, own in by_doc.items()}
        for doc_id, fact in members:
            typical = medians[doc_id]
            if typical is None:  # no other article states it
                continue
            value = fact.figure.value
            if typical and (value > FACTOR * typical or value < typical / FACTOR):
                item = Outlier(doc_id, fact.figure.text, value, subject, typical)
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
