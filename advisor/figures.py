"""Find the figures in a text, and the clause each one belongs to.

Shared by the guard (which removes unsupported figures from replies) and the
eval's independent checker (which measures them), so both read "$43,260",
"43,260 dollars", "43k", "$21 an hour", "two years" and "34,300 openings"
the same way. Values are normalised but never rounded: 43k is 43,000, which is
not 43,260.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Kind = Literal["money", "percent", "duration", "year", "count"]

WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "eighteen": 18,
    "twenty": 20, "thirty": 30,
}  # fmt: skip
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_WORD = "|".join(WORD_NUMBERS)
_MULT = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "billion": 1e9}
_MONEY = re.compile(
    rf"(?:\$|\bUSD\s?)\s?(?P<num>{_NUM})(?:\s?(?P<mult>k|thousand|million|billion|m)\b)?"
    rf"|\b(?P<num2>{_NUM})\s?(?P<mult2>k|thousand|million|billion)?\s?(?:dollars|usd)\b"
    rf"|\b(?P<num3>{_NUM})(?P<mult3>k)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(rf"\b(?P<num>{_NUM})\s?(?:%|percent\b|per cent\b)", re.IGNORECASE)
_DURATION = re.compile(
    rf"\b(?P<a>{_NUM}|{_WORD})(?:\s?(?:-|–|to)\s?(?P<b>{_NUM}|{_WORD}))?[\s-]"
    r"(?P<unit>hour|day|week|month|year)s?\b",
    re.IGNORECASE,
)
# A year: not part of a larger number or an amount ("2,020", "$2020", "2020%").
YEAR = re.compile(r"(?<![\d,.$])\b(?:19|20)\d{2}\b(?!\d|,\d|\s?%)")
_COUNT = re.compile(
    rf"(?<![\w.-])(?P<num>{_NUM})(?:\s(?P<mult>thousand|million|billion)\b)?(?![\w-])",
    re.IGNORECASE,
)
_HOURLY_AFTER = re.compile(r"^\s*(?:(?:an|per|a|each|/)\s*(?:hour|hr)\b|hourly\b)", re.I)
_YEARLY_AFTER = re.compile(
    r"^\s*(?:(?:a|per|each|/)\s*(?:year|yr|annum)\b|annually\b|yearly\b)", re.I
)
_CITATION = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_LIST_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*+•])\s", re.MULTILINE)


@dataclass(frozen=True)
class Figure:
    """A stated quantity: kind, exact value, unit where the text gives one."""

    kind: Kind
    value: float
    unit: str | None
    text: str
    start: int
    end: int

    def matches(self, other: Figure) -> bool:
        """Same quantity: equal value, compatible kind and unit (no rounding, no conversion)."""
        if abs(self.value - other.value) > 1e-9:
            return False
        if self.kind != other.kind and "count" not in (self.kind, other.kind):
            return False
        if self.kind == other.kind == "duration":
            return self.unit == other.unit
        mine, theirs = self.pay_unit, other.pay_unit
        return mine is None or theirs is None or mine == theirs

    @property
    def pay_unit(self) -> str | None:
        """hour or year; an amount in the thousands that names neither is a yearly one."""
        if self.unit is None and self.kind == "money" and self.value >= 1000:
            return "year"
        return self.unit


def _number(text: str, mult: str | None = None) -> float:
    value = float(WORD_NUMBERS.get(text.lower(), 0) or text.replace(",", ""))
    return value * _MULT.get((mult or "").lower(), 1)


def _money_unit(text: str, end: int) -> str | None:
    after = text[end : end + 20]
    if _HOURLY_AFTER.match(after):
        return "hour"
    if _YEARLY_AFTER.match(after):
        return "year"
    before = text[max(0, end - 60) : end].lower()
    if re.search(r"hourly|per hour", before):
        return "hour"
    return None


def mask(text: str) -> str:
    """Blank out citation markers and list numbering, keeping offsets: they are not figures."""
    blank = _CITATION.sub(lambda m: " " * len(m.group()), text)
    return _LIST_MARKER.sub(lambda m: " " * len(m.group()), blank)


def extract_figures(text: str) -> list[Figure]:
    """Every figure in `text`, left to right; each character belongs to one figure at most.

    The same passage sentences are read by retrieval, the composer and the guard in
    every answer (about 15 calls an answer), so the figures of recent texts are kept."""
    return list(_figures(text))


@lru_cache(maxsize=8192)
def _figures(text: str) -> tuple[Figure, ...]:
    masked = mask(text)
    taken = [False] * len(masked)
    found: list[Figure] = []

    def claim(kind: Kind, value: float, unit: str | None, start: int, end: int) -> None:
        if any(taken[start:end]):
            return
        taken[start:end] = [True] * (end - start)
        found.append(Figure(kind, value, unit, text[start:end], start, end))

    for m in _MONEY.finditer(masked):
        num = m.group("num") or m.group("num2") or m.group("num3")
        mult = m.group("mult") or m.group("mult2") or m.group("mult3")
        claim("money", _number(num, mult), _money_unit(masked, m.end()), m.start(), m.end())
    for m in _PERCENT.finditer(masked):
        claim("percent", _number(m.group("num")), None, m.start(), m.end())
    for m in _DURATION.finditer(masked):
        unit = m.group("unit").lower()
        if m.group("b"):  # a range states both ends: "1-2 years" is 1 year and 2 years
            claim("duration", _number(m.group("a")), unit, m.start("a"), m.end("a"))
            claim("duration", _number(m.group("b")), unit, m.start("b"), m.end())
        else:
            claim("duration", _number(m.group("a")), unit, m.start(), m.end())
    for m in YEAR.finditer(masked):
        claim("year", float(m.group()), None, m.start(), m.end())
    for m in _COUNT.finditer(masked):
        claim("count", _number(m.group("num"), m.group("mult")), None, m.start(), m.end())
    return tuple(sorted(found, key=lambda f: f.start))


# Where one clause ends and the next begins, for "coders earn X, while billers earn Y".
_CLAUSE_BREAK = re.compile(
    r";|,?\s+while\s+|,?\s+whereas\s+|,\s+but\s+|\s+than\s+(?![$\d])|\bby contrast\b"
    r"|,\s+and\s+(?=\w+\s+\w+\s+(?:earn|make|made))",
    re.IGNORECASE,
)


def clause_around(sentence: str, start: int, end: int) -> str:
    """The clause of `sentence` that holds the span [start, end)."""
    left = 0
    for m in _CLAUSE_BREAK.finditer(sentence):
        if m.end() <= start:
            left = m.end()
        elif m.start() >= end:
            return sentence[left : m.start()]
    return sentence[left:]
