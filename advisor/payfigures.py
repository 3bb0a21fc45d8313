"""The pay figures of an answer, each with who reported it, when, and the passage that says it.

The page's chart, its table and the CLI's table are all drawn from this one
list, so they can never disagree. It is built the way the guard checks an
answer (advisor.claims): for every pay figure a sentence states, the cited
passage fact with the same value that fits what the sentence says about it
(occupation, statistic, year, reporter). A figure no cited fact supports is
not listed: with the guard on it was already removed, and with it off it is
still never drawn. Values are the source's own text, never rounded or
converted; hourly and yearly stay apart; "$15 to $20 an hour" stays a range,
drawn only when the answer states both ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Literal

from advisor.chunking import Chunk
from advisor.claims import citations_in, is_quoted, lead_label, mismatch, stated_about
from advisor.figures import Figure, clause_around, extract_figures
from advisor.knowledge.facts import FigureFact, PassageReader
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.outliers import outlier_key
from advisor.text import split_sentences

Unit = Literal["hour", "year"]
MIN_VALUES = 2  # one figure is read at a glance already: a chart from two (a range is two)

# General English: a sentence about pay, not a price or a tuition fee.
_PAY = re.compile(
    r"\b(?:earn\w*|make|makes|made|making|salar\w*|wages?|pay|paid|income|compensation)\b", re.I
)
# "a gap of $26,000", "$35,000 more than": a difference between two pays, not a pay.
_GAP_BEFORE = re.compile(r"\b(?:gap|difference|premium|increase|raise|rise)\b[^$\d]{0,25}$", re.I)
_GAP_AFTER = re.compile(r"^\s*(?:(?:a|per)\s+(?:year|hour)\s+)?(?:more|less|higher|lower)\b", re.I)
# Two figures that are the ends of one range: "$15 to $20", "$40,000–$50,000", "between … and".
_RANGE_JOIN = re.compile(r"^\s*(?:-|–|—|to|and)\s*$", re.I)
_MONTH = re.compile(
    r"\b(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?,?\s+((?:19|20)\d{2})\b"
)
_SHARE = re.compile(r"(\d{1,2})\s?(?:%|percent\b)", re.I)
NOT_STATED = {"reporter": "reporter not stated", "period": "date not stated"}


@dataclass(frozen=True)
class PayFigure:
    """One sourced pay figure of an answer: what, for whom, by whom, when, and where it says so.

    `text` is the figure as the cited passage writes it ("$40,340", "$15 to $20"),
    so what a chart or table shows is verbatim in the source; `value` (and `high`
    for a range) are the same numbers, for drawing; `n` is the answer's [n].
    """

    value: float
    unit: Unit
    occupation: str
    statistic: str
    reporter: str
    period: str
    n: int
    text: str
    sentence: str
    high: float | None = None

    @property
    def label(self) -> str:
        """occupation · statistic · reporter · period: what a bar or row is called."""
        return " · ".join((self.occupation, self.statistic, self.reporter, self.period))

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def pay_figures(
    answer: str, citations: Sequence[Chunk], numbers: Sequence[int], lexicon: Lexicon,
    question: str = "",
) -> list[PayFigure]:  # fmt: skip
    """Every distinct sourced pay figure `answer` states, in order of first mention.

    `citations[i]` is the passage the answer's `[numbers[i]]` markers point at;
    `question` is what the answer answers (an unnamed subject is the question's,
    as the guard reads it).
    """
    reader, outliers = PassageReader(lexicon), lexicon.outliers
    passages = dict(zip(numbers, citations, strict=True))
    facts = {  # a figure far out of line with the other articles supports nothing
        n: [f for f in reader.facts(c) if outlier_key(c.doc_id, f.figure.value) not in outliers]
        for n, c in passages.items()
    }
    asked = lexicon.subjects_in(question, question=True)
    supported: list[tuple[int, FigureFact]] = []
    for line in answer.splitlines():
        label = lead_label(line)
        body, line_cites = line[len(label) :], citations_in(line)
        for start, end in split_sentences(body):
            sentence = body[start:end]
            cites = [n for n in citations_in(sentence) or line_cites if n in passages]
            quoted = is_quoted(sentence, [passages[n] for n in cites])
            for figure in extract_figures(sentence):
                if figure.kind != "money":
                    continue
                stated = stated_about(lexicon, sentence, figure, asked, label, quoted)
                found = next(
                    ((n, fact) for n in cites for fact in facts[n]
                     if fact.figure.matches(figure) and mismatch(stated, fact, lexicon) is None),
                    None,
                )  # fmt: skip
                if found and _is_pay(found[1]):
                    supported.append(found)
    return _distinct(_drawable(supported))


def _is_pay(fact: FigureFact) -> bool:
    """A pay level: said of earnings, and not a difference between two of them."""
    sentence, figure = fact.sentence, fact.figure
    before, after = sentence[: figure.start], sentence[figure.end :]
    return (
        bool(_PAY.search(sentence) or fact.stats)
        and not _GAP_BEFORE.search(before)
        and not _GAP_AFTER.match(after)
    )


def _partner(fact: FigureFact) -> Figure | None:
    """The other end, when `fact` is the low end of a range its sentence states."""
    figures = [f for f in extract_figures(fact.sentence) if f.kind == "money"]
    for low, high in pairwise(figures):
        if low.start != fact.figure.start:
            continue
        joined = _RANGE_JOIN.match(fact.sentence[low.end : high.start])
        before = fact.sentence[max(0, low.start - 12) : low.start]
        if not joined or high.value <= low.value:
            return None
        if joined.group().strip().lower() == "and" and not re.search(
            r"\bbetween\s*$", before, re.I
        ):
            return None  # "$16 an hour and $32,000 a year": two figures, not a range
        return high
    return None


def _drawable(supported: list[tuple[int, FigureFact]]) -> Iterable[PayFigure]:
    """Pay figures from the supporting facts: both ends of a stated range become one."""
    stated = {(f.sentence, f.figure.start) for _, f in supported}
    ends: set[tuple[str, int]] = set()
    for n, fact in supported:
        high = _partner(fact)
        if high is not None and (fact.sentence, high.start) in stated:
            ends.add((fact.sentence, high.start))
            unit = high.pay_unit or fact.figure.pay_unit
            if unit:
                text = fact.sentence[fact.figure.start : high.end]
                yield _pay_figure(n, fact, unit, text, high.value, ranged=True)
            continue
        if (fact.sentence, fact.figure.start) in ends:
            continue
        unit = fact.figure.pay_unit
        if unit:  # "$250" alone says neither hourly nor yearly: never guessed
            yield _pay_figure(n, fact, unit, fact.figure.text)


def _pay_figure(
    n: int, fact: FigureFact, unit: str, text: str, high: float | None = None,
    ranged: bool = False,
) -> PayFigure:  # fmt: skip
    return PayFigure(
        value=fact.figure.value,
        unit="hour" if unit == "hour" else "year",
        occupation=" / ".join(k for group in fact.subjects for k in sorted(group)) or "—",
        statistic=statistic_label(fact, ranged),
        reporter=fact.reporter or NOT_STATED["reporter"],
        period=period_of(fact),
        n=n,
        text=text,
        sentence=fact.sentence.strip(),
        high=high,
    )


def statistic_label(fact: FigureFact, ranged: bool = False) -> str:
    """ "median", "late-career average", "top 10%", "starting range": what the figure is."""
    stats = fact.stats
    who = [s for s in ("starting", "late-career") if s in stats]
    measure = [s for s in ("median", "average") if s in stats]
    if ranged:
        measure = ["range"]
    for end, word in (("top", "top"), ("bottom", "bottom")):
        if end in stats:
            clause = clause_around(fact.sentence, fact.figure.start, fact.figure.end)
            share = _SHARE.search(clause)
            measure.append(f"{word} {share.group(1)}%" if share else f"{word} earners")
    return " ".join(who + measure) or "pay"


def period_of(fact: FigureFact) -> str:
    """ "May 2020" when the sentence gives the month of the figure's year, else the year."""
    if not fact.years:
        return NOT_STATED["period"]
    for match in _MONTH.finditer(fact.sentence):
        if int(match.group(2)) in fact.years:
            return f"{match.group(1)} {match.group(2)}"
    return "–".join(str(y) for y in sorted(fact.years))


def _distinct(figures: Iterable[PayFigure]) -> list[PayFigure]:
    """One entry per figure: the same value, unit, subject, statistic, reporter and
    period stated twice (or cited twice) is one figure."""
    seen: dict[tuple, PayFigure] = {}
    for f in figures:
        key = (f.value, f.high, f.unit, f.occupation, f.statistic, f.reporter, f.period)
        seen.setdefault(key, f)
    return list(seen.values())


def worth_charting(figures: Sequence[PayFigure]) -> bool:
    """Does the answer state two or more pay figures (a range states two)?"""
    return sum(2 if f.high else 1 for f in figures) >= MIN_VALUES


def grouped(figures: Sequence[PayFigure]) -> list[PayFigure]:
    """The figures grouped by occupation (first mentioned first), so a comparison reads at
    a glance; within an occupation, the answer's order."""
    order = {o: i for i, o in enumerate(dict.fromkeys(f.occupation for f in figures))}
    return sorted(figures, key=lambda f: order[f.occupation])
