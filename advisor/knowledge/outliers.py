"""Figures far out of line with what other articles state for the same thing.

A planted or mistyped figure ("medical coders earn $500,000 a year") is flagged
when indexing: an amount more than three times, or less than a third of, what
every other article states for the same occupation, statistic and unit. The
maintainer sees the flag in `advisor index`; the guard never lets such a figure
support an answer. Disagreeing sources within that range are shown side by
side, as always.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from advisor.chunking import Chunk
from advisor.knowledge.facts import MEASURES, FigureFact, PassageReader
from advisor.knowledge.lexicon import Lexicon

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
    """Money figures ≥ 3× or ≤ 1/3 of the median of the other articles' for the same thing."""
    reader = PassageReader(lexicon)
    facts = [(c.doc_id, f) for c in chunks for f in reader.facts(c)]
    found: dict[str, Outlier] = {}
    for (subject, _, _), members in _groups(facts).items():
        for doc_id, fact in members:
            others = [f.figure.value for d, f in members if d != doc_id]
            if len({d for d, _ in members if d != doc_id}) < 1 or not others:
                continue
            typical = statistics.median(others)
            value = fact.figure.value
            if typical and (value > FACTOR * typical or value < typical / FACTOR):
                item = Outlier(doc_id, fact.figure.text, value, subject, typical)
                found.setdefault(item.key, item)
    return list(found.values())
