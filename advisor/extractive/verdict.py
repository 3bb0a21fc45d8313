"""A one-line verdict before the evidence, for questions that ask for one.

"Which pays more, X or Y?" is answered by the sources' own figures: each source
(who reported it, the year, the statistic, hourly or yearly) that states the
same statistic for both is one comparison, and the verdict says which side is
higher in every one of them, or that the sources disagree. Nothing is averaged
or converted, and the verdict states no figure of its own: the figures follow,
each in its source sentence with its label.

"Is X better than Y?" has no figure to compare; its verdict is "It depends on
what you want", followed by one cited source sentence about each side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from advisor.extractive.candidates import DANGLING, Candidate, named
from advisor.intent import COMPARATIVE
from advisor.knowledge.facts import FigureFact
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.scope import plural
from advisor.text import STOPWORDS

# "Is X better than Y?", "X vs Y", "should I choose X or Y": a trade-off, not a trait match
# ("Which suits an introvert, X or Y?" is answered by the sentence about introverts).
TRADE_OFF_QUESTION = re.compile(r"\b(?:better|best|vs\.?|versus|should i|worth)\b", re.I)
_TRAIT = re.compile(r"\b(?:suits?|for (?:a|an|someone|people|me)|if i|person|personality)\b", re.I)
MAX_CLAUSE_WORDS = 32


@dataclass(frozen=True)
class Comparison:
    """One source's figures for both sides: same reporter, year, statistic and unit."""

    label: str
    values: dict[str, float]
    sentences: tuple[Candidate, ...]

    @property
    def higher(self) -> str | None:
        ranked = sorted(self.values.items(), key=lambda kv: -kv[1])
        return ranked[0][0] if ranked[0][1] > ranked[1][1] else None


def _statistic(fact: FigureFact) -> str:
    """What is measured and whose: "median", "top 10%", "starting"… (unnamed is its own)."""
    return "+".join(sorted(fact.stats)) or "stated"


def _off_sides(c: Candidate, sides: list[str]) -> bool:
    """Does the sentence state a figure for a job that is neither side?"""
    return any(fact.subject_keys - set(sides) for fact in c.pay)


def comparisons(sides: list[str], candidates: list[Candidate]) -> list[Comparison]:
    """Every source that states one statistic, in one unit, for both sides."""
    table: dict[tuple, dict[str, tuple[float, Candidate]]] = {}
    for c in candidates:
        for fact in c.pay:
            keys = [k for k in sides if k in fact.subject_keys]
            if len(keys) != 1 or fact.figure.pay_unit is None:
                continue
            who = fact.reporter or c.attribution.partition(",")[0]
            when = max(fact.years) if fact.years else c.attribution.partition(", ")[2]
            source = (who, when, _statistic(fact), fact.figure.pay_unit)
            by_side = table.setdefault(source, {})
            known = by_side.get(keys[0])
            if known is None or (
                known[0] == fact.figure.value
                and _off_sides(known[1], sides)
                and not _off_sides(c, sides)
            ):  # the same figure in a sentence about this side alone, not a third job's
                by_side[keys[0]] = (fact.figure.value, c)
    found = []
    for (who, when, _, _), by_side in table.items():
        if len(by_side) == len(sides):
            label = f"{who}, {when}" if when else who
            sentences = tuple({id(c): c for _, c in by_side.values()}.values())
            found.append(Comparison(label, {k: v for k, (v, _) in by_side.items()}, sentences))
    return found


def side_name(lex: Lexicon, key: str, capital: bool = False) -> str:
    """How an answer names a side: occupations in the plural ("<job>s"), a credential by
    its own name ("<ACRONYM>")."""
    name = key if lex.subjects[key].kind == "credential" else plural(key)
    return name[0].upper() + name[1:] if capital else name


def _markers(candidates: list[Candidate]) -> str:
    return "".join(f"[{n}]" for n in dict.fromkeys(c.n for c in candidates))


def pay_verdict(lex: Lexicon, sides: list[str], found: list[Comparison]) -> str:
    """ "Medical coders, in every source that reports both [1][2]." — or that they differ."""
    winners = [c.higher for c in found if c.higher]
    if not winners:
        return ""
    cited = _markers([s for c in found for s in c.sentences])
    first = side_name(lex, winners[0], capital=True)
    if len(set(winners)) == 1:
        if len(found) == 1:
            return f"{first}, according to {found[0].label} {cited}."
        return f"{first}, in every source that reports both {cited}."
    counts = {k: winners.count(k) for k in sides if k in winners}
    parts = [f"{side_name(lex, k)} in {n} of {len(found)}" for k, n in counts.items()]
    return f"It depends on the source: higher for {' and '.join(parts)} {cited}."


def _clause(c: Candidate) -> str:
    """A sentence as the clause of a verdict: its own words, its first word lower-cased
    only when it is a common word or its passage also writes it in lower case ("Top"
    yes, "Texas" no)."""
    text = c.text.rstrip().rstrip(".!")
    first = text.split(maxsplit=1)[0]
    lower = first.lower()
    if first.istitle() and (
        lower in STOPWORDS or re.search(rf"\b{re.escape(lower)}\b", c.chunk.text)
    ):
        text = first.lower() + text[len(first) :]
    return f"{text} [{c.n}]"


def trade_off(
    question: str, sides: list[str], ranked: list[Candidate], lex: Lexicon
) -> tuple[str, list[Candidate]]:
    """ "It depends on what you want: <about X> [1]; <about Y> [2]." from the best-scored
    sentence about each side, or "" when a side has no sentence that stands alone."""
    if not TRADE_OFF_QUESTION.search(question) or _TRAIT.search(question) or len(sides) != 2:
        return "", []
    picked: list[Candidate] = []
    for side in sides:
        usable = [
            c
            for c in ranked
            if _first_named(lex, c.text, sides) == side
            and not (DANGLING.match(c.text) or c.is_list)
            and len(c.text.split()) <= MAX_CLAUSE_WORDS
            and c.score >= 1.0
        ]
        # the first side may be a comparing sentence ("X … pays more than Y"); the other
        # is a sentence about it alone, or the verdict would say the same thing twice
        alone = [c for c in usable if named(lex, c.text) == [side]]
        comparing = [c for c in usable if c in alone or COMPARATIVE.search(c.text)]
        pick = (comparing if not picked else alone)[:1]
        if not pick:
            return "", []
        picked.append(pick[0])
    return f"It depends on what you want: {'; '.join(_clause(c) for c in picked)}.", picked


def _first_named(lex: Lexicon, text: str, sides: list[str]) -> str | None:
    """The side a sentence is about: the first one it names itself (not by context)."""
    return next((k for k in named(lex, text) if k in sides), None)
